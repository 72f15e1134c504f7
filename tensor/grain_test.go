package tensor

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/internal/parallel"
)

// BenchmarkGrain times cheap (Affine, Mul: memory-bound) and costly
// (Sigmoid) elementwise operations on 1 and 2 workers across sizes around
// the parallel grain (grainElems for cheap operations, grainElems/2 for
// the vector transcendental functions), where splitting starts to pay:
//
//	go test ./tensor -run XXX -bench Grain -benchtime 2000x
//
// "cold" operands cycle through 64 MB of distinct tensors, as a training
// step's do (every result is a new buffer, read by the next operations),
// so that they come from memory shared by the cores; "hot" ones are the
// same tensor every time, in the first core's cache. Back-to-back loops
// find the workers awake. docs/PERFORMANCE.md holds its output and the
// rule taken from it.
func BenchmarkGrain(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	for _, op := range []struct {
		name string
		f    func(x, y *Tensor) *Tensor
	}{
		{"affine", func(x, _ *Tensor) *Tensor { return Affine(x, 1.5, 0.5) }},
		{"mul", Mul},
		{"sigmoid", func(x, _ *Tensor) *Tensor { return Sigmoid(x) }},
	} {
		for _, temp := range []string{"cold", "hot"} {
			for _, n := range []int{1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 17} {
				ring := 1
				if temp == "cold" {
					ring = (64 << 20) / (8 * n) // x and y: 64 MB in all
				}
				rng := NewRNG(1)
				a := NewArena()
				xs, ys := make([]*Tensor, ring), make([]*Tensor, ring)
				for i := range xs {
					xs[i] = rng.Normal(Float32, 0, 1, n).InArena(a)
					ys[i] = rng.Normal(Float32, 0, 1, n).InArena(a)
				}
				for _, w := range []int{1, 2} {
					b.Run(fmt.Sprintf("%s/%s/n=%d/workers=%d", op.name, temp, n, w), func(b *testing.B) {
						parallel.Workers = w
						if w > 1 { // split at any size
							defer func(g int) { grainElems = g }(grainElems)
							grainElems = block
						}
						ringSteps(b, a, ring, func(j int) { op.f(xs[j], ys[j]) })
						b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
					})
				}
			}
		}
	}
}

// BenchmarkResultStorage times Mul of two [100, 400] operands in the cache
// (a Frey step's shape) writing its result to new storage, as an operation
// whose result the graph keeps does ("new": a buffer last touched a 64 MB
// ring ago, as in a training step), or to storage released just before
// ("released": what a backward rule gets once the pass has released the
// gradients it consumed, Release), on 1 and 2 workers:
//
//	go test ./tensor -run XXX -bench ResultStorage -benchtime 5000x
func BenchmarkResultStorage(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	const n = 100 * 400
	rng := NewRNG(1)
	a := NewArena()
	x := rng.Normal(Float32, 0, 1, n).InArena(a)
	y := rng.Normal(Float32, 0, 1, n).InArena(a)
	ring := (64 << 20) / (4 * n)
	for _, storage := range []string{"new", "released"} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", storage, w), func(b *testing.B) {
				parallel.Workers = w
				ringSteps(b, a, ring, func(int) {
					z := Mul(x, y)
					if storage == "released" {
						Release(z)
					}
				})
			})
		}
	}
}

// BenchmarkAdamApplyPackedGradAdd times adding the packed Adam update's
// gradient for φ = [560, 400] into a gradient the backward pass owns: as a
// new gradient and an in-place sum ("separate", the released storage
// reused as in a step), or in one pass (AdamApplyPackedGradAdd, "fused"),
// on 1 and 2 workers:
//
//	go test ./tensor -run XXX -bench AdamApplyPackedGradAdd -benchtime 300x
func BenchmarkAdamApplyPackedGradAdd(b *testing.B) {
	const p = 560 * 400
	rng := NewRNG(1)
	a := NewArena()
	// Operands in a ring of 64 MB, as a step's come from memory.
	ring := (64 << 20) / (4 * 6 * p)
	type operands struct{ acc, up, s *Tensor }
	ops := make([]operands, ring)
	for i := range ops {
		ops[i] = operands{rng.Normal(Float32, 0, 1, 2, p), rng.Normal(Float32, 0, 1, p), rng.Uniform(Float32, 0, 1, 2, p)}
	}
	separateOrFused(b, a, ring, func(j int) {
		o := ops[j]
		g := AdamApplyPackedGrad(o.up.InArena(a), o.s, 1e-3, 1e-8)
		AddInPlace(o.acc, g)
		Release(g)
	}, func(j int) {
		o := ops[j]
		AdamApplyPackedGradAdd(o.acc, o.up, o.s, 1e-3, 1e-8)
	})
}

// separateOrFused runs the benchmarks "separate/workers=W" and
// "fused/workers=W", W = 1 and 2, of a sum into a gradient computed as a
// new tensor and an addition (separate(j)) or in one pass (fused(j)), on
// the j-th operands of a ring (ringSteps).
func separateOrFused(b *testing.B, a *Arena, ring int, separate, fused func(j int)) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	for _, kind := range []string{"separate", "fused"} {
		op := separate
		if kind == "fused" {
			op = fused
		}
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/workers=%d", kind, w), func(b *testing.B) {
				parallel.Workers = w
				ringSteps(b, a, ring, op)
			})
		}
	}
}

// ringSteps runs b.N calls of op over a ring of operands (op(j), j cycling
// through [0, ring)), one arena step per pass over the ring, so that the
// results too are distinct buffers, as in a training step.
func ringSteps(b *testing.B, a *Arena, ring int, op func(j int)) {
	for i := 0; i < b.N; {
		a.Step(func() {
			for j := 0; j < ring && i < b.N; j, i = j+1, i+1 {
				op(j)
			}
		})
	}
}

// BenchmarkAddMulInPlace times adding a product g·b into a gradient the
// backward pass owns, [100, 400] (a Frey step's batch by its hidden units),
// operands from a 64 MB ring: as a new product and an in-place sum
// ("separate", the product's storage released as in a step) or in one pass
// (AddMulInPlace, "fused"), on 1 and 2 workers:
//
//	go test ./tensor -run XXX -bench AddMulInPlace -benchtime 5000x
func BenchmarkAddMulInPlace(b *testing.B) {
	const n = 100 * 400
	rng := NewRNG(1)
	a := NewArena()
	ring := (64 << 20) / (4 * 3 * n)
	type operands struct{ acc, g, x *Tensor }
	ops := make([]operands, ring)
	for i := range ops {
		ops[i] = operands{rng.Normal(Float32, 0, 1, n), rng.Normal(Float32, 0, 1, n), rng.Normal(Float32, 0, 1, n)}
	}
	separateOrFused(b, a, ring, func(j int) {
		o := ops[j]
		p := Mul(o.g.InArena(a), o.x)
		AddInPlace(o.acc, p)
		Release(p)
	}, func(j int) {
		o := ops[j]
		AddMulInPlace(o.acc, o.g, o.x)
	})
}

// BenchmarkAdamUpdateAfterProduct times the in-place Adam update of a Frey
// posterior's weight, [560, 400], right after a product that reads it, v·φ
// with v [100, 560] (an inner step's next forward pass), both on 1 or 2
// workers; update-ns/op is the update's share of ns/op:
//
//	go test ./tensor -run XXX -bench AdamUpdateAfterProduct -benchtime 2000x
//
// On two workers each core's product reads columns of φ and each core's
// update writes rows of it, so half of the lines an update writes were
// last read by the other core.
func BenchmarkAdamUpdateAfterProduct(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	const batch, d, h = 100, 560, 400
	rng := NewRNG(1)
	v := rng.Normal(Float32, 0, 1, batch, d)
	phi := rng.Normal(Float32, 0, 0.1, d, h)
	g := rng.Normal(Float32, 0, 1, d, h)
	m, s := New(Float32, d, h), New(Float32, d, h)
	y := New(Float32, batch, h)
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			parallel.Workers = w
			var update time.Duration
			for i := 0; i < b.N; i++ {
				blas.Sgemm(false, false, batch, h, d, 1, v.f32, d, phi.f32, h, 0, y.f32, h)
				t := time.Now()
				AdamUpdateInPlace(phi, g, m, s, 0.9, 0.999, 1e-8, 1e-6)
				update += time.Since(t)
			}
			b.ReportMetric(float64(update.Nanoseconds())/float64(b.N), "update-ns/op")
		})
	}
}

// BenchmarkParameterOwnership times five unrolled Adam steps of a Frey
// posterior's weight φ, [560, 400]: the product v·φ_t with v [100, 560],
// split in column strips (as the GEMM splits it), then φ_{t+1} = φ_t -
// step·m/(sqrt(s)+eps) into a new buffer, on one worker or on two with the
// update split as below; product-ns and apply-ns are each one's time:
//
//	go test ./tensor -run XXX -bench ParameterOwnership -benchtime 1000x
//
// "rows": the update in halves of φ's memory, as bism splits it (each core
// writes rows whose lines the other core's product has read). "columns":
// each core updates the columns its product strip reads, row by row, so
// that no line passes between the cores. "transposed": φ stored as φᵀ,
// [400, 560], so that a strip's columns are contiguous rows and each
// core's update is one contiguous half; the product then packs φᵀ.
func BenchmarkParameterOwnership(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	const batch, d, h, split = 100, 560, 400, 224 // split: the first core's columns
	rng := NewRNG(1)
	v := rng.Normal(Float32, 0, 1, batch, d)
	m := rng.Normal(Float32, 0, 0.1, d, h)
	s := rng.Uniform(Float32, 0.5, 1, d, h)
	y := New(Float32, batch, h)
	var phis [6]*Tensor
	for i := range phis {
		phis[i] = rng.Normal(Float32, 0, 0.1, d, h)
	}
	cols := func(c int) (int, int) { return []int{0, split}[c], []int{split, h}[c] }
	// product computes y = v·φ, each core its columns [j0, j1).
	product := func(phi []float32, transposed bool) {
		parallel.For(2, 1, func(lo, hi int) {
			for c := lo; c < hi; c++ {
				j0, j1 := cols(c)
				if transposed {
					blas.Sgemm(false, true, batch, j1-j0, d, 1, v.f32, d, phi[j0*d:], d, 0, y.f32[j0:], h)
				} else {
					blas.Sgemm(false, false, batch, j1-j0, d, 1, v.f32, d, phi[j0:], h, 0, y.f32[j0:], h)
				}
			}
		})
	}
	apply := func(dst, phi []float32, lo, hi int) {
		adamApplyRange(dst, phi, m.f32, s.f32, -1e-3, 1e-8, lo, hi)
	}
	for _, mode := range []string{"one-worker", "rows", "columns", "transposed-one-worker", "transposed"} {
		b.Run(mode, func(b *testing.B) {
			parallel.Workers = 2
			if strings.HasSuffix(mode, "one-worker") {
				parallel.Workers = 1
			}
			transposed := strings.HasPrefix(mode, "transposed")
			var tp, ta time.Duration
			for i := 0; i < b.N; i++ {
				for t := 0; t < 5; t++ {
					phi, dst := phis[t].f32, phis[t+1].f32
					t0 := time.Now()
					product(phi, transposed)
					t1 := time.Now()
					parallel.For(2, 1, func(lo, hi int) {
						for c := lo; c < hi; c++ {
							j0, j1 := cols(c)
							switch {
							case mode == "columns":
								for r := 0; r < d; r++ {
									apply(dst, phi, r*h+j0, r*h+j1)
								}
							case transposed:
								apply(dst, phi, j0*d, j1*d)
							default:
								apply(dst, phi, c*d/2*h, (c+1)*d/2*h)
							}
						}
					})
					tp += t1.Sub(t0)
					ta += time.Since(t1)
				}
			}
			b.ReportMetric(float64(tp.Nanoseconds())/float64(5*b.N), "product-ns")
			b.ReportMetric(float64(ta.Nanoseconds())/float64(5*b.N), "apply-ns")
		})
	}
}

// BenchmarkSplitChain times a chain of eight elementwise operations on a
// Frey step's [100, 400] (products and sums of the previous result with a
// second operand, into three buffers in turn) split over the workers in two
// ways that give each core the same half of every operand: one split loop
// per operation, as bism runs them ("per-op": a hand-over and a join each),
// and one split loop around the whole chain ("region": each core runs the
// chain on its half, one hand-over and one join in all). Their difference
// on two workers is what the hand-overs and the waits for the slower half
// cost per operation, which a scheduler that kept a chain of elementwise
// operations on the same cores without joining would save:
//
//	go test ./tensor -run XXX -bench SplitChain -benchtime 5000x
func BenchmarkSplitChain(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	const n, ops = 100 * 400, 8
	rng := NewRNG(1)
	y := rng.Normal(Float32, 0, 1, n).f32
	// Three buffers in turn: with y, 640 kB, within one core's L2 cache on
	// current x86 server CPUs (1-2 MB).
	var xs [3][]float32
	for i := range xs {
		xs[i] = rng.Normal(Float32, 0, 1, n).f32
	}
	chain := func(lo, hi int) {
		for i := range ops {
			op := opMul
			if i%2 == 1 {
				op = opAdd
			}
			flatBinary(op, xs[(i+1)%3][lo:hi], xs[i%3][lo:hi], y[lo:hi], hi-lo, 1, 1)
		}
	}
	for _, w := range []int{1, 2} {
		if w > runtime.GOMAXPROCS(0) {
			continue
		}
		parallel.Workers = w
		b.Run(fmt.Sprintf("per-op/workers=%d", w), func(b *testing.B) {
			for b.Loop() {
				chain(0, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/ops/1e3, "µs/op")
		})
		b.Run(fmt.Sprintf("region/workers=%d", w), func(b *testing.B) {
			for b.Loop() {
				parallel.For(n, grainElems, chain)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/ops/1e3, "µs/op")
		})
	}
}
