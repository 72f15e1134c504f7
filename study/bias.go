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

// BiasConfig configures GradientBias, the frozen-noise gradient study.
type BiasConfig struct {
	Model     model.EBLVM
	Posterior model.Posterior
	Outer     objective.Outer
	Batch     *tensor.Tensor // the fixed minibatch v [B,D]

	// InnerOpt is φ's optimizer in its current state. It is never modified:
	// every evaluation starts from a copy made by NewInnerOpt (same kind and
	// hyper-parameters), SetLR(InnerOpt.LR()) and LoadState(InnerOpt.State()).
	InnerOpt    optim.Optimizer
	NewInnerOpt func() optim.Optimizer
	// Unroll optionally overrides the unrolled optimizer of the evaluations,
	// as objective.BiLevel.Unroll does (e.g. SGD unrolling as in Eq. 13).
	Unroll func() optim.Unrolled

	Ks, Ns []int // the grid of (K, N) to evaluate
	KStar  int   // kept inner steps approximating φ* (default 1000)
	NRef   int   // unrolled gradient-descent steps of the reference gradient (default 100)
	// RefLR is the step of the reference's unrolled gradient descent; 0
	// selects 1/λ, λ the largest curvature |eig(∂²Ĝ/∂φ²)| at φ* from power
	// iteration on Hessian-vector products.
	RefLR float64
	Seed  uint64

	// Progress, if set, is called after the reference and after each (K, N).
	Progress func(done, total int)

	// streamNoise draws all noise from one generator per evaluation, exactly
	// as objective.BiLevel.Step does (tests check the two agree).
	streamNoise bool
}

// BiasPoint is the gradient bias of Algorithm 1 for one (K, N).
type BiasPoint struct {
	K         int     `json:"k"`
	N         int     `json:"n"`
	Bias      float64 `json:"bias"`       // ||g_{K,N} - g_ref||, over all of θ
	RelBias   float64 `json:"rel_bias"`   // Bias / ||g_ref||
	PhiDist   float64 `json:"phi_dist"`   // ||φ^0 - φ*||, φ^0 after K inner steps, over all of φ
	Loss      float64 `json:"loss"`       // outer loss J_Bi(θ, φ^N(θ))
	InnerLoss float64 `json:"inner_loss"` // inner loss at φ^0
}

// powerIters is the number of power iterations that estimate the curvature
// setting the reference's step.
const powerIters = 30

// GradientBias measures Algorithm 1's θ-gradient against a reference with
// all of q's sampling noise frozen. This is not the paper's Fig. 1 (see
// Fig1Bias, which averages q's noise and takes the exact N -> ∞ limit): with
// the noise frozen the inner loss's minimiser is set by the noise, and the
// reference unrolls a different map. It answers a narrower question, how
// Algorithm 1's gradient varies with K and N when every draw is the same.
// All noise is fixed: the same
// perturbation of the batch, the same inner-loss noise at every inner step
// (so the minibatch inner loss Ĝ(θ,φ) is one deterministic function of φ, as
// Theorem 2 assumes) and the same outer-loss noise in every evaluation (so
// Ĵ_Bi(θ,φ) is one deterministic function too).
//
// For each K in Ks and N in Ns it computes, from the same starting φ and
// optimizer state, the θ-gradient g_{K,N} = ∂Ĵ_Bi(θ, φ^N(θ))/∂θ of
// Algorithm 1 (objective.BiLevel.Step: K kept inner steps giving φ^0, then N
// differentiable unrolled steps) and compares it with the reference
//
//	g_ref ≈ ∂Ĵ_Bi(θ, φ*(θ))/∂θ = ∂_θ Ĵ_Bi - ∂_φ Ĵ_Bi (∂²Ĝ/∂φ²)⁻¹ ∂²Ĝ/∂φ∂θ:
//
// φ* = argmin_φ Ĝ(θ,φ) is approximated by φ^0 after KStar inner steps, and
// the implicit derivative by NRef unrolled steps of plain gradient descent
// (step RefLR) from φ*, whose Jacobian ∂φ^n/∂θ is the truncated Neumann
// series -RefLR Σ_{i<n} (I - RefLR ∂²Ĝ/∂φ²)^i ∂²Ĝ/∂φ∂θ. (Unrolled Adam is
// not used for the reference: at a converged φ its second moments vanish and
// its Jacobian grows without bound in n.)
//
// It also reports ||φ^0 - φ*||, the quantity on the right of Theorem 2.
// Points come in the order Ks x Ns (N varying fastest). θ and φ are left as
// they were.
func GradientBias(cfg BiasConfig) ([]BiasPoint, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.NRef == 0 {
		cfg.NRef = 100
	}
	if cfg.KStar == 0 {
		cfg.KStar = 1000
	}
	qParams := cfg.Posterior.Params()
	phiInit := qParams.Clone()
	defer qParams.CopyFrom(phiInit)
	optState := cloneState(cfg.InnerOpt.State())

	total := 1 + len(cfg.Ks)*len(cfg.Ns)
	done := 0
	progress := func() {
		done++
		if cfg.Progress != nil {
			cfg.Progress(done, total)
		}
	}

	// φ* after KStar kept steps, then the reference from there.
	star, err := cfg.evaluate(phiInit, optState, cfg.KStar, 0, nil)
	if err != nil {
		return nil, err
	}
	phiStar := qParams.Clone()
	lr := cfg.RefLR
	if lr == 0 {
		lam := cfg.maxCurvature(phiStar)
		if lam == 0 || math.IsNaN(lam) || math.IsInf(lam, 0) {
			return nil, fmt.Errorf("study.GradientBias: curvature of the inner loss at φ* is %v; set RefLR", lam)
		}
		lr = 1 / lam
	}
	sgd := func(optim.Optimizer) optim.Unrolled { return optim.NewSGD(lr).Unroll() }
	ref, err := cfg.evaluate(phiStar, nil, 0, cfg.NRef, sgd)
	if err != nil {
		return nil, err
	}
	progress()

	refNorm := norm(ref.grads, nil)
	out := make([]BiasPoint, 0, total-1)
	for _, k := range cfg.Ks {
		for _, n := range cfg.Ns {
			e, err := cfg.evaluate(phiInit, optState, k, n, nil)
			if err != nil {
				return nil, err
			}
			b := norm(e.grads, ref.grads)
			out = append(out, BiasPoint{
				K: k, N: n, Bias: b, RelBias: b / refNorm,
				PhiDist: norm(e.phi0, star.phi0), Loss: e.loss, InnerLoss: e.innerLoss,
			})
			progress()
		}
	}
	return out, nil
}

func (cfg *BiasConfig) check() error {
	switch {
	case cfg.Model == nil || cfg.Posterior == nil:
		return errors.New("study.GradientBias: Model and Posterior are required")
	case cfg.Batch == nil:
		return errors.New("study.GradientBias: Batch is required")
	case cfg.InnerOpt == nil || cfg.NewInnerOpt == nil:
		return errors.New("study.GradientBias: InnerOpt and NewInnerOpt are required")
	case cfg.NRef < 0 || cfg.KStar < 0 || cfg.RefLR < 0:
		return fmt.Errorf("study.GradientBias: negative NRef %d, KStar %d or RefLR %v", cfg.NRef, cfg.KStar, cfg.RefLR)
	}
	for _, k := range cfg.Ks {
		if k < 0 {
			return fmt.Errorf("study.GradientBias: negative K %d", k)
		}
	}
	for _, n := range cfg.Ns {
		if n < 0 {
			return fmt.Errorf("study.GradientBias: negative N %d", n)
		}
	}
	return nil
}

// noise supplies the generators of one evaluation.
type noise struct {
	perturb *tensor.RNG
	inner   func() *tensor.RNG // called once per inner-loss evaluation
	outer   *tensor.RNG
}

func (cfg *BiasConfig) noise() noise {
	if cfg.streamNoise {
		r := tensor.NewRNG(cfg.Seed)
		return noise{perturb: r, inner: func() *tensor.RNG { return r }, outer: r}
	}
	s := tensor.NewRNG(cfg.Seed).Rand()
	sp, si, so := s.Uint64(), s.Uint64(), s.Uint64()
	return noise{
		perturb: tensor.NewRNG(sp),
		inner:   func() *tensor.RNG { return tensor.NewRNG(si) },
		outer:   tensor.NewRNG(so),
	}
}

// perturb returns the objective's input and MDSM's inner-loss weights.
func (cfg *BiasConfig) perturb(nz noise) (objective.Perturbed, *tensor.Tensor) {
	p := cfg.Outer.Perturb(cfg.Batch, nz.perturb)
	var weights *tensor.Tensor
	if cfg.Outer.Kind == objective.MDSM {
		weights = tensor.Apply(tensor.FRecip, p.Sigmas)
	}
	return p, weights
}

type evaluation struct {
	grads     []*tensor.Tensor // θ-gradient
	phi0      []*tensor.Tensor // φ after the K kept steps
	loss      float64
	innerLoss float64
}

// evaluate runs lines 3-9 of Algorithm 1 exactly as objective.BiLevel.Step
// does, with K kept and N unrolled steps, from φ = phiStart and a copy of the
// optimizer state (nil: InnerOpt's own state), drawing noise as cfg says. It
// leaves φ^0 in the posterior's parameters. unroll, if non-nil, overrides the
// unrolled optimizer.
func (cfg *BiasConfig) evaluate(phiStart *nn.Params, optState map[string]*tensor.Tensor, k, n int, unroll func(optim.Optimizer) optim.Unrolled) (evaluation, error) {
	m, q := cfg.Model, cfg.Posterior
	thParams, qParams := m.Params(), q.Params()
	qParams.CopyFrom(phiStart)
	opt := cfg.NewInnerOpt()
	opt.SetLR(cfg.InnerOpt.LR())
	if optState == nil {
		optState = cfg.InnerOpt.State()
	}
	if err := opt.LoadState(cloneState(optState), qParams); err != nil {
		return evaluation{}, fmt.Errorf("study.GradientBias: copying the optimizer state: %w", err)
	}
	nz := cfg.noise()
	p, weights := cfg.perturb(nz)

	// K kept steps of φ with θ frozen.
	thConst := thParams.Consts()
	x := ad.Const(p.X)
	energyK := model.EnergyGivenV(m, thConst, x)
	for i := 0; i < k; i++ {
		phi := qParams.Vars()
		loss := objective.InnerLoss(energyK, q, phi, x, weights, nz.inner())
		opt.Step(qParams, ad.Tensors(ad.Grad(loss, phi.List())))
	}
	phi0 := qParams.Clone().Tensors()

	// N unrolled steps from φ^0 (detached from θ), keeping the graph to θ.
	theta := thParams.Vars()
	phi := qParams.Consts()
	var innerAt0 float64
	var u optim.Unrolled
	if n > 0 {
		switch {
		case unroll != nil:
			u = unroll(opt)
		case cfg.Unroll != nil:
			u = cfg.Unroll()
		default:
			u = opt.Unroll()
		}
	}
	var energyN model.HiddenEnergy
	if n > 0 {
		energyN = model.EnergyGivenV(m, theta, x)
	}
	for i := 0; i < n; i++ {
		phiVars := phi
		if i == 0 {
			phiVars = qParams.Vars()
		}
		loss := objective.InnerLoss(energyN, q, phiVars, x, weights, nz.inner())
		if i == 0 {
			innerAt0 = loss.Item()
		}
		g := ad.Grad(loss, phiVars.List(), ad.CreateGraph())
		phi = u.Step(phiVars, g)
	}
	if n == 0 {
		// On constants (nothing of θ is recorded); the Fisher form still differentiates in h.
		innerAt0 = objective.InnerLoss(energyK, q, qParams.Consts(), x, weights, nz.inner()).Item()
	}

	outer := cfg.Outer.Loss(objective.BiEnergy(m, q, theta, phi, nz.outer), p)
	grads := ad.Tensors(ad.Grad(outer, theta.List()))
	return evaluation{grads: grads, phi0: phi0, loss: outer.Item(), innerLoss: innerAt0}, nil
}

// maxCurvature estimates the largest |eigenvalue| of ∂²Ĝ/∂φ² at phiStar by
// power iteration on Hessian-vector products (θ constant, fixed noise).
func (cfg *BiasConfig) maxCurvature(phiStar *nn.Params) float64 {
	m, q := cfg.Model, cfg.Posterior
	qParams := q.Params()
	qParams.CopyFrom(phiStar)
	nz := cfg.noise()
	p, weights := cfg.perturb(nz)
	x := ad.Const(p.X)
	energy := model.EnergyGivenV(m, m.Params().Consts(), x)
	return powerCurvature(qParams, func(phi nn.Vals) *ad.Value {
		return objective.InnerLoss(energy, q, phi, x, weights, nz.inner())
	}, cfg.Seed^0x5eed)
}

// powerCurvature estimates the largest |eigenvalue| of loss's φ-Hessian at
// `at` by powerIters power iterations on Hessian-vector products, from a
// Gaussian direction drawn from seed; loss is rebuilt at each iteration.
func powerCurvature(at *nn.Params, loss func(phi nn.Vals) *ad.Value, seed uint64) float64 {
	rng := tensor.NewRNG(seed)
	vec := make([]*tensor.Tensor, at.Len())
	for i, t := range at.Tensors() {
		vec[i] = rng.Normal(t.DType(), 0, 1, t.Shape()...)
	}
	lam := 0.0
	for it := 0; it < powerIters; it++ {
		s := norm(vec, nil)
		if s == 0 {
			return 0
		}
		u := make([]*ad.Value, len(vec))
		for i := range vec {
			u[i] = ad.Const(tensor.Scale(vec[i], 1/s))
		}
		phi := at.Vars()
		g := ad.Grad(loss(phi), phi.List(), ad.CreateGraph())
		vec = ad.Tensors(ad.Grad(ad.Inner(g, u), phi.List())) // H u
		lam = norm(vec, nil)
	}
	return lam
}

func cloneState(s map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	c := make(map[string]*tensor.Tensor, len(s))
	for k, t := range s {
		c[k] = t.Clone()
	}
	return c
}

// norm returns the Euclidean norm of a - b over all tensors (b may be nil).
func norm(a, b []*tensor.Tensor) float64 {
	s := 0.0
	for i, t := range a {
		for j := 0; j < t.Size(); j++ {
			d := t.Flat(j)
			if b != nil {
				d -= b[i].Flat(j)
			}
			s += d * d
		}
	}
	return math.Sqrt(s)
}
