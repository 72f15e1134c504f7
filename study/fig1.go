package study

import (
	"errors"
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// Fig1Config configures Fig1Bias, the bias of the bi-level gradient as the
// paper defines it for Fig. 1 (Sec. 3.2, Theorem 2).
type Fig1Config struct {
	Model     model.EBLVM
	Posterior model.Posterior
	Outer     objective.Outer
	Batch     *tensor.Tensor // the fixed minibatch v [B,D]

	// InnerOpt is φ's optimizer in its current state (never modified: each
	// evaluation starts from a copy made by NewInnerOpt and LoadState).
	InnerOpt    optim.Optimizer
	NewInnerOpt func() optim.Optimizer

	Ks, Ns  []int // the grid: K real Adam steps, then N unrolled steps
	Draws   int   // M: draws of q's noise that Ĝ_M averages (default 10)
	Repeats int   // R: independent sets of draws (default 5)
	// NRef is the number of gradient-descent steps whose unroll stands for
	// N -> ∞ when no closed form of the limit is known (default 2000; tiny
	// models only). GRBMs with a Bernoulli posterior use the closed form.
	NRef int
	Seed uint64

	// Implicit, if set, also measures the implicit gradient at φ⁰_K
	// (objective.ImplicitGradient on the same Ĝ_M and Ĵ) against g*.
	Implicit *objective.Implicit

	// Progress, if set, is called after each (repeat, K).
	Progress func(done, total int)
}

// Fig1Result is Fig1Bias's answer; the JSON keys are those of
// `bism study fig1 -json`. Indices run over K (outer) and N (inner).
type Fig1Result struct {
	K []int `json:"k"`
	N []int `json:"n"`
	// Distance is ||φ⁰_K - φ̂*|| by K (mean over repeats): φ⁰_K after K
	// Adam steps on Ĝ_M, φ̂* the minimiser of Ĝ_M that gradient descent
	// from it reaches (its nearest, for GRBMs). DistanceExact is the
	// distance from φ⁰_K to the nearest minimiser of the noise-averaged
	// inner loss (the exact expectation over q's noise; GRBMs only).
	Distance      []float64 `json:"distance"`
	DistanceExact []float64 `json:"distance_exact,omitempty"`
	// DistanceClosedForm is the distance from the exact posterior's
	// parameters (A = W', a = c) to the minimiser set (GRBMs; 0 otherwise).
	DistanceClosedForm float64 `json:"distance_closed_form"`
	// BiasGD and BiasAdam are ||E[g_{K,N}] - g*|| with gradient-descent
	// unrolling at step Alpha (Eq. 13) and with Algorithm 1's Adam
	// unrolling; E is the mean over repeats, whose standard error is in
	// the *Stderr fields (the norm of the mean difference's standard error).
	BiasGD         [][]float64 `json:"bias_gd"`
	BiasAdam       [][]float64 `json:"bias_adam"`
	BiasGDStderr   [][]float64 `json:"bias_gd_stderr"`
	BiasAdamStderr [][]float64 `json:"bias_adam_stderr"`
	BiasMCStderr   float64     `json:"bias_mc_stderr"` // the largest of the standard errors
	// BiasImplicit is ||E[g_K^implicit] - g*|| by K with its standard error,
	// and ImplicitIters the solver's mean iterations (with Implicit only).
	BiasImplicit       []float64 `json:"bias_implicit,omitempty"`
	BiasImplicitStderr []float64 `json:"bias_implicit_stderr,omitempty"`
	ImplicitIters      float64   `json:"implicit_iters,omitempty"`
	// GStarNorm is ||g*||; GStarVsMarginal is ||g* - g_SM|| / ||g_SM||, the
	// gap between the N -> ∞ gradient and the marginal score-matching one
	// (Theorem 1 makes it 0 when q's family holds the true posterior and the
	// inner minimum is the true posterior).
	GStarNorm       float64 `json:"g_star_norm"`
	GStarVsMarginal float64 `json:"g_star_vs_marginal"`
	Alpha           float64 `json:"alpha"`
	LambdaMax       float64 `json:"lambda_max"`
	MDraws          int     `json:"m_draws"`
	Repeats         int     `json:"repeats"`
	// Reference says how g* was computed: "closed form" or "unroll NRef".
	Reference string `json:"reference"`
	// Filled in by the caller: the run, its iteration, seed and batch.
	Run   string `json:"run,omitempty"`
	Iter  int    `json:"iter,omitempty"`
	Seed  uint64 `json:"seed"`
	Batch int    `json:"batch"`
}

// fig1Problem is one repeat's deterministic problem: Ĝ_M(θ, φ), the mean
// of the inner loss over M fixed draws of q's noise, and Ĵ(θ, φ), the
// outer loss at the fixed perturbed batch with a fixed draw of h.
type fig1Problem struct {
	cfg        *Fig1Config
	p          objective.Perturbed
	x          *ad.Value
	innerSeeds []uint64
	outerSeed  uint64
}

func (pr *fig1Problem) inner(theta, phi nn.Vals) *ad.Value {
	energy := model.EnergyGivenV(pr.cfg.Model, theta, pr.x)
	var sum *ad.Value
	for _, s := range pr.innerSeeds {
		l := objective.InnerLoss(energy, pr.cfg.Posterior, phi, pr.x, nil, tensor.NewRNG(s))
		if sum == nil {
			sum = l
		} else {
			sum = ad.Add(sum, l)
		}
	}
	return ad.Scale(sum, 1/float64(len(pr.innerSeeds)))
}

func (pr *fig1Problem) outer(theta, phi nn.Vals) *ad.Value {
	return pr.cfg.Outer.Loss(objective.BiEnergy(pr.cfg.Model, pr.cfg.Posterior, theta, phi, tensor.NewRNG(pr.outerSeed)), pr.p)
}

// Fig1Bias measures, on a fixed minibatch with the outer noise shared, how
// far Algorithm 1's θ-gradient is from its N -> ∞ limit, as Fig. 1 of the
// paper does. The inner loss is Ĝ_M, the mean over M fixed draws of q's
// noise (a deterministic function of φ, Theorem 2's setting); each of R
// repeats draws its own M and its own h for the outer loss, and the bias is
// the norm of the mean over repeats of g_{K,N} - g*, where
//
//   - g_{K,N} = ∂Ĵ(θ, φ^N(θ))/∂θ after K real Adam steps on Ĝ_M from the
//     run's φ and optimizer state (giving φ⁰) and N unrolled steps, either
//     gradient descent at step α = 1/λ_max (λ_max the largest eigenvalue of
//     Ĝ_M's φ-Hessian at its minimiser, Eq. 13) or Adam continuing from the
//     optimizer's state (Algorithm 1);
//   - g* = lim_{N->∞} of the gradient-descent unroll from φ⁰: the implicit
//     gradient ∂_θĴ - (∂²Ĝ_M/∂θ∂φ)ᵀ [∇²_φφ Ĝ_M]⁺ ∇_φĴ at the minimiser the
//     descent reaches. For a GRBM with a Bernoulli posterior it is exact
//     (see grbmLimit); otherwise NRef descent steps stand for the limit.
//
// θ and φ are left as they were.
func Fig1Bias(cfg Fig1Config) (Fig1Result, error) {
	if err := cfg.check(); err != nil {
		return Fig1Result{}, err
	}
	if cfg.Draws == 0 {
		cfg.Draws = 10
	}
	if cfg.Repeats == 0 {
		cfg.Repeats = 5
	}
	if cfg.NRef == 0 {
		cfg.NRef = 2000
	}
	m, q := cfg.Model, cfg.Posterior
	thParams, qParams := m.Params(), q.Params()
	phiInit := qParams.Clone()
	defer qParams.CopyFrom(phiInit)
	optState := cloneState(cfg.InnerOpt.State())

	seeds := tensor.NewRNG(cfg.Seed).Rand()
	p := cfg.Outer.Perturb(cfg.Batch, tensor.NewRNG(seeds.Uint64())) // shared by every evaluation
	problems := make([]*fig1Problem, cfg.Repeats)
	for r := range problems {
		pr := &fig1Problem{cfg: &cfg, p: p, x: ad.Const(p.X), outerSeed: seeds.Uint64()}
		for i := 0; i < cfg.Draws; i++ {
			pr.innerSeeds = append(pr.innerSeeds, seeds.Uint64())
		}
		problems[r] = pr
	}
	closed := newGRBMLimit(&cfg, p)
	res := Fig1Result{K: cfg.Ks, N: cfg.Ns, MDraws: cfg.Draws, Repeats: cfg.Repeats, Seed: cfg.Seed}
	if closed != nil {
		res.Reference = "closed form"
		res.DistanceClosedForm = closed.exactDistance(closed.truePosterior())
	} else {
		res.Reference = fmt.Sprintf("unroll %d", cfg.NRef)
	}

	// α from the curvature at the minimiser reached from the run's φ.
	qParams.CopyFrom(phiInit)
	lam, err := cfg.lambdaMax(problems[0], closed)
	if err != nil {
		return res, err
	}
	res.LambdaMax, res.Alpha = lam, 1/lam

	nK, nN := len(cfg.Ks), len(cfg.Ns)
	diffs := func() [][][][][]*tensor.Tensor { // [variant][K][N][repeat] of g_{K,N} - g*
		out := make([][][][][]*tensor.Tensor, 2)
		for v := range out {
			out[v] = make([][][][]*tensor.Tensor, nK)
			for k := range out[v] {
				out[v][k] = make([][][]*tensor.Tensor, nN)
			}
		}
		return out
	}()
	res.Distance = make([]float64, nK)
	if closed != nil {
		res.DistanceExact = make([]float64, nK)
	}
	var gStars [][]*tensor.Tensor
	implicitDiffs := make([][][]*tensor.Tensor, nK) // [K][repeat]
	total, done := cfg.Repeats*nK, 0
	nMax := 0
	for _, n := range cfg.Ns {
		nMax = max(nMax, n)
	}
	for _, pr := range problems {
		for ki, k := range cfg.Ks {
			phi0, opt, err := cfg.realSteps(pr, phiInit, optState, k)
			if err != nil {
				return res, err
			}
			var gStar []*tensor.Tensor
			var phiStar *nn.Params
			if closed != nil {
				phiStar = closed.project(phi0, pr)
				gStar = closed.implicitGradient(pr, phiStar)
				res.Distance[ki] += paramDist(phi0, phiStar) / float64(cfg.Repeats)
				res.DistanceExact[ki] += closed.exactDistance(phi0) / float64(cfg.Repeats)
			} else {
				gStar, phiStar = cfg.unrollLimit(pr, phi0, res.Alpha)
				res.Distance[ki] += paramDist(phi0, phiStar) / float64(cfg.Repeats)
			}
			gStars = append(gStars, gStar)
			if cfg.Implicit != nil {
				_, _, g, info := objective.ImplicitGradient(pr.outer, pr.inner, thParams, phi0, *cfg.Implicit)
				implicitDiffs[ki] = append(implicitDiffs[ki], sub(g, gStar))
				res.ImplicitIters += float64(info.Iters) / float64(total)
			}
			for v, variant := range []string{"gd", "adam"} {
				var u optim.Unrolled
				if variant == "gd" {
					u = optim.NewSGD(res.Alpha).Unroll()
				} else {
					u = opt.Unroll()
				}
				gs := cfg.unrolledGradients(pr, phi0, u, nMax)
				for ni, n := range cfg.Ns {
					diffs[v][ki][ni] = append(diffs[v][ki][ni], sub(gs[n], gStar))
				}
			}
			done++
			if cfg.Progress != nil {
				cfg.Progress(done, total)
			}
		}
	}
	qParams.CopyFrom(phiInit)

	for v, dst := range []*[][]float64{&res.BiasGD, &res.BiasAdam} {
		se := &res.BiasGDStderr
		if v == 1 {
			se = &res.BiasAdamStderr
		}
		*dst, *se = make([][]float64, nK), make([][]float64, nK)
		for ki := range cfg.Ks {
			(*dst)[ki], (*se)[ki] = make([]float64, nN), make([]float64, nN)
			for ni := range cfg.Ns {
				b, s := meanNorm(diffs[v][ki][ni])
				(*dst)[ki][ni], (*se)[ki][ni] = b, s
				res.BiasMCStderr = math.Max(res.BiasMCStderr, s)
			}
		}
	}

	if cfg.Implicit != nil {
		res.BiasImplicit, res.BiasImplicitStderr = make([]float64, nK), make([]float64, nK)
		for ki := range cfg.Ks {
			res.BiasImplicit[ki], res.BiasImplicitStderr[ki] = meanNorm(implicitDiffs[ki])
		}
	}

	// g* against the marginal score-matching gradient (Theorem 1).
	mean := meanTensors(gStars)
	res.GStarNorm = norm(mean, nil)
	if fm, ok := m.(model.FreeEnergyModel); ok {
		theta := thParams.Vars()
		gm := ad.Tensors(ad.Grad(cfg.Outer.Loss(objective.MarginalEnergy(fm, theta), p), theta.List()))
		res.GStarVsMarginal = norm(mean, gm) / norm(gm, nil)
	}
	return res, nil
}

func (cfg *Fig1Config) check() error {
	switch {
	case cfg.Model == nil || cfg.Posterior == nil:
		return errors.New("study.Fig1Bias: Model and Posterior are required")
	case cfg.Batch == nil:
		return errors.New("study.Fig1Bias: Batch is required")
	case cfg.InnerOpt == nil || cfg.NewInnerOpt == nil:
		return errors.New("study.Fig1Bias: InnerOpt and NewInnerOpt are required")
	case cfg.Draws < 0 || cfg.Repeats < 0 || cfg.NRef < 0:
		return fmt.Errorf("study.Fig1Bias: negative Draws %d, Repeats %d or NRef %d", cfg.Draws, cfg.Repeats, cfg.NRef)
	case len(cfg.Ks) == 0 || len(cfg.Ns) == 0:
		return errors.New("study.Fig1Bias: empty K or N grid")
	}
	for _, k := range append(append([]int(nil), cfg.Ks...), cfg.Ns...) {
		if k < 0 {
			return fmt.Errorf("study.Fig1Bias: negative K or N %d", k)
		}
	}
	return nil
}

// realSteps takes K Adam steps on Ĝ_M with θ frozen from phiStart and a
// copy of the optimizer state; it returns φ⁰ and the optimizer (for the
// Adam unroll to continue from).
func (cfg *Fig1Config) realSteps(pr *fig1Problem, phiStart *nn.Params, state map[string]*tensor.Tensor, k int) (*nn.Params, optim.Optimizer, error) {
	qParams := cfg.Posterior.Params()
	qParams.CopyFrom(phiStart)
	opt := cfg.NewInnerOpt()
	opt.SetLR(cfg.InnerOpt.LR())
	if err := opt.LoadState(cloneState(state), qParams); err != nil {
		return nil, nil, fmt.Errorf("study.Fig1Bias: copying the optimizer state: %w", err)
	}
	th := cfg.Model.Params().Consts()
	for i := 0; i < k; i++ {
		phi := qParams.Vars()
		opt.Step(qParams, ad.Tensors(ad.Grad(pr.inner(th, phi), phi.List())))
	}
	return qParams.Clone(), opt, nil
}

// unrolledGradients unrolls u for nMax steps on Ĝ_M from φ⁰ (detached
// from θ) and returns ∂Ĵ(θ, φ^n(θ))/∂θ for n = 0..nMax.
func (cfg *Fig1Config) unrolledGradients(pr *fig1Problem, phi0 *nn.Params, u optim.Unrolled, nMax int) [][]*tensor.Tensor {
	theta := cfg.Model.Params().Vars()
	phi := phi0.Vars()
	out := make([][]*tensor.Tensor, 0, nMax+1)
	for n := 0; ; n++ {
		out = append(out, ad.Tensors(ad.Grad(pr.outer(theta, phi), theta.List())))
		if n == nMax {
			return out
		}
		g := ad.Grad(pr.inner(theta, phi), phi.List(), ad.CreateGraph())
		phi = u.Step(phi, g)
	}
}

// unrollLimit stands for N -> ∞ with NRef gradient-descent steps: it
// returns the θ-gradient there and the point reached.
func (cfg *Fig1Config) unrollLimit(pr *fig1Problem, phi0 *nn.Params, alpha float64) ([]*tensor.Tensor, *nn.Params) {
	theta := cfg.Model.Params().Vars()
	phi := phi0.Vars()
	u := optim.NewSGD(alpha).Unroll()
	for n := 0; n < cfg.NRef; n++ {
		g := ad.Grad(pr.inner(theta, phi), phi.List(), ad.CreateGraph())
		phi = u.Step(phi, g)
	}
	g := ad.Tensors(ad.Grad(pr.outer(theta, phi), theta.List()))
	end := phi0.Clone()
	for i, t := range end.Tensors() {
		t.CopyFrom(phi.List()[i].Tensor())
	}
	return g, end
}

// lambdaMax estimates the largest eigenvalue of Ĝ_M's φ-Hessian at a
// minimiser (the closed form's projection of the posterior's current φ, or
// where NRef Adam steps from it end), by power iteration on Hessian-vector
// products.
func (cfg *Fig1Config) lambdaMax(pr *fig1Problem, closed *grbmLimit) (float64, error) {
	qParams := cfg.Posterior.Params()
	at := qParams.Clone()
	th := cfg.Model.Params().Consts()
	if closed != nil {
		at = closed.project(at, pr)
	} else {
		// The minimiser, approximately: NRef Adam steps (cheap, no graph).
		opt := optim.NewAdam(cfg.InnerOpt.LR(), 0.9, 0.999)
		for i := 0; i < cfg.NRef; i++ {
			phi := at.Vars()
			opt.Step(at, ad.Tensors(ad.Grad(pr.inner(th, phi), phi.List())))
		}
	}
	lam := powerCurvature(at, func(phi nn.Vals) *ad.Value { return pr.inner(th, phi) }, cfg.Seed^0x5eed)
	if !(lam > 0) || math.IsInf(lam, 0) {
		return 0, fmt.Errorf("study.Fig1Bias: the inner loss's curvature at its minimiser is %v", lam)
	}
	return lam, nil
}

func sub(a, b []*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(a))
	for i := range a {
		out[i] = tensor.Sub(a[i].As(tensor.Float64), b[i].As(tensor.Float64))
	}
	return out
}

func meanTensors(ts [][]*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(ts[0]))
	for i := range out {
		acc := tensor.ZerosLike(ts[0][i].As(tensor.Float64))
		for _, t := range ts {
			tensor.AddInPlace(acc, t[i].As(tensor.Float64))
		}
		out[i] = tensor.Scale(acc, 1/float64(len(ts)))
	}
	return out
}

// meanNorm returns the norm of the mean of xs and the norm of the mean's
// standard error (over all entries).
func meanNorm(xs [][]*tensor.Tensor) (float64, float64) {
	mean := meanTensors(xs)
	r := float64(len(xs))
	if r < 2 {
		return norm(mean, nil), 0
	}
	ss := 0.0
	for _, x := range xs {
		d := norm(x, mean)
		ss += d * d
	}
	return norm(mean, nil), math.Sqrt(ss / (r - 1) / r)
}

func paramDist(a, b *nn.Params) float64 { return norm(a.Tensors(), b.Tensors()) }
