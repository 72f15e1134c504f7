package study

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
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

// TestGradientSplitImplicit: at the exact posterior of a small GRBM, the
// implicit gradient recovers the path through φ*(θ) that N = 0 misses,
// once Ĝ_M averages enough draws of q's relaxed noise for its Hessian (the
// relaxed sample's derivative in the logit is spiky at τ = 0.1, so a few
// draws give a noisy Hessian and a noisy solve).
func TestGradientSplitImplicit(t *testing.T) {
	rng := tensor.NewRNG(31)
	m := model.NewGRBM(3, 2, false, rng, tensor.Float64)
	for _, n := range []string{"W", "c"} {
		w := m.Params().Get(n)
		w.CopyFrom(tensor.Scale(w, 4))
	}
	q := model.NewBernoulliPosterior(3, 2, rng, tensor.Float64)
	q.Params().Get("A").CopyFrom(m.Params().Get("W"))
	q.Params().Get("a").CopyFrom(m.Params().Get("c"))
	v := rng.Normal(tensor.Float64, 0.5, 1, 40, 3)
	o := objective.Outer{Kind: objective.DSM, Sigma: 0.3}
	recovered := func(n int, im *objective.Implicit) float64 {
		s, err := GradientSplit(SplitConfig{Model: m, Outer: o, Batch: v, Draws: 20, Seed: 3,
			Posterior: q, InnerOpt: optim.NewAdam(1e-3, 0.9, 0.95), N: n, Implicit: im})
		if err != nil {
			t.Fatal(err)
		}
		return 1 - norm(s.Alg1, s.Total)/norm(s.Fixed, s.Total)
	}
	none := recovered(0, nil)
	if math.Abs(none) > 0.05 {
		t.Errorf("N = 0 recovers %.3f of the path, want about none", none)
	}
	for _, c := range []struct {
		draws int
		want  float64
	}{{100, 0.9}, {1000, 0.98}} {
		got := recovered(0, &objective.Implicit{Draws: c.draws, Iters: 50, Tol: 1e-8})
		t.Logf("M = %d: the implicit gradient recovers %.3f of the posterior path (N = 0: %.3f)", c.draws, got, none)
		if got < c.want {
			t.Errorf("M = %d: the implicit gradient recovers %.3f of the path, want at least %.2f", c.draws, got, c.want)
		}
	}
}
