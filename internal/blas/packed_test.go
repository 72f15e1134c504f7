package blas

import (
	"math"
	"math/rand/v2"
	"testing"
)

// PackedB.MulAdd against the direct sum over B's non-zero part, for block
// cuts with and without declared zero columns, row counts below and above
// one mc block, widths that leave partial tiles, in float32 and float64.
func TestPackedBMulAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, c := range []struct {
		m, n, k    int
		ends, zero []int
	}{
		{1, 7, 5, []int{5}, []int{0}},
		{13, 40, 30, []int{10, 30}, []int{0, 33}},
		{64, 100, 200, []int{50, 100, 150, 200}, []int{0, 0, 32, 70}},
		{150, 45, 9, []int{3, 6, 9}, []int{0, 16, 45}},
	} {
		// B is zero where a block declares its leading columns zero.
		b := make([]float64, c.k*c.n)
		p0 := 0
		for i, end := range c.ends {
			for p := p0; p < end; p++ {
				for j := c.zero[i]; j < c.n; j++ {
					b[p*c.n+j] = rng.Float64()*2 - 1
				}
			}
			p0 = end
		}
		a := make([]float64, c.m*(c.k+3)) // lda = k+3
		for i := range a {
			a[i] = rng.Float64()*2 - 1
		}
		c0 := make([]float64, c.m*c.n)
		for i := range c0 {
			c0[i] = rng.Float64()
		}
		want := append([]float64(nil), c0...)
		for i := 0; i < c.m; i++ {
			for j := 0; j < c.n; j++ {
				for p := 0; p < c.k; p++ {
					want[i*c.n+j] += a[i*(c.k+3)+p] * b[p*c.n+j]
				}
			}
		}
		got64 := append([]float64(nil), c0...)
		NewPackedB64(b, c.n, c.k, c.n, c.ends, c.zero).MulAdd(c.m, a, c.k+3, got64, c.n)
		b32, a32, got32 := to32(b), to32(a), to32(c0)
		NewPackedB32(b32, c.n, c.k, c.n, c.ends, c.zero).MulAdd(c.m, a32, c.k+3, got32, c.n)
		for i, w := range want {
			if d := math.Abs(got64[i] - w); d > 1e-12*float64(c.k) {
				t.Fatalf("%+v float64: C[%d] = %v, want %v", c, i, got64[i], w)
			}
			if d := math.Abs(float64(got32[i]) - w); d > 1e-5*float64(c.k) {
				t.Fatalf("%+v float32: C[%d] = %v, want %v", c, i, got32[i], w)
			}
		}
	}
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

func TestPackedBRejectsBadBlocks(t *testing.T) {
	b := make([]float32, 6*4)
	for _, c := range []struct{ ends, zero []int }{
		{[]int{3}, []int{0}},             // does not end at k
		{[]int{3, 6}, []int{0}},          // counts differ
		{[]int{3, 3, 6}, []int{0, 0, 0}}, // empty block
		{[]int{6}, []int{5}},             // more zero columns than n
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ends %v zero %v accepted", c.ends, c.zero)
				}
			}()
			NewPackedB32(b, 4, 6, 4, c.ends, c.zero)
		}()
	}
}

// Flops counts 2 m n k per product, and for PackedB the multiply-adds it
// makes: block rows times the columns it does not skip.
func TestFlops(t *testing.T) {
	a, b, c := make([]float32, 6*5), make([]float32, 5*40), make([]float32, 6*40)
	f0 := Flops()
	Sgemm(false, false, 6, 40, 5, 1, a, 5, b, 40, 0, c, 40)
	if d := Flops() - f0; d != 2*6*40*5 {
		t.Fatalf("Sgemm 6x40x5: %d flops", d)
	}
	// Rows [0, 2) all 40 columns; rows [2, 5) skip 32 (one 32-wide tile).
	p := NewPackedB32(b, 40, 5, 40, []int{2, 5}, []int{0, 33})
	f0 = Flops()
	p.MulAdd(6, a, 5, c, 40)
	if d := Flops() - f0; d != 2*6*(2*40+3*8) {
		t.Fatalf("PackedB 6 rows: %d flops, want %d", d, 2*6*(2*40+3*8))
	}
}
