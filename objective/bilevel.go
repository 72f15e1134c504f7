package objective

import (
	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// MarginalEnergy is the EnergyFn of a model with a tractable free energy:
// score matching on the marginal, the baselines of the paper.
func MarginalEnergy(m model.FreeEnergyModel, theta nn.Vals) EnergyFn {
	return func(v *ad.Value) *ad.Value { return m.FreeEnergy(theta, v) }
}

// BiEnergy is the EnergyFn of bi-level score matching (Eq. 8): for each call
// it draws h ~ q(h|v;φ) reparameterised in φ but independent of v (q's input
// is detached), and returns E(v,h;θ) + log q(h|v;φ), whose negative
// v-gradient estimates the marginal score ∇_v log p(v;θ).
func BiEnergy(m model.EBLVM, q model.Posterior, theta, phi nn.Vals, rng *tensor.RNG) EnergyFn {
	return func(v *ad.Value) *ad.Value {
		h := q.Sample(phi, ad.Detach(v), rng)
		return ad.Add(m.Energy(theta, v, h), q.LogProb(phi, v, h))
	}
}

// BiEnergyMean is BiEnergy averaged over samples independent draws
// h_1..h_M ~ q(h|v;φ): (1/M) Σ_m E(v,h_m;θ) + log q(h_m|v;φ), so its score is
// the mean of M single-sample bi-level scores. It is not the paper's
// estimator (Eq. 8 takes the expectation over q outside the objective F):
// inside a squared loss one sample adds the score estimate's variance over
// h to the objective, M samples add 1/M of it. Both agree when q is the true
// posterior, where the single-sample score does not depend on h. samples <= 1
// is BiEnergy itself.
func BiEnergyMean(m model.EBLVM, q model.Posterior, theta, phi nn.Vals, samples int, rng *tensor.RNG) EnergyFn {
	if samples <= 1 {
		return BiEnergy(m, q, theta, phi, rng)
	}
	return func(v *ad.Value) *ad.Value {
		energy := model.EnergyGivenV(m, theta, v) // the v-only work once for all draws
		vd := ad.Detach(v)
		var sum *ad.Value
		for i := 0; i < samples; i++ {
			h := q.Sample(phi, vd, rng)
			e := ad.Add(energy.At(h), q.LogProb(phi, v, h))
			if sum == nil {
				sum = e
			} else {
				sum = ad.Add(sum, e)
			}
		}
		return ad.Scale(sum, 1/float64(samples))
	}
}

// InnerLoss is the lower-level objective G(θ,φ) of Eq. 9 at inputs v,
// averaged over the batch; energy is h -> E(v,h;θ) at those inputs (see
// model.EnergyGivenV). For discrete h (q.Continuous() false) it is the KL
// form of Eq. 10, E(v,h) + log q(h|v) at a relaxed sample; for continuous h
// it is the Fisher form of Eq. 11, 1/2|∇_h(-E(v,h) - log q(h|v))|² at a
// reparameterised sample. weights, if non-nil, scales each example's loss
// (BiMDSM divides by σ_i).
func InnerLoss(energy model.HiddenEnergy, q model.Posterior, phi nn.Vals, v *ad.Value, weights *tensor.Tensor, rng *tensor.RNG) *ad.Value {
	var per *ad.Value
	if q.Continuous() {
		per = PosteriorFisher(energy, q, phi, v, q.Sample(phi, v, rng))
	} else {
		h, logq := model.SampleWithLogProb(q, phi, v, rng)
		per = ad.Add(energy.At(h), logq)
	}
	if weights != nil {
		per = ad.Mul(per, ad.Const(weights.Reshape(-1)))
	}
	return ad.Mean(per, false)
}

// PosteriorFisher returns, per example, 1/2|∇_h log p̃(v,h) - ∇_h log q(h|v)|²
// at the given h: the integrand of D_F(q(h|v) || p(h|v)) (Eq. 11). h keeps
// its dependence on φ, so the result can be differentiated in φ and θ.
func PosteriorFisher(energy model.HiddenEnergy, q model.Posterior, phi nn.Vals, v, h *ad.Value) *ad.Value {
	if !h.RequiresGrad() {
		// Only the value is wanted (evaluation): differentiate at a leaf.
		h = ad.Var(h.Tensor())
	}
	f := ad.SumAll(ad.Add(energy.At(h), q.LogProb(phi, v, h)))
	gh := ad.Grad(f, []*ad.Value{h}, ad.CreateGraph())[0]
	return halfSqNorm(gh)
}

// BiLevel is Algorithm 1 of the paper: bi-level score matching by
// alternating stochastic gradient steps.
type BiLevel struct {
	Model     model.EBLVM
	Posterior model.Posterior
	Outer     Outer
	K         int                   // inner steps on each minibatch, kept
	N         int                   // unrolled differentiable steps, discarded
	InnerOpt  optim.Optimizer       // φ's optimizer; unrolled steps continue from its state
	Unroll    func() optim.Unrolled // optional override of InnerOpt.Unroll (e.g. SGD unrolling)
	// Implicit, when set, replaces the N unrolled steps by the implicit
	// gradient at φ⁰ (N and Unroll are not used).
	Implicit *Implicit
	// Shard, in data-parallel training, is this process's rows of the
	// global minibatch: φ's gradients are averaged over the global batch at
	// every inner step, real and unrolled, so that the unroll is the one
	// the global batch gives (nil: one process). Not with Implicit.
	Shard *dist.Shard

	solveScratch implicitScratch // the implicit gradient's vectors, kept between steps
}

// StepResult reports one application of Algorithm 1.
type StepResult struct {
	Loss      float64          // outer loss J_Bi(θ, φ^N(θ))
	InnerLoss float64          // inner loss after the K real steps (at φ^0)
	Grads     []*tensor.Tensor // ∂J_Bi(θ, φ^N(θ))/∂θ in the order of Model.Params()
	Implicit  *ImplicitInfo    // the implicit solve's report, until the next Step (nil when unrolling)
}

// Step runs lines 3-11 of Algorithm 1 on one minibatch v: K updates of φ on
// the inner loss (θ frozen, fresh noise each step, kept); φ^0 = φ detached;
// N unrolled differentiable updates giving φ^N(θ); the outer loss at
// φ^N(θ) and its gradient with respect to θ (Eq. 14). φ keeps the K real
// updates; θ is not modified (the caller steps θ's optimizer).
func (b *BiLevel) Step(v *tensor.Tensor, rng *tensor.RNG) StepResult {
	return b.StepPerturbed(b.Outer.Perturb(v, rng), rng)
}

// StepPerturbed is Step on an already perturbed minibatch (the outer
// objective's noise drawn by the caller, e.g. to hold it fixed while q's
// noise varies); rng supplies everything else.
func (b *BiLevel) StepPerturbed(p Perturbed, rng *tensor.RNG) StepResult {
	var weights *tensor.Tensor
	if b.Outer.Kind == MDSM {
		weights = tensor.Apply(tensor.FRecip, p.Sigmas)
	}
	thParams, qParams := b.Model.Params(), b.Posterior.Params()

	// (1) K real steps of φ with θ frozen.
	thConst := thParams.Consts()
	x := ad.Const(p.X)
	energyK := model.EnergyGivenV(b.Model, thConst, x)
	for k := 0; k < b.K; k++ {
		// An inner step leaves nothing behind but φ, updated in place: its
		// tensors serve the next step (tensor.ReleaseSince).
		mark := p.X.Arena().Mark()
		phi := qParams.Vars()
		loss := InnerLoss(energyK, b.Posterior, phi, x, weights, rng)
		b.InnerOpt.Step(qParams, b.Shard.MeanTensors(ad.Tensors(ad.Grad(loss, phi.List()))))
		tensor.ReleaseSince(mark)
	}

	if b.Implicit != nil {
		if b.Shard != nil {
			panic("objective.BiLevel: the implicit gradient is not data-parallel")
		}
		loss, inner, grads, info := b.implicitGrad(p, x, weights, rng)
		b.solveScratch.info = info
		return StepResult{Loss: loss, InnerLoss: inner, Grads: grads, Implicit: &b.solveScratch.info}
	}

	// (2) φ^0 detached from θ; (3) N unrolled steps keeping the graph to θ.
	theta := thParams.Vars()
	phi := qParams.Consts()
	var innerAt0 float64
	var u optim.Unrolled
	if b.N > 0 {
		if b.Unroll != nil {
			u = b.Unroll()
		} else {
			u = b.InnerOpt.Unroll()
		}
	}
	var energyN model.HiddenEnergy
	if b.N > 0 {
		energyN = model.EnergyGivenV(b.Model, theta, x)
	}
	for n := 0; n < b.N; n++ {
		phiVars := phi
		if n == 0 {
			// At φ^0 nothing depends on θ yet; differentiate with respect to leaves.
			phiVars = qParams.Vars()
		}
		loss := InnerLoss(energyN, b.Posterior, phiVars, x, weights, rng)
		if n == 0 {
			innerAt0 = loss.Item()
		}
		// Across processes the mean of the gradients is itself recorded: its
		// backward pass sums the cotangents (ad.AllReduce).
		g := b.Shard.Mean(ad.Grad(loss, phiVars.List(), ad.CreateGraph()))
		phi = u.Step(phiVars, g)
	}
	if b.N == 0 {
		// On constants (nothing of θ is recorded); the Fisher form still differentiates in h.
		innerAt0 = InnerLoss(energyK, b.Posterior, qParams.Consts(), x, weights, rng).Item()
	}

	// (4) outer loss at φ^N(θ) and its θ-gradient.
	outer := b.Outer.Loss(BiEnergy(b.Model, b.Posterior, theta, phi, rng), p)
	if b.Shard == nil {
		grads := ad.Grad(outer, theta.List())
		return StepResult{Loss: outer.Item(), InnerLoss: innerAt0, Grads: ad.Tensors(grads)}
	}
	// Across processes the unroll's backward sums the cotangents of every
	// process's copy of φ^N unweighted, so each process differentiates its
	// share w_r J_r of the global loss and returns the gradient per unit
	// weight: Σ_r w_r (gradient of rank r) is then θ's gradient of the
	// global batch's loss, even for shards of unequal size.
	w := b.Shard.Weight()
	grads := ad.Tensors(ad.Grad(ad.Scale(outer, w), theta.List()))
	for i, g := range grads {
		grads[i] = tensor.Scale(g, 1/w)
	}
	return StepResult{Loss: outer.Item(), InnerLoss: innerAt0, Grads: grads}
}

// MarginalStep computes a score-matching loss on the model's marginal and
// its θ-gradient: the SM/SSM/DSM/MDSM baselines.
func MarginalStep(m model.FreeEnergyModel, o Outer, v *tensor.Tensor, rng *tensor.RNG) (loss float64, grads []*tensor.Tensor) {
	theta := m.Params().Vars()
	l := o.Loss(MarginalEnergy(m, theta), o.Perturb(v, rng))
	return l.Item(), ad.Tensors(ad.Grad(l, theta.List()))
}
