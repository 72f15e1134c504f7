package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestRelaxedBernoulliSameBits checks the fused sample and log-density of
// a relaxed Bernoulli posterior, and their gradients, against the
// operations they stand for as a first-order backward pass computes them:
// both element types, vector kernels on and off, one worker and three
// with a grain that splits, rows that fill blocks of sixteen or not and
// lengths that are not a multiple of a vector (the vector kernels of
// sigmoid and softplus round differently from their scalar tails, so an
// element must land in the same one).
func TestRelaxedBernoulliSameBits(t *testing.T) {
	defer restoreSplitting()()
	vecs := vectorSettings()
	rng := NewRNG(7)
	for _, dt := range []DType{Float32, Float64} {
		for _, shape := range [][]int{{100, 400}, {37, 129}, {100, 4}, {33, 15}, {16, 16}, {3, 1}, {700, 7}} {
			rows := shape[0]
			l := rng.Normal(dt, 0, 3, shape...)
			g := rng.Logistic(dt, shape...)
			G := rng.Normal(dt, 0, 1, rows)
			Gh := rng.Normal(dt, 0, 1, shape...)
			l.SetFlat(0, 0)
			G.SetFlat(0, 0)
			for _, vec := range vecs {
				hasVecMath = vec
				parallel.Workers, grainElems = 1, 1<<14
				for _, a := range []float64{10, 1} {
					h := Sigmoid(Scale(Add(l, g), a))
					if a == 1 {
						h = Sigmoid(Add(l, g))
					}
					dSample, _ := UnaryGrad(FSigmoid, Gh, h, h)
					if a != 1 {
						dSample = Scale(dSample, a)
					}
					lp := Sum(Sub(Mul(h, l), Softplus(l)), false, -1)
					gb := BroadcastTo(G.Reshape(rows, 1), shape)
					dh := Mul(gb, l)
					dl, _ := UnaryGrad(FSoftplus, Neg(gb), l, Softplus(l))
					dl = Add(dl, Mul(gb, h))
					for _, split := range []bool{false, true} {
						parallel.Workers, grainElems = 1, 1<<14
						if split {
							parallel.Workers, grainElems = 3, 2*block
						}
						what := fmt.Sprintf("%v %v vector %v a %v split %v", dt, shape, vec, a, split)
						sameBits(t, what+": sample", SigmoidScaledSum(l, g, a), h)
						sameBits(t, what+": sample's gradient", SigmoidScaledSumGrad(Gh, h, a), dSample)
						sameBits(t, what+": log-density", BernoulliLogProb(l, h), lp)
						fl, fh := BernoulliLogProbGrad(G, l, h, true, true)
						sameBits(t, what+": ∂l", fl, dl)
						sameBits(t, what+": ∂h", fh, dh)
						if fl, fh = BernoulliLogProbGrad(G, l, h, true, false); fh != nil {
							t.Fatalf("%s: ∂h returned unasked", what)
						}
						sameBits(t, what+": ∂l alone", fl, dl)
						_, fh = BernoulliLogProbGrad(G, l, h, false, true)
						sameBits(t, what+": ∂h alone", fh, dh)
					}
				}
			}
		}
	}
}

func TestRelaxedBernoulliShapeMessages(t *testing.T) {
	x := New(Float32, 4, 3)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"sample: shapes differ", func() { SigmoidScaledSum(x, New(Float32, 4, 2), 10) }},
		{"sample: dtypes differ", func() { SigmoidScaledSum(x, New(Float64, 4, 3), 10) }},
		{"log-density: rank 1", func() { BernoulliLogProb(New(Float32, 3), New(Float32, 3)) }},
		{"log-density: shapes differ", func() { BernoulliLogProb(x, New(Float32, 3, 4)) }},
		{"log-density: cotangent's length", func() { BernoulliLogProbGrad(New(Float32, 3), x, x, true, true) }},
	} {
		if _, ok := tryOp(func() *Tensor { c.f(); return nil }); ok {
			t.Errorf("%s: no panic", c.name)
		}
	}
}
