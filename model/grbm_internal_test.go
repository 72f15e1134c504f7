package model

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// The sampler's hidden logits are the energy's c + Wᵀv (/σ) bit for bit,
// with a σ per dimension and with the paper's scalar σ, and match the
// closed form.
func TestHiddenLogitsAreHiddenInput(t *testing.T) {
	for _, dt := range []tensor.DType{tensor.Float32, tensor.Float64} {
		for _, scalar := range []bool{false, true} {
			rng := tensor.NewRNG(5)
			m := NewGRBM(6, 4, scalar, rng, dt)
			ls := m.params.Get("log_sigma")
			for i := range ls.Size() {
				ls.SetFlat(i, 0.3-0.1*float64(i))
			}
			v := rng.Normal(dt, 0, 1, 5, 6)
			got := m.hiddenLogits(v)
			want := m.hiddenInput(m.params.Consts(), ad.Const(v)).Tensor()
			w, c := m.params.Get("W"), m.params.Get("c")
			for r := range 5 {
				for j := range 4 {
					g, h := got.At(r, j), want.At(r, j)
					if math.Float64bits(g) != math.Float64bits(h) {
						t.Fatalf("%v scalar σ %v: logit (%d, %d) %v, energy's %v", dt, scalar, r, j, g, h)
					}
					s := c.At(j)
					if scalar {
						acc := 0.0
						for i := range 6 {
							acc += v.At(r, i) * w.At(i, j)
						}
						s += acc / math.Exp(ls.At(0))
					} else {
						for i := range 6 {
							s += v.At(r, i) * w.At(i, j)
						}
					}
					if math.Abs(g-s) > 1e-5*(1+math.Abs(s)) {
						t.Errorf("%v scalar σ %v: logit (%d, %d) %v, closed form %v", dt, scalar, r, j, g, s)
					}
				}
			}
		}
	}
}
