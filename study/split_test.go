package study

import (
	"testing"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// TestGradientSplit checks the decomposition on a small float64 GRBM:
// through φ*(θ) the bi-level gradient equals the marginal one (Theorem 1);
// with φ held fixed, the gradients of b and log σ (on which φ* does not
// depend) still agree, while those of W and c lose the posterior's share.
func TestGradientSplit(t *testing.T) {
	for _, o := range []objective.Outer{{Kind: objective.SSM}, {Kind: objective.DSM, Sigma: 0.3}, {Kind: objective.SM}} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			rng := tensor.NewRNG(21)
			m := model.NewGRBM(3, 2, false, rng, tensor.Float64)
			for _, n := range []string{"W", "c"} { // a posterior far from uniform
				w := m.Params().Get(n)
				w.CopyFrom(tensor.Scale(w, 4))
			}
			v := rng.Normal(tensor.Float64, 0.5, 1, 5, 3)
			s, err := GradientSplit(SplitConfig{Model: m, Outer: o, Batch: v, Draws: 20, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			if e := RelErr(s.Total, s.Marginal); e > 1e-9 {
				t.Fatalf("through φ*(θ): relative error %g against the marginal gradient", e)
			}
			names := m.Params().Names()
			for i, n := range names {
				e := RelErr(s.Fixed[i:i+1], s.Marginal[i:i+1])
				switch n {
				case "b", "log_sigma":
					if e > 1e-9 {
						t.Fatalf("φ fixed: %s gradient off by %g", n, e)
					}
				case "W", "c":
					if e < 1e-3 {
						t.Fatalf("φ fixed: %s gradient equals the marginal one (%g); the test is not exercising the posterior's share", n, e)
					}
				}
			}
		})
	}
}
