package blas

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// Benchmarks report GFLOP/s (2*m*n*k flops per product). Each size has one
// sub-benchmark per transpose pair and per implementation: every kernel this
// build and CPU can run through the native driver, plus, with the openblas
// tag, OpenBLAS itself, so the numbers sit side by side:
//
//	go test ./internal/blas -run xxx -bench Sgemm -count 5
//	go test ./internal/blas -run xxx -bench Sgemm -count 5 -tags openblas
//	go test ./internal/blas -run xxx -bench Sgemm -count 5 -tags purego

type benchImpl struct {
	name string
	fn   gemmFunc32
}

func benchImpls() []benchImpl {
	var impls []benchImpl
	for _, kern := range kernels32() {
		impls = append(impls, benchImpl{kern.name, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			gemm(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}})
	}
	if useOpenBLAS {
		impls = append(impls, benchImpl{"openblas", openblasSgemm})
	}
	return impls
}

// uniform32 returns n values drawn uniformly from [-1, 1).
func uniform32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func benchSgemm(b *testing.B, m, n, k int, transposes []string) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, bm, c := uniform32(rng, m*k), uniform32(rng, k*n), uniform32(rng, m*n)
	for _, tr := range transposes {
		transA, transB := tr == "AtB", tr == "ABt"
		lda, ldb := k, n
		if transA {
			lda = m
		}
		if transB {
			ldb = k
		}
		for _, impl := range benchImpls() {
			b.Run(fmt.Sprintf("%s/%s", tr, impl.name), func(b *testing.B) {
				for b.Loop() {
					impl.fn(transA, transB, m, n, k, 1, a, lda, bm, ldb, 0, c, n)
				}
				flops := 2 * float64(m) * float64(n) * float64(k) * float64(b.N)
				b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			})
		}
	}
}

// BenchmarkSgemm_128x560x400 is a dense layer's products with batch 128,
// 560 inputs and 400 outputs: forward C[128x400] = A[128x560] B[560x400],
// and the same m, n, k with A or B transposed as in backprop.
func BenchmarkSgemm_128x560x400(b *testing.B) {
	benchSgemm(b, 128, 400, 560, []string{"AB", "AtB", "ABt"})
}

func BenchmarkSgemm_1024(b *testing.B) {
	benchSgemm(b, 1024, 1024, 1024, []string{"AB"})
}

// BenchmarkThin times thin products (n <= 16) through the packed kernels
// and through the unpacked rows kernel: where the rows kernel stops paying
// sets rowsMaxWork.
func BenchmarkThin(b *testing.B) {
	kern := sgemmKernel
	if kern.rows == nil {
		b.Skip("no thin-product kernel on this CPU/build")
	}
	for _, s := range [][3]int{{100, 4, 2}, {2, 4, 100}, {100, 2, 4}, {64, 8, 64}, {128, 16, 16}, {128, 16, 64}, {256, 16, 128}, {512, 16, 256}} {
		m, n, k := s[0], s[1], s[2]
		a, bb, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
		for _, path := range []string{"packed", "rows"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, path), func(b *testing.B) {
				for range b.N {
					if path == "rows" {
						gemmRows(kern, false, false, m, n, k, 1, a, k, bb, n, c, n)
					} else {
						gemmPacked(kern, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
					}
				}
			})
		}
	}
}

// BenchmarkSgemm_560x400x100 is the same layer's weight gradient for a
// batch of 100: C[560x400] = Aᵀ B with A[100x560], B[100x400].
func BenchmarkSgemm_560x400x100(b *testing.B) {
	benchSgemm(b, 560, 400, 100, []string{"AtB"})
}

// BenchmarkSplitProduct separates what a product split over two cores
// loses into the cost of running two cores at once and the cost of the
// split itself, on a Frey posterior's logits v·φ (C[100x400] =
// A[100x560] B[560x400], B read where it lies):
//
//	whole       the product on one core
//	half        the split's larger part (208 of the 400 columns) on one core
//	concurrent  two cores at once, each computing its own 208-column
//	            product from its own operands (nothing shared, one hand-over)
//	split       the product split over two cores as gemm splits it
//
// half against concurrent is what running both cores at once costs (the
// clock, the shared cache, the slower of the two cores); concurrent
// against split is what the split adds (sharing A and B, the dynamic
// strips, packing all of A on each core). The last two need two cores:
//
//	GOMAXPROCS=2 go test ./internal/blas -run XXX -bench SplitProduct -benchtime 5000x
func BenchmarkSplitProduct(b *testing.B) {
	const m, n, k, half = 100, 400, 560, 208
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(size int) []float32 { return uniform32(rng, size) }
	kern := sgemmKernel
	a, bm, c := [2][]float32{rnd(m * k), rnd(m * k)}, [2][]float32{rnd(k * n), rnd(k * n)}, [2][]float32{rnd(m * n), rnd(m * n)}
	report := func(b *testing.B, flop float64) {
		b.ReportMetric(flop*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
	}
	b.Run("whole", func(b *testing.B) {
		for b.Loop() {
			gemmPacked(kern, false, false, m, n, k, 1, a[0], k, bm[0], n, 0, c[0], n)
		}
		report(b, 2*m*n*k)
	})
	b.Run("half", func(b *testing.B) {
		for b.Loop() {
			gemmPacked(kern, false, false, m, half, k, 1, a[0], k, bm[0], n, 0, c[0], n)
		}
		report(b, 2*m*half*k)
	})
	if parallel.Workers < 2 {
		return
	}
	b.Run("concurrent", func(b *testing.B) {
		for b.Loop() {
			parallel.For(2, 1, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					gemmPacked(kern, false, false, m, half, k, 1, a[i], k, bm[i], n, 0, c[i], n)
				}
			})
		}
		report(b, 2*2*m*half*k)
	})
	b.Run("split", func(b *testing.B) {
		for b.Loop() {
			gemm(kern, false, false, m, n, k, 1, a[0], k, bm[0], n, 0, c[0], n)
		}
		report(b, 2*m*n*k)
	})
}
