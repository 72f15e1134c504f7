package blas

import (
	"math/rand/v2"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestSameBitsWhateverTheWorkers: a product's every element is computed
// by one worker with the same kernels and order of accumulation, so the
// result does not depend on how many workers split it.
func TestSameBitsWhateverTheWorkers(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{128, 560, 400}, {100, 1024, 2048}, {100, 2048, 1024}, {1024, 100, 512}, {37, 300, 1000}, {300, 37, 1000}, {64, 4096, 50}, {50, 100, 4096}} {
		m, k, n := s[0], s[1], s[2]
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			for i := range a {
				a[i] = float32(rng.NormFloat64())
			}
			for i := range b {
				b[i] = float32(rng.NormFloat64())
			}
			lda, ldb := k, n
			if tr[0] {
				lda = m
			}
			if tr[1] {
				ldb = k
			}
			var ref []float32
			for _, w := range []int{1, 2, 3, 4, 7} {
				parallel.Workers = w
				c := make([]float32, m*n)
				Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n)
				if ref == nil {
					ref = c
					continue
				}
				for i := range c {
					if c[i] != ref[i] {
						t.Fatalf("%dx%dx%d trans %v: element %d is %v with %d workers, %v with 1", m, k, n, tr, i, c[i], w, ref[i])
					}
				}
			}
		}
	}
}

// TestSameBitsWhateverTheHistory: a product's result does not depend on
// what the pooled workspaces held before.
func TestSameBitsWhateverTheHistory(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := rand.New(rand.NewPCG(3, 4))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	shapes := [][3]int{{1024, 100, 50}, {50, 100, 1024}, {100, 1024, 50}, {64, 900, 16}, {16, 900, 64}, {128, 64, 100}, {1000, 37, 3}, {50, 1000, 1024}}
	type prob struct {
		m, k, n int
		ta, tb  bool
		a, b    []float32
		ref     []float32
	}
	var probs []prob
	for _, s := range shapes {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			probs = append(probs, prob{m: s[0], k: s[1], n: s[2], ta: tr[0], tb: tr[1], a: fill(s[0] * s[1]), b: fill(s[1] * s[2])})
		}
	}
	run := func(p *prob) []float32 {
		lda, ldb := p.k, p.n
		if p.ta {
			lda = p.m
		}
		if p.tb {
			ldb = p.k
		}
		c := make([]float32, p.m*p.n)
		Sgemm(p.ta, p.tb, p.m, p.n, p.k, 1, p.a, lda, p.b, ldb, 0, c, p.n)
		return c
	}
	parallel.Workers = 1
	for i := range probs {
		probs[i].ref = run(&probs[i])
	}
	for _, w := range []int{3, 2, 1} {
		parallel.Workers = w
		for round := 0; round < 2; round++ {
			for i := len(probs) - 1; i >= 0; i-- {
				p := &probs[i]
				c := run(p)
				for j := range c {
					if c[j] != p.ref[j] {
						t.Fatalf("%dx%dx%d trans %v %v, %d workers, round %d: element %d is %v, first %v", p.m, p.k, p.n, p.ta, p.tb, w, round, j, c[j], p.ref[j])
					}
				}
			}
		}
	}
}
