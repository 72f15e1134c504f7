package model

import (
	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// EBLVM is an energy-based latent variable model p(v,h) ∝ exp(-E(v,h;θ))
// (Eq. 6 of the paper).
type EBLVM interface {
	// Params returns θ, owned by the model.
	Params() *nn.Params
	// Energy returns E(v,h;θ) for each row of v [B,D] and h [B,H]: shape [B].
	Energy(theta nn.Vals, v, h *ad.Value) *ad.Value
}

// FreeEnergyModel is a model whose marginal is tractable up to its
// normaliser: F(v) = -log ∫ exp(-E(v,h)) dh, so the marginal score is
// -∇_v F(v). Score-matching baselines (SM, SSM, DSM, MDSM), CD and NCE need it.
type FreeEnergyModel interface {
	Params() *nn.Params
	// FreeEnergy returns F(v;θ) per row of v: shape [B].
	FreeEnergy(theta nn.Vals, v *ad.Value) *ad.Value
}

// Posterior is a variational posterior q(h|v;φ).
type Posterior interface {
	// Params returns φ, owned by the posterior.
	Params() *nn.Params
	// Sample draws h ~ q(h|v;φ), reparameterised so h is a function of φ.
	// Callers that want h independent of v pass a detached v.
	Sample(phi nn.Vals, v *ad.Value, rng *tensor.RNG) *ad.Value
	// LogProb returns log q(h|v;φ) per row: shape [B].
	LogProb(phi nn.Vals, v, h *ad.Value) *ad.Value
	// Continuous reports whether h is continuous (so ∇_h exists and the
	// Fisher inner loss applies); false selects the KL inner loss.
	Continuous() bool
}

// rowSum sums [B,K] over its last axis to [B].
func rowSum(x *ad.Value) *ad.Value { return ad.Sum(x, false, -1) }

// A HiddenEnergy is h -> E(v,h;θ) at a fixed v and θ, what the inner
// problem of bi-level score matching evaluates at many h (EnergyGivenV).
type HiddenEnergy interface {
	// At returns E(v,h;θ) per example, [B].
	At(h *ad.Value) *ad.Value
}

// HiddenEnergyFunc is a function used as a HiddenEnergy.
type HiddenEnergyFunc func(h *ad.Value) *ad.Value

// At returns f(h).
func (f HiddenEnergyFunc) At(h *ad.Value) *ad.Value { return f(h) }

// EnergyGivenV returns h -> E(v,h;θ) for a fixed v. Models that implement
// VisibleConditioner precompute the parts that depend on v alone (for the
// GRBM, the quadratic term and vW + c), so the inner steps of bi-level
// score matching, which evaluate E at one v for many h, pay for them once
// and backpropagate through them once.
func EnergyGivenV(m EBLVM, theta nn.Vals, v *ad.Value) HiddenEnergy {
	if c, ok := m.(VisibleConditioner); ok {
		return c.EnergyGivenV(theta, v)
	}
	return HiddenEnergyFunc(func(h *ad.Value) *ad.Value { return m.Energy(theta, v, h) })
}

// VisibleConditioner is implemented by models that can precompute the
// v-only parts of their energy (see EnergyGivenV).
type VisibleConditioner interface {
	EnergyGivenV(theta nn.Vals, v *ad.Value) HiddenEnergy
}

// JointSampler is implemented by posteriors that can draw h and evaluate
// log q(h|v) at it sharing work (the logits); the result equals Sample
// followed by LogProb with the same v.
type JointSampler interface {
	SampleWithLogProb(phi nn.Vals, v *ad.Value, rng *tensor.RNG) (h, logq *ad.Value)
}

// SampleWithLogProb draws h ~ q(h|v) and returns it with log q(h|v), using
// the posterior's shared path when it has one.
func SampleWithLogProb(q Posterior, phi nn.Vals, v *ad.Value, rng *tensor.RNG) (h, logq *ad.Value) {
	if j, ok := q.(JointSampler); ok {
		return j.SampleWithLogProb(phi, v, rng)
	}
	h = q.Sample(phi, v, rng)
	return h, q.LogProb(phi, v, h)
}
