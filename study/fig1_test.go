package study

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
	"gonum.org/v1/gonum/mat"
)

// TestLogitStar checks the minimiser of the noise-averaged relaxed loss:
// its derivative vanishes there, it is a minimum, and for u = 1 at τ = 0.1
// it sits slightly above u (the relaxation's shift).
func TestLogitStar(t *testing.T) {
	tab := logitStar(0.1)
	for _, u := range []float64{-5, -1, 0, 1, 3.3, 12} {
		l := tab.at(u)
		d1, d2 := relaxedDerivs(l, u, 0.1, tab.zs)
		if math.Abs(d1) > 1e-5 || d2 <= 0 {
			t.Errorf("u=%v: l*=%v has f' = %v, f'' = %v", u, l, d1, d2)
		}
	}
	l1 := tab.at(1)
	t.Logf("l*(1) = %.5f", l1)
	if l1 <= 1 || l1 > 1.05 {
		t.Errorf("l*(1) = %v, want slightly above 1", l1)
	}
}

// fig1GRBM is a small GRBM with B < D, so that the closed form applies,
// with an inner optimizer that has taken a few steps.
func fig1GRBM() Fig1Config {
	rng := tensor.NewRNG(4)
	m := model.NewGRBM(8, 3, false, rng, f64)
	q := model.NewBernoulliPosterior(8, 3, rng, f64)
	q.Tau = 0.5
	batch := rng.Uniform(f64, -1, 1, 3, 8)
	warm := optim.NewAdam(0.05, 0.9, 0.95)
	(&objective.BiLevel{Model: m, Posterior: q, Outer: dsm, K: 3, InnerOpt: warm}).Step(batch, tensor.NewRNG(2))
	return Fig1Config{Model: m, Posterior: q, Outer: dsm, Batch: batch, InnerOpt: warm,
		NewInnerOpt: func() optim.Optimizer { return optim.NewAdam(0.05, 0.9, 0.95) }, Draws: 4, Repeats: 2, Seed: 7}
}

// TestGRBMClosedFormIsTheLimit checks the closed form against what it
// replaces: the projection zeroes Ĝ_M's φ-gradient, and the implicit
// gradient there equals the θ-gradient after many gradient-descent
// steps unrolled from the same start.
func TestGRBMClosedFormIsTheLimit(t *testing.T) {
	cfg := fig1GRBM()
	cfg.NRef = 1000
	seeds := tensor.NewRNG(cfg.Seed).Rand()
	p := cfg.Outer.Perturb(cfg.Batch, tensor.NewRNG(seeds.Uint64()))
	pr := &fig1Problem{cfg: &cfg, p: p, x: ad.Const(p.X), outerSeed: 11, innerSeeds: []uint64{1, 2, 3, 4}}
	gl := newGRBMLimit(&cfg, p)
	if gl == nil {
		t.Fatal("no closed form for a GRBM with B < D")
	}
	th := cfg.Model.Params().Consts()
	phi0 := cfg.Posterior.Params().Clone()
	star := gl.project(phi0, pr)
	at := func(ps []*tensor.Tensor) float64 { return norm(ps, nil) }
	grad := func(phi *nn.Params) []*tensor.Tensor {
		v := phi.Vars()
		return ad.Tensors(ad.Grad(pr.inner(th, v), v.List()))
	}
	g0, gs := grad(phi0), grad(star)
	t.Logf("|∇φ Ĝ_M| at φ⁰ %.3e, at the projection %.3e", at(g0), at(gs))
	if at(gs) > 1e-9*at(g0) {
		t.Errorf("the projection is not a stationary point: |∇φ Ĝ_M| = %v (at φ⁰ %v)", at(gs), at(g0))
	}
	lam, err := cfg.lambdaMax(pr, gl)
	if err != nil {
		t.Fatal(err)
	}
	closed := gl.implicitGradient(pr, star)
	unrolled, end := cfg.unrollLimit(pr, phi0, 1/lam)
	rel := norm(closed, unrolled) / norm(unrolled, nil)
	t.Logf("closed-form g* vs %d unrolled steps: relative difference %.2e; end point %.2e from the projection", cfg.NRef, rel, paramDist(end, star))
	if rel > 1e-4 {
		t.Errorf("closed-form g* differs from the long unroll by %.2e relative", rel)
	}
}

// hessianEigen returns the eigenvalues of Ĝ_M's φ-Hessian at phi, in
// increasing order (small problems only: one Hessian-vector product per
// coordinate).
func hessianEigen(t *testing.T, cfg *Fig1Config, pr *fig1Problem, phi *nn.Params) []float64 {
	t.Helper()
	th := cfg.Model.Params().Consts()
	n := phi.Count()
	h := mat.NewSymDense(n, nil)
	col := 0
	for pi, pt := range phi.Tensors() {
		for e := 0; e < pt.Size(); e++ {
			v := phi.Vars()
			g := ad.Grad(pr.inner(th, v), v.List(), ad.CreateGraph())
			unit := tensor.ZerosLike(pt)
			unit.SetFlat(e, 1)
			hv := ad.Tensors(ad.Grad(ad.Dot(g[pi], ad.Const(unit)), v.List()))
			row := 0
			for _, x := range hv {
				for _, val := range x.Values() {
					if row >= col {
						h.SetSym(row, col, val)
					}
					row++
				}
			}
			col++
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		t.Fatal("eigendecomposition failed")
	}
	return eig.Values(nil)
}

// TestNoiseAveragedMinimiser checks the minimiser set of the noise-averaged
// inner loss: at the projection of φ on {x̃ φ_j = l*(u_j)} the φ-gradient of
// the inner loss averaged over many draws of q's noise is zero within its
// Monte-Carlo error, while at φ itself it is not.
func TestNoiseAveragedMinimiser(t *testing.T) {
	cfg := fig1GRBM()
	p := cfg.Outer.Perturb(cfg.Batch, tensor.NewRNG(1))
	gl := newGRBMLimit(&cfg, p)
	const draws = 4000
	pr := &fig1Problem{cfg: &cfg, p: p, x: ad.Const(p.X)}
	for i := 0; i < draws; i++ {
		pr.innerSeeds = append(pr.innerSeeds, uint64(1000+i))
	}
	th := cfg.Model.Params().Consts()
	grad := func(phi *nn.Params) []*tensor.Tensor {
		v := phi.Vars()
		return ad.Tensors(ad.Grad(pr.inner(th, v), v.List()))
	}
	phi0 := cfg.Posterior.Params().Clone()
	exact := gl.projectOnto(phi0, gl.lExact)
	g0, ge := norm(grad(phi0), nil), norm(grad(exact), nil)
	// The Monte-Carlo error of the mean gradient, from the spread of one-draw gradients.
	one := &fig1Problem{cfg: &cfg, p: p, x: ad.Const(p.X)}
	var gs [][]*tensor.Tensor
	for i := 0; i < 50; i++ {
		one.innerSeeds = []uint64{uint64(9000 + i)}
		v := exact.Vars()
		gs = append(gs, ad.Tensors(ad.Grad(one.inner(th, v), v.List())))
	}
	_, se := meanNorm(gs)
	mcErr := se * math.Sqrt(50) / math.Sqrt(draws)
	t.Logf("|∇φ G| averaged over %d draws: %.3e at φ⁰, %.3e at the noise-averaged minimiser (Monte-Carlo error %.3e)", draws, g0, ge, mcErr)
	if ge > 3*mcErr || g0 < 10*mcErr {
		t.Errorf("gradient %.3e at the minimiser, %.3e at φ⁰, Monte-Carlo error %.3e", ge, g0, mcErr)
	}
}

// TestFig1GDBiasRate checks Theorem 2 on the linear-Gaussian model, where
// the limit is found by a long unroll: with gradient-descent unrolling at
// α = 1/λ_max the bias falls geometrically in N at the rate of the inner
// Hessian's contraction 1 - α λ_min.
func TestFig1GDBiasRate(t *testing.T) {
	rng := tensor.NewRNG(1)
	m := model.NewLinearGaussian(3, 1, rng, f64)
	q := model.NewGaussianPosterior(3, 1, rng, f64)
	batch := rng.Normal(f64, 0, 1, 20, 3)
	warm := adam()
	(&objective.BiLevel{Model: m, Posterior: q, Outer: dsm, K: 3, InnerOpt: warm}).Step(batch, tensor.NewRNG(2))
	ns := []int{0, 2, 4, 6, 8, 10, 12}
	cfg := Fig1Config{Model: m, Posterior: q, Outer: dsm, Batch: batch, InnerOpt: warm, NewInnerOpt: adam,
		Ks: []int{200}, Ns: ns, Draws: 3, Repeats: 2, NRef: 400, Seed: 5}
	res, err := Fig1Bias(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The Hessian's spectrum at the limit of repeat 0.
	seeds := tensor.NewRNG(cfg.Seed).Rand()
	p := cfg.Outer.Perturb(cfg.Batch, tensor.NewRNG(seeds.Uint64()))
	pr := &fig1Problem{cfg: &cfg, p: p, x: ad.Const(p.X), outerSeed: seeds.Uint64()}
	for i := 0; i < cfg.Draws; i++ {
		pr.innerSeeds = append(pr.innerSeeds, seeds.Uint64())
	}
	_, end := cfg.unrollLimit(pr, q.Params().Clone(), res.Alpha)
	eig := hessianEigen(t, &cfg, pr, end)
	rho := 1 - res.Alpha*eig[0]
	t.Logf("α = %.4g, λ = %.4g..%.4g, contraction %.4f; bias_gd %v", res.Alpha, eig[0], eig[len(eig)-1], rho, res.BiasGD[0])
	b := res.BiasGD[0]
	for i := 1; i < len(b); i++ {
		if b[i] >= b[i-1] {
			t.Fatalf("the bias does not fall with N: %v", b)
		}
	}
	// Per-step ratio over the last stretch against Theorem 2's rate.
	last := len(ns) - 1
	ratio := math.Pow(b[last]/b[last-2], 1/float64(ns[last]-ns[last-2]))
	t.Logf("measured per-step ratio %.4f", ratio)
	if math.Abs(ratio-rho) > 0.05 {
		t.Errorf("the bias falls by %.4f per step, Theorem 2's contraction is %.4f", ratio, rho)
	}
}

// TestFig1BiasGRBM runs the whole study on a small GRBM (closed-form limit):
// every figure is finite and shaped by the grid, more real steps bring φ⁰
// closer to the minimiser set, and gradient-descent unrolling reduces the
// bias as N grows.
func TestFig1BiasGRBM(t *testing.T) {
	cfg := fig1GRBM()
	cfg.Ks, cfg.Ns = []int{0, 20}, []int{0, 1, 5, 20}
	res, err := Fig1Bias(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Reference != "closed form" || len(res.BiasGD) != 2 || len(res.BiasAdam[1]) != 4 || len(res.Distance) != 2 {
		t.Fatalf("result not shaped by the grid: %+v", res)
	}
	if !(res.Distance[1] < res.Distance[0]) {
		t.Errorf("20 real steps did not approach the minimiser set: %v", res.Distance)
	}
	for k := range res.BiasGD {
		if b := res.BiasGD[k]; !(b[3] < b[0]) {
			t.Errorf("K=%d: gradient-descent unrolling did not reduce the bias: %v", cfg.Ks[k], b)
		}
	}
	if !(res.Alpha > 0) || math.IsNaN(res.GStarVsMarginal) || res.DistanceClosedForm <= 0 {
		t.Errorf("alpha %v, g* vs marginal %v, closed-form distance %v", res.Alpha, res.GStarVsMarginal, res.DistanceClosedForm)
	}
}
