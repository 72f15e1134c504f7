package study

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// biasSetup returns a tiny GRBM with a Bernoulli posterior, a fixed batch and
// an inner optimizer that has taken a few steps already. The relaxation's
// temperature is 0.5 rather than 0.1: the sharper relaxation makes the
// fixed-noise inner loss rough, and its minimiser hard to reach, so that the
// outcome of a test would depend on the particular noise.
func biasSetup(newOpt func() optim.Optimizer, outer objective.Outer) BiasConfig {
	rng := tensor.NewRNG(1)
	m := model.NewGRBM(4, 3, false, rng, f64)
	q := model.NewBernoulliPosterior(4, 3, rng, f64)
	q.Tau = 0.5
	batch := rng.Uniform(f64, -1, 1, 100, 4)
	warm := newOpt()
	(&objective.BiLevel{Model: m, Posterior: q, Outer: outer, K: 3, InnerOpt: warm}).Step(batch, tensor.NewRNG(2))
	return BiasConfig{Model: m, Posterior: q, Outer: outer, Batch: batch, InnerOpt: warm, NewInnerOpt: newOpt, Seed: 3}
}

const f64 = tensor.Float64

var dsm = objective.Outer{Kind: objective.DSM, Sigma: 0.3}

func adam() optim.Optimizer { return optim.NewAdam(0.05, 0.9, 0.95) }

func snapshot(p *nn.Params) []float64 {
	var out []float64
	for _, t := range p.Tensors() {
		out = append(out, t.Values()...)
	}
	return out
}

func sameValues(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// gaussianSetup is biasSetup for a model with continuous h (the Fisher
// inner loss).
func gaussianSetup(outer objective.Outer) BiasConfig {
	rng := tensor.NewRNG(1)
	m := model.NewLinearGaussian(4, 2, rng, f64)
	q := model.NewGaussianPosterior(4, 2, rng, f64)
	batch := rng.Normal(f64, 0, 1, 50, 4)
	warm := adam()
	(&objective.BiLevel{Model: m, Posterior: q, Outer: outer, K: 3, InnerOpt: warm}).Step(batch, tensor.NewRNG(2))
	return BiasConfig{Model: m, Posterior: q, Outer: outer, Batch: batch, InnerOpt: warm, NewInnerOpt: adam, Seed: 3}
}

// With one noise stream, an evaluation is objective.BiLevel.Step exactly.
func TestEvaluateIsBiLevelStep(t *testing.T) {
	for _, setup := range []func(objective.Outer) BiasConfig{
		func(o objective.Outer) BiasConfig { return biasSetup(adam, o) }, gaussianSetup,
	} {
		for _, outer := range []objective.Outer{dsm, {Kind: objective.SSM}} {
			testEvaluateIsBiLevelStep(t, setup, outer)
		}
	}
}

func testEvaluateIsBiLevelStep(t *testing.T, setup func(objective.Outer) BiasConfig, outer objective.Outer) {
	for _, kn := range [][2]int{{0, 0}, {2, 0}, {0, 3}, {2, 3}} {
		cfg := setup(outer)
		cfg.streamNoise = true
		qp := cfg.Posterior.Params()
		phiInit := qp.Clone()
		e, err := cfg.evaluate(phiInit, nil, kn[0], kn[1], nil)
		if err != nil {
			t.Fatal(err)
		}
		qp.CopyFrom(phiInit)
		res := (&objective.BiLevel{Model: cfg.Model, Posterior: cfg.Posterior, Outer: outer, K: kn[0], N: kn[1], InnerOpt: cfg.InnerOpt}).Step(cfg.Batch, tensor.NewRNG(cfg.Seed))
		name := fmt.Sprintf("%T %v K=%d N=%d", cfg.Posterior, outer.Kind, kn[0], kn[1])
		if res.Loss != e.loss || res.InnerLoss != e.innerLoss {
			t.Errorf("%s: losses %v %v, BiLevel.Step %v %v", name, e.loss, e.innerLoss, res.Loss, res.InnerLoss)
		}
		if d := norm(e.grads, res.Grads); d != 0 {
			t.Errorf("%s: gradients differ from BiLevel.Step by %g", name, d)
		}
		if d := norm(e.phi0, qp.Tensors()); d != 0 {
			t.Errorf("%s: φ^0 differs from BiLevel.Step's by %g", name, d)
		}
	}
}

// Theorem 2: with plain gradient descent (Eqs. 12-13) the bias falls with N,
// and K kept steps bring φ^0 closer to φ*.
func TestGradientBiasFallsWithN(t *testing.T) {
	const lr = 1
	cfg := biasSetup(func() optim.Optimizer { return optim.NewSGD(lr) }, dsm)
	cfg.Ks, cfg.Ns = []int{0, 20, 600}, []int{0, 5, 50, 200}
	cfg.KStar, cfg.NRef, cfg.RefLR = 600, 200, lr
	thBefore, phiBefore := snapshot(cfg.Model.Params()), snapshot(cfg.Posterior.Params())
	calls := 0
	cfg.Progress = func(done, total int) {
		calls++
		if done != calls || total != 13 {
			t.Fatalf("progress %d/%d at call %d", done, total, calls)
		}
	}
	pts, err := GradientBias(cfg)
	if err != nil {
		t.Fatal(err)
	}
	at := map[[2]int]BiasPoint{}
	for _, p := range pts {
		t.Logf("K=%3d N=%3d rel. bias %.4f  |φ0-φ*| %.4f  loss %.4f", p.K, p.N, p.RelBias, p.PhiDist, p.Loss)
		at[[2]int{p.K, p.N}] = p
	}
	for _, k := range []int{0, 20} {
		b0, b50, b200 := at[[2]int{k, 0}].RelBias, at[[2]int{k, 50}].RelBias, at[[2]int{k, 200}].RelBias
		if !(b50 < b0 && b200 < 0.25*b0) {
			t.Errorf("K=%d: bias %v, %v, %v at N = 0, 50, 200 does not fall", k, b0, b50, b200)
		}
		if b0 := at[[2]int{k, 0}].RelBias; b0 < 0.02 {
			t.Errorf("K=%d: bias %v at N=0 is too small for the test to mean anything", k, b0)
		}
	}
	if d0, d20 := at[[2]int{0, 0}].PhiDist, at[[2]int{20, 0}].PhiDist; !(d20 < d0) {
		t.Errorf("|φ0-φ*| %v after 20 steps, %v after none", d20, d0)
	}
	// K = KStar, N = NRef with the reference's step is the reference itself.
	if p := at[[2]int{600, 200}]; p.Bias != 0 || p.PhiDist != 0 {
		t.Errorf("the reference point has bias %v, |φ0-φ*| %v", p.Bias, p.PhiDist)
	}
	if !sameValues(thBefore, snapshot(cfg.Model.Params())) || !sameValues(phiBefore, snapshot(cfg.Posterior.Params())) {
		t.Error("θ or φ changed")
	}
}

// The default reference (gradient descent with step 1/λ_max) with Adam in
// the evaluations. Unrolled Adam does not converge to the implicit gradient
// the way gradient descent does (its preconditioner depends on the
// gradients, and at a converged φ its Jacobian grows without bound), but
// from the unconverged φ of training the bias still falls with N.
func TestGradientBiasAdam(t *testing.T) {
	cfg := biasSetup(adam, dsm)
	cfg.Ks, cfg.Ns = []int{0}, []int{0, 50}
	cfg.KStar, cfg.NRef = 1000, 300
	state := cloneState(cfg.InnerOpt.State())
	pts, err := GradientBias(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		t.Logf("K=%d N=%d rel. bias %.4f |φ0-φ*| %.4f", p.K, p.N, p.RelBias, p.PhiDist)
	}
	if !(pts[1].RelBias < 0.7*pts[0].RelBias) {
		t.Errorf("bias %v at N=50 not well below %v at N=0", pts[1].RelBias, pts[0].RelBias)
	}
	after := cfg.InnerOpt.State()
	for k, v := range state {
		if !sameValues(v.Values(), after[k].Values()) {
			t.Errorf("optimizer state %q changed", k)
		}
	}
}

func TestGradientBiasValidates(t *testing.T) {
	good := biasSetup(adam, dsm)
	for name, mutate := range map[string]func(*BiasConfig){
		"no model":     func(c *BiasConfig) { c.Model = nil },
		"no batch":     func(c *BiasConfig) { c.Batch = nil },
		"no optimizer": func(c *BiasConfig) { c.NewInnerOpt = nil },
		"negative K":   func(c *BiasConfig) { c.Ks = []int{-1} },
		"negative N":   func(c *BiasConfig) { c.Ns = []int{-1} },
		"negative ref": func(c *BiasConfig) { c.NRef = -1 },
	} {
		c := good
		mutate(&c)
		if _, err := GradientBias(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// A posterior with continuous h (Fisher inner loss, third-order derivatives
// in the curvature estimate) on the linear-Gaussian model, whose inner loss
// is well conditioned: the bias falls with N here too.
func TestGradientBiasContinuous(t *testing.T) {
	cfg := gaussianSetup(dsm)
	cfg.NewInnerOpt = func() optim.Optimizer { return optim.NewSGD(0.01) }
	cfg.InnerOpt = cfg.NewInnerOpt()
	cfg.Ks, cfg.Ns = []int{0}, []int{0, 20, 100}
	cfg.KStar, cfg.NRef = 300, 100
	pts, err := GradientBias(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		t.Logf("K=%d N=%d rel. bias %.4f |φ0-φ*| %.4f", p.K, p.N, p.RelBias, p.PhiDist)
	}
	if !(pts[1].RelBias < pts[0].RelBias && pts[2].RelBias < 0.5*pts[0].RelBias) {
		t.Errorf("bias does not fall with N: %v, %v, %v", pts[0].RelBias, pts[1].RelBias, pts[2].RelBias)
	}
}
