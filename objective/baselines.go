package objective

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// This file holds the GRBM baselines of Sec. 5.1 of the paper that are not
// score matching: contrastive divergence (CD-k, Hinton 2002), persistent
// contrastive divergence (PCD-k, Tieleman 2008), noise-contrastive estimation
// (NCE, Gutmann & Hyvärinen 2010/2012) and variational noise-contrastive
// estimation (VNCE, Rhodes & Gutmann 2019). Each Step returns the loss value
// and the θ-gradients in the order of m.Params().Names(), like MarginalStep;
// the caller steps θ's optimizer.

// LogZParamName is the name of the learnable log-normaliser c of NCE and
// VNCE in their own parameter sets.
const LogZParamName = "log_z"

// DefaultPCDChains is the number of persistent chains PCD keeps when
// PCD.NumChains is zero (the reference code's 100).
const DefaultPCDChains = 100

// ---- contrastive divergence ----

// FreeEnergyGap is the contrastive-divergence surrogate loss
//
//	mean_b F(data_b) - mean_s F(samples_s)
//
// whose θ-gradient is the CD/PCD estimate of the negative log-likelihood
// gradient (the samples are constants: gradients do not flow through the
// chains). data and samples may have different numbers of rows.
func FreeEnergyGap(m model.FreeEnergyModel, theta nn.Vals, data, samples *tensor.Tensor) *ad.Value {
	pos := ad.Mean(m.FreeEnergy(theta, ad.Const(data)), false)
	neg := ad.Mean(m.FreeEnergy(theta, ad.Const(samples)), false)
	return ad.Sub(pos, neg)
}

// GibbsChains runs k block-Gibbs sweeps v -> h -> v of the GRBM from v and
// returns the final visible states (sampled, not their means). k = 0 returns
// v itself.
func GibbsChains(m *model.GRBM, v *tensor.Tensor, k int, rng *tensor.RNG) *tensor.Tensor {
	if k < 0 {
		panic(fmt.Sprintf("objective.GibbsChains: k = %d < 0", k))
	}
	for i := 0; i < k; i++ {
		_, v = m.Gibbs(v, rng)
	}
	return v
}

// CD is contrastive divergence, CD-k (Hinton 2002, "Training products of
// experts by minimizing contrastive divergence"): the chains start at the
// data minibatch and run K Gibbs sweeps; the loss is FreeEnergyGap between
// the data and the (detached) chain states. K = 0 gives a zero loss and
// gradient.
type CD struct{ K int }

// Step draws the negative samples (using rng for nothing else) and returns
// the loss mean F(v) - mean F(v_model) and its θ-gradient in the order of
// m.Params().Names(). θ is not modified.
func (c CD) Step(m *model.GRBM, v *tensor.Tensor, rng *tensor.RNG) (float64, []*tensor.Tensor) {
	if c.K < 0 {
		panic(fmt.Sprintf("objective.CD: K = %d < 0", c.K))
	}
	theta := m.Params().Vars()
	// FreeEnergyGap, with the chains' first sweep started from the logits
	// that the data's free energy computes (the values Gibbs from v gives).
	f, logits := m.FreeEnergyAndLogits(theta, ad.Const(v))
	neg := v // K = 0: the chains stay at the data
	if c.K > 0 {
		_, neg = m.GibbsFromLogits(logits.Tensor(), rng)
		neg = GibbsChains(m, neg, c.K-1, rng)
	}
	l := ad.Sub(ad.Mean(f, false), ad.Mean(m.FreeEnergy(theta, ad.Const(neg)), false))
	return l.Item(), ad.Tensors(ad.Grad(l, theta.List()))
}

// PCD is persistent contrastive divergence, PCD-k (Tieleman 2008, "Training
// restricted Boltzmann machines using approximations to the likelihood
// gradient"): NumChains persistent chains (DefaultPCDChains when zero) are
// kept across calls and advanced K Gibbs sweeps per call; the loss is
// FreeEnergyGap between the minibatch and the chain states.
//
// The chains are initialised from the data of the first minibatch Step sees
// (chain i starts at row i mod B of that batch), not from N(0, I). Use
// Chains and SetChains to checkpoint and restore them; SetChains(nil)
// re-initialises from the next minibatch.
type PCD struct {
	K         int
	NumChains int
	chains    *tensor.Tensor
}

// NewPCD returns PCD-k with DefaultPCDChains chains.
func NewPCD(k int) *PCD { return &PCD{K: k, NumChains: DefaultPCDChains} }

// Chains returns the current chain states [NumChains, D], or nil before the
// first Step. Each Step updates this tensor in place (so that a step
// allocates nothing for them): Clone it to keep the states of one step.
// The caller must not modify it.
func (p *PCD) Chains() *tensor.Tensor { return p.chains }

// SetChains replaces the chain states with a copy of c ([N, D]; N becomes
// NumChains). nil clears them.
func (p *PCD) SetChains(c *tensor.Tensor) {
	if c == nil {
		p.chains = nil
		return
	}
	if c.Rank() != 2 {
		panic(fmt.Sprintf("objective.PCD.SetChains: chains of shape %v, want [N D]", c.Shape()))
	}
	// A copy on the heap: c may be a tensor of a step (the chains outlive it).
	p.chains = tensor.New(c.DType(), c.Shape()...)
	p.chains.CopyFrom(c)
	p.NumChains = c.Dim(0)
}

// Step advances the persistent chains K sweeps and returns the loss
// mean F(v) - mean F(chains) and its θ-gradient in the order of
// m.Params().Names(). θ is not modified.
func (p *PCD) Step(m *model.GRBM, v *tensor.Tensor, rng *tensor.RNG) (float64, []*tensor.Tensor) {
	if p.chains == nil {
		n := p.NumChains
		if n <= 0 {
			n = DefaultPCDChains
		}
		p.NumChains = n
		p.chains = tensor.Keep(tensor.TileRows(v, n))
	}
	if s := p.chains.Shape(); s[1] != m.D || p.chains.DType() != v.DType() {
		panic(fmt.Sprintf("objective.PCD.Step: chains %v%v do not match data %v%v", p.chains.DType(), s, v.DType(), v.Shape()))
	}
	// The chains outlive the step (see tensor.Arena): the new states are
	// copied into their storage, which belongs to v's arena so that the
	// step computes on them there.
	p.chains.SetArena(v.Arena())
	p.chains.CopyFrom(GibbsChains(m, p.chains, p.K, rng))
	theta := m.Params().Vars()
	l := FreeEnergyGap(m, theta, v, p.chains)
	return l.Item(), ad.Tensors(ad.Grad(l, theta.List()))
}

// ---- noise-contrastive estimation ----

// stdNormalLogProb returns log N(x; 0, I) per row of x [B,D] as a constant.
func stdNormalLogProb(x *tensor.Tensor) *ad.Value {
	d := float64(x.Dim(1))
	sq := tensor.Sum(tensor.Square(x), false, 1)
	return ad.Const(tensor.Affine(sq, -0.5, -0.5*d*math.Log(2*math.Pi)))
}

func newLogZParams(dt tensor.DType) *nn.Params {
	p := nn.NewParams()
	p.Add(LogZParamName, tensor.New(dt, 1))
	return p
}

func nuOr1(nu int) int {
	if nu <= 0 {
		return 1
	}
	return nu
}

// NCELoss is the NCE loss of Gutmann & Hyvärinen ("Noise-contrastive
// estimation of unnormalized statistical models", JMLR 2012) with noise
// N(0, I) and ν = len(noise)/len(x) noise samples per data sample (nu must
// equal that ratio):
//
//	log p_m(u) = -F(u) - c,  G(u) = log p_m(u) - log p_n(u) - log ν
//	loss = mean_x softplus(-G(x)) + ν mean_y softplus(G(y))
//
// i.e. -mean log σ(G(x)) - ν mean log(1 - σ(G(y))) in a form that cannot
// overflow. logZ is c, shape [1]. For ν = 1 the log ν term vanishes.
func NCELoss(m model.FreeEnergyModel, theta nn.Vals, logZ *ad.Value, x, noise *tensor.Tensor, nu int) *ad.Value {
	nu = nuOr1(nu)
	if noise.Dim(0) != nu*x.Dim(0) {
		panic(fmt.Sprintf("objective.NCELoss: %d noise rows for %d data rows and nu = %d", noise.Dim(0), x.Dim(0), nu))
	}
	logNu := math.Log(float64(nu))
	g := func(u *tensor.Tensor) *ad.Value {
		logPm := ad.Sub(ad.Neg(m.FreeEnergy(theta, ad.Const(u))), logZ)
		return ad.AddScalar(ad.Sub(logPm, stdNormalLogProb(u)), -logNu)
	}
	data := ad.Mean(ad.Softplus(ad.Neg(g(x))), false)
	nois := ad.Scale(ad.Mean(ad.Softplus(g(noise)), false), float64(nu))
	return ad.Add(data, nois)
}

// NCE is noise-contrastive estimation for a model with a free energy, with
// noise N(0, I) in D dimensions, Nu noise samples per data sample (1 when
// zero; the paper uses ν = 1) drawn fresh on every call, and a learnable
// log-normaliser c ("log_z", shape [1], initialised to 0).
//
// c is not one of the model's parameters: it lives in the NCE's own Params,
// and Step returns its gradient separately, so the trainer optimises it with
// an optimizer of its own (e.g. a second Adam with θ's settings) and
// checkpoints it alongside θ.
type NCE struct {
	Nu     int
	params *nn.Params
}

// NewNCE returns NCE with ν = 1 and c = 0 of dtype dt.
func NewNCE(dt tensor.DType) *NCE { return &NCE{Nu: 1, params: newLogZParams(dt)} }

// Params returns the log-normaliser's parameter set {"log_z": [1]}.
func (n *NCE) Params() *nn.Params { return n.params }

// LogZ returns the current value of c.
func (n *NCE) LogZ() float64 { return n.params.Get(LogZParamName).Item() }

// Step draws ν·B noise samples and returns NCELoss, its θ-gradient (order
// of m.Params().Names()) and its c-gradient (order of n.Params().Names()).
// Neither θ nor c is modified.
func (n *NCE) Step(m model.FreeEnergyModel, v *tensor.Tensor, rng *tensor.RNG) (loss float64, grads, logZGrads []*tensor.Tensor) {
	if n.params == nil {
		panic("objective.NCE.Step: use NewNCE")
	}
	nu := nuOr1(n.Nu)
	noise := rng.Normal(v.DType(), 0, 1, nu*v.Dim(0), v.Dim(1))
	theta, cv := m.Params().Vars(), n.params.Vars()
	l := NCELoss(m, theta, cv.Get(LogZParamName), v, noise, nu)
	g := ad.Tensors(ad.Grad(l, nn.Lists(theta, cv)))
	k := len(theta.Names())
	return l.Item(), g[:k], g[k:]
}

// ---- variational noise-contrastive estimation ----

// vnceLogRatios returns log r(x,h) = -E(x,h) - c - log q(h|x) - log p_n(x)
// for `particles` draws h ~ q(h|x) per row of x, shape [particles, B]
// (particle-major). h is reparameterised in φ; x is a constant.
func vnceLogRatios(m model.EBLVM, q model.Posterior, theta, phi nn.Vals, logZ *ad.Value, x *tensor.Tensor, particles int, rng *tensor.RNG) *ad.Value {
	if particles < 1 {
		panic(fmt.Sprintf("objective: VNCE needs at least one particle, got %d", particles))
	}
	b := x.Dim(0)
	xs := tensor.TileRows(x, particles*b)
	xv := ad.Const(xs)
	h := q.Sample(phi, xv, rng)
	logPhi := ad.Sub(ad.Neg(m.Energy(theta, xv, h)), logZ)
	logR := ad.Sub(ad.Sub(logPhi, q.LogProb(phi, xv, h)), stdNormalLogProb(xs))
	return ad.Reshape(logR, particles, b)
}

// VNCEDataBound is the data term of the VNCE objective (Rhodes & Gutmann,
// "Variational noise-contrastive estimation", AISTATS 2019), averaged over
// the rows of x and over `particles` draws h ~ q(h|x):
//
//	E_q(h|x)[ log( r(x,h) / (r(x,h) + ν) ) ],  r(x,h) = p̃(x,h) / (q(h|x) p_n(x)),
//
// with p̃(x,h) = exp(-E(x,h) - c). Because log(w/(w+ν)) is concave in w and
// r(x) = E_q[r(x,h)] = p̃(x)/p_n(x), Jensen's inequality makes it a lower
// bound on NCE's data term log(r(x)/(r(x)+ν)), tight when q(h|x) is the
// model posterior. It is computed as -softplus(log ν - log r).
//
// With the relaxed-Bernoulli posterior h is continuous and log q(h|x) is
// BernoulliPosterior.LogProb, Σ h·l - softplus(l), evaluated at the relaxed
// sample: that is not the density of the relaxed sample, so the bound is
// only approximate (exact in the zero-temperature limit, where the samples
// become binary and LogProb is the Bernoulli log-probability). It stays
// exact at the model posterior for the GRBM, because both E and log q are
// linear in h and their h-terms cancel there.
func VNCEDataBound(m model.EBLVM, q model.Posterior, theta, phi nn.Vals, logZ *ad.Value, x *tensor.Tensor, particles, nu int, rng *tensor.RNG) *ad.Value {
	logR := vnceLogRatios(m, q, theta, phi, logZ, x, particles, rng)
	logNu := math.Log(float64(nuOr1(nu)))
	return ad.Neg(ad.Mean(ad.Softplus(ad.AddScalar(ad.Neg(logR), logNu)), false))
}

// VNCELoss is the negated VNCE objective on data x and noise y (noise has
// ν = nu times as many rows as x):
//
//	loss = -VNCEDataBound(x) + ν mean_y softplus(log r̂(y) - log ν),
//	r̂(y) = 1/S Σ_s p̃(y,h_s) / (q(h_s|y) p_n(y)),  h_s ~ q(h|y),
//
// where the noise term -ν log(1 + r̂(y)/ν) uses the importance-sampling
// estimate of p̃(y)/p_n(y) with S = particles draws from q (computed with a
// log-sum-exp). It returns the loss and the data bound (the bound's value
// also appears, negated, in the loss). With q the model posterior both
// terms equal NCELoss's exactly.
func VNCELoss(m model.EBLVM, q model.Posterior, theta, phi nn.Vals, logZ *ad.Value, x, noise *tensor.Tensor, particles, nu int, rng *tensor.RNG) (loss, bound *ad.Value) {
	nu = nuOr1(nu)
	if noise.Dim(0) != nu*x.Dim(0) {
		panic(fmt.Sprintf("objective.VNCELoss: %d noise rows for %d data rows and nu = %d", noise.Dim(0), x.Dim(0), nu))
	}
	bound = VNCEDataBound(m, q, theta, phi, logZ, x, particles, nu, rng)
	logR := vnceLogRatios(m, q, theta, phi, logZ, noise, particles, rng)
	logRHat := ad.AddScalar(ad.LogSumExp(logR, false, 0), -math.Log(float64(particles)))
	nois := ad.Mean(ad.Softplus(ad.AddScalar(logRHat, -math.Log(float64(nu)))), false)
	return ad.Sub(ad.Scale(nois, float64(nu)), bound), bound
}

// VNCE is variational noise-contrastive estimation (Rhodes & Gutmann 2019)
// for an EBLVM with the variational posterior q(h|v;φ) of BiSM (for the
// GRBM, the relaxed-Bernoulli model.BernoulliPosterior), noise N(0, I), a
// learnable log-normaliser c ("log_z", [1], initialised to 0; kept and
// returned separately as in NCE), and per minibatch:
//
//  1. K steps of InnerOpt on φ maximising VNCEDataBound with θ and c fixed
//     (fresh samples each step); the steps are kept, as in Algorithm 1;
//  2. the θ- and c-gradients of VNCELoss at the updated φ (held fixed), with
//     fresh noise and Particles draws from q per data and per noise sample.
//
// The paper's setting is K = 5, Particles = 5, ν = 1 (NewVNCE).
type VNCE struct {
	Posterior model.Posterior
	InnerOpt  optim.Optimizer // φ's optimizer
	K         int             // inner steps per minibatch (0 allowed)
	Particles int             // draws from q per sample (5 when zero)
	Nu        int             // noise samples per data sample (1 when zero)
	params    *nn.Params
}

// NewVNCE returns VNCE with K = 5, 5 particles, ν = 1 and c = 0 of dtype dt.
func NewVNCE(q model.Posterior, innerOpt optim.Optimizer, dt tensor.DType) *VNCE {
	return &VNCE{Posterior: q, InnerOpt: innerOpt, K: 5, Particles: 5, Nu: 1, params: newLogZParams(dt)}
}

// Params returns the log-normaliser's parameter set {"log_z": [1]}.
func (v *VNCE) Params() *nn.Params { return v.params }

// LogZ returns the current value of c.
func (v *VNCE) LogZ() float64 { return v.params.Get(LogZParamName).Item() }

// VNCEResult reports one VNCE step.
type VNCEResult struct {
	Loss      float64          // VNCELoss at the updated φ
	Bound     float64          // its data term VNCEDataBound (same samples)
	Grads     []*tensor.Tensor // ∂Loss/∂θ, order of the model's Params().Names()
	LogZGrads []*tensor.Tensor // ∂Loss/∂c, order of VNCE.Params().Names()
}

// Step runs the K inner steps on φ (modifying q's parameters and InnerOpt's
// state) and returns the loss and gradients at the updated φ. Neither θ nor
// c is modified.
func (v *VNCE) Step(m model.EBLVM, x *tensor.Tensor, rng *tensor.RNG) VNCEResult {
	if v.params == nil {
		panic("objective.VNCE.Step: use NewVNCE")
	}
	particles := v.Particles
	if particles <= 0 {
		particles = 5
	}
	nu := nuOr1(v.Nu)
	qp := v.Posterior.Params()

	thConst := m.Params().Consts()
	cConst := v.params.Consts().Get(LogZParamName)
	for k := 0; k < v.K; k++ {
		phi := qp.Vars()
		b := VNCEDataBound(m, v.Posterior, thConst, phi, cConst, x, particles, nu, rng)
		v.InnerOpt.Step(qp, ad.Tensors(ad.Grad(ad.Neg(b), phi.List())))
	}

	noise := rng.Normal(x.DType(), 0, 1, nu*x.Dim(0), x.Dim(1))
	theta, cv := m.Params().Vars(), v.params.Vars()
	loss, bound := VNCELoss(m, v.Posterior, theta, qp.Consts(), cv.Get(LogZParamName), x, noise, particles, nu, rng)
	g := ad.Tensors(ad.Grad(loss, nn.Lists(theta, cv)))
	k := len(theta.Names())
	return VNCEResult{Loss: loss.Item(), Bound: bound.Item(), Grads: g[:k], LogZGrads: g[k:]}
}
