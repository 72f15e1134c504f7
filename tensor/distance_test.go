package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// squaredDistanceByParts is SquaredDistance and its first-order gradients
// by the operations it fuses, as a first-order backward pass computes them:
// the reference the fused kernels must match bit for bit.
func squaredDistanceByParts(g, x, c, w *Tensor) (s, gx, gc, gw *Tensor) {
	d := Sub(x, c)
	sq := Square(d)
	s = Sum(Mul(sq, w), false, -1)
	gb := BroadcastTo(g.Reshape(g.Size(), 1), x.Shape())
	gw = SumTo(Mul(gb, sq), w.Shape())
	gx, _ = UnaryGrad(FSquare, Mul(gb, w), d, sq)
	gc = SumTo(Neg(gx), c.Shape())
	return s, gx, gc, gw
}

// TestSquaredDistanceSameBits checks the fused kernels against the
// composition, in both element types, with and without the vector
// kernels, on one worker and on three with a grain small enough to split:
// rows that fill sixteen-row blocks or not, rows shorter than sixteen,
// lengths that are not a multiple of a vector. Zeros in g, x - c and w
// check the signs of zero.
func TestSquaredDistanceSameBits(t *testing.T) {
	defer restoreSplitting()()
	vecs := vectorSettings()
	rng := NewRNG(5)
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range [][]int{{100, 560}, {37, 129}, {16, 16}, {50, 20}, {1000, 2}, {33, 15}, {3, 1}} {
			rows, n := shape[0], shape[1]
			x := rng.Normal(dt, 0, 1, rows, n)
			c := rng.Normal(dt, 0, 1, n)
			w := rng.Uniform(dt, 0, 2, n)
			g := rng.Normal(dt, 0, 1, rows)
			x.SetFlat(0, c.Flat(0)) // x - c = 0
			w.SetFlat(n-1, 0)
			g.SetFlat(rows-1, 0)
			for _, vec := range vecs {
				hasVecMath = vec
				parallel.Workers, grainElems = 1, 1<<14
				s, gx, gc, gw := squaredDistanceByParts(g, x, c, w)
				for _, split := range []bool{false, true} {
					if split {
						parallel.Workers, grainElems = 3, 2*block
					}
					what := fmt.Sprintf("%v %v vector %v split %v", dt, shape, vec, split)
					sameBits(t, what+": s", SquaredDistance(x, c, w), s)
					fx, fc, fw := SquaredDistanceGrad(g, x, c, w, true, true, true)
					sameBits(t, what+": ∂x", fx, gx)
					sameBits(t, what+": ∂c", fc, gc)
					sameBits(t, what+": ∂w", fw, gw)
					// Each gradient alone, as a pass that needs only one computes it.
					if fx, _, _ = SquaredDistanceGrad(g, x, c, w, true, false, false); fx == nil {
						t.Fatalf("%s: ∂x not returned", what)
					}
					sameBits(t, what+": ∂x alone", fx, gx)
					_, fc, _ = SquaredDistanceGrad(g, x, c, w, false, true, false)
					sameBits(t, what+": ∂c alone", fc, gc)
					if _, _, fw = SquaredDistanceGrad(g, x, c, w, false, false, true); fw == nil {
						t.Fatalf("%s: ∂w not returned", what)
					}
					sameBits(t, what+": ∂w alone", fw, gw)
				}
			}
		}
	}
}

func TestSquaredDistanceShapeMessages(t *testing.T) {
	x, d := New(Float32, 4, 3), New(Float32, 3)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"c of the wrong length", func() { SquaredDistance(x, New(Float32, 4), d) }},
		{"w of the wrong rank", func() { SquaredDistance(x, d, New(Float32, 1, 3)) }},
		{"x of rank 1", func() { SquaredDistance(d, d, d) }},
		{"mixed dtypes", func() { SquaredDistance(x, New(Float64, 3), d) }},
		{"cotangent of the wrong length", func() { SquaredDistanceGrad(New(Float32, 3), x, d, d, true, true, true) }},
	} {
		if _, ok := tryOp(func() *Tensor { c.f(); return nil }); ok {
			t.Errorf("%s: no panic", c.name)
		}
	}
}

// BenchmarkSquaredDistance times a GRBM's quadratic term on a Frey-sized
// batch [100, 560], forward and backward (the gradients for the biases and
// precisions, as contrastive divergence needs them), fused and by parts,
// with the results' storage from an arena as in a training step:
//
//	go test ./tensor -run XXX -bench SquaredDistance
func BenchmarkSquaredDistance(b *testing.B) {
	rng := NewRNG(1)
	a := NewArena()
	x := rng.Normal(Float32, 0, 1, 100, 560).InArena(a)
	c, w := rng.Normal(Float32, 0, 1, 560).InArena(a), rng.Uniform(Float32, 0.5, 2, 560).InArena(a)
	g := rng.Normal(Float32, 0, 1, 100).InArena(a)
	b.Run("fused", func(b *testing.B) {
		for b.Loop() {
			a.Step(func() {
				SquaredDistance(x, c, w)
				SquaredDistanceGrad(g, x, c, w, false, true, true)
			})
		}
	})
	b.Run("parts", func(b *testing.B) {
		for b.Loop() {
			a.Step(func() { squaredDistanceByParts(g, x, c, w) })
		}
	})
}
