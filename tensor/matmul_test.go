package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestMatMulAddInPlace: where the matrix kernels add a product to C
// exactly, MatMulAddInPlace must give the bits of MatMul followed by
// AddInPlace, on one worker and on two; elsewhere it must decline and
// leave C alone. A Frey GRBM's weight gradients are added and products
// deeper than one depth block (half as deep in float64) are not, on every
// kernel; small and thin products, whose paths depend on the kernel (the
// AVX-512 build computes them without packing), may go either way but
// must keep to that contract; batched operands are declined.
func TestMatMulAddInPlace(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := NewRNG(11)
	for _, c := range []struct {
		m, n, k        int
		transA, transB bool
		dt             DType
		adds           int // 1: added, 0: declined, -1: either, by kernel
	}{
		{560, 400, 100, true, false, Float32, 1}, // a weight's gradient, Aᵀ G
		{400, 560, 100, true, false, Float32, 1},
		{100, 400, 256, false, true, Float32, 1},
		{100, 400, 257, false, true, Float32, 0}, // two depth blocks
		{100, 400, 560, false, false, Float32, 0},
		{560, 400, 100, true, false, Float64, 1},
		{560, 400, 129, true, false, Float64, 0},
		{100, 4, 2, false, false, Float32, -1},  // thin
		{8, 8, 8, false, false, Float32, -1},    // small or not, by kernel
		{1, 32, 8, false, false, Float32, 0},    // small on every kernel
		{130, 70, 50, true, true, Float32, 1},   // edge tiles
		{130, 70, 50, false, false, Float64, 1}, // edge tiles
	} {
		ash, bsh := []int{c.m, c.k}, []int{c.k, c.n}
		if c.transA {
			ash = []int{c.k, c.m}
		}
		if c.transB {
			bsh = []int{c.n, c.k}
		}
		a, b := rng.Normal(c.dt, 0, 1, ash...), rng.Normal(c.dt, 0, 1, bsh...)
		c0 := rng.Normal(c.dt, 0, 1, c.m, c.n)
		want := c0.Clone()
		AddInPlace(want, MatMul(a, b, c.transA, c.transB))
		for _, w := range []int{1, 2} {
			parallel.Workers = w
			what := fmt.Sprintf("%v %dx%dx%d transposes %v %v, %d workers", c.dt, c.m, c.n, c.k, c.transA, c.transB, w)
			got := c0.Clone()
			added := MatMulAddInPlace(got, a, b, c.transA, c.transB)
			if c.adds >= 0 && added != (c.adds == 1) {
				t.Fatalf("%s: added %v, want %v", what, added, c.adds == 1)
			}
			if added {
				sameBits(t, what, got, want)
			} else {
				sameBits(t, what+" (declined)", got, c0)
			}
		}
	}
	batched := New(Float32, 2, 3, 4)
	if MatMulAddInPlace(New(Float32, 2, 3, 5), batched, New(Float32, 4, 5), false, false) {
		t.Fatal("a batched product was added")
	}
}

// TestMatMulBiasSameBits: a product with its bias added block by block, as
// each block is finished, has the bits of MatMul followed by Add, for
// every path of the product (small, packed, strips, split over rows), both
// dtypes, one worker and three.
func TestMatMulBiasSameBits(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := NewRNG(14)
	for _, dt := range []DType{Float32, Float64} {
		for _, s := range [][3]int{{3, 5, 4}, {100, 56, 40}, {100, 560, 400}, {560, 100, 400}, {37, 300, 700}} {
			m, k, n := s[0], s[1], s[2]
			a, b, bias := rng.Normal(dt, 0, 1, m, k), rng.Normal(dt, 0, 1, k, n), rng.Normal(dt, 0, 1, n)
			for _, w := range []int{1, 3} {
				parallel.Workers = w
				sameBits(t, fmt.Sprintf("%v %v, %d workers", dt, s, w), MatMulBias(a, b, bias), Add(MatMul(a, b, false, false), bias))
			}
		}
	}
}

// BenchmarkMatMulBias times a Frey posterior's logits, [100, 560] x
// [560, 400] plus a bias row, in an arena step, with the bias added by the
// product's blocks as they are finished ("fused") or by Add after it
// ("separate"), on 1 and 2 workers:
//
//	go test ./tensor -run XXX -bench MatMulBias -benchtime 2000x
func BenchmarkMatMulBias(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := NewRNG(1)
	ar := NewArena()
	x := rng.Normal(Float32, 0, 1, 100, 560).InArena(ar)
	w := rng.Normal(Float32, 0, 1, 560, 400).InArena(ar)
	bias := rng.Normal(Float32, 0, 1, 400).InArena(ar)
	for _, workers := range []int{1, 2} {
		for _, kind := range []string{"fused", "separate"} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind, workers), func(b *testing.B) {
				parallel.Workers = workers
				for b.Loop() {
					ar.Step(func() {
						if kind == "fused" {
							MatMulBias(x, w, bias)
						} else {
							Add(MatMul(x, w, false, false), bias)
						}
					})
				}
			})
		}
	}
}
