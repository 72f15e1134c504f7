package study

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// SplitConfig configures GradientSplit.
type SplitConfig struct {
	Model *model.GRBM
	Outer objective.Outer
	Batch *tensor.Tensor // minibatch v [B,D]; the outer objective's noise is drawn once from Seed
	Draws int            // draws of q's noise averaged for the h-dependent gradients (default 100)
	Seed  uint64

	// Optional: Algorithm 1's gradient at a trained posterior (K = 0, N
	// unrolled steps continuing from InnerOpt's state, or the implicit
	// gradient; nothing is modified).
	Posterior *model.BernoulliPosterior
	InnerOpt  optim.Optimizer
	N         int
	Implicit  *objective.Implicit // the implicit gradient instead of N unrolled steps
}

// Split is the θ-gradient of bi-level score matching on a GRBM taken apart
// (gradients in the order of Model.Params()).
type Split struct {
	// Marginal is ∇θ J(θ), the score-matching gradient of the marginal
	// (free energy): what every bi-level gradient should estimate.
	Marginal []*tensor.Tensor
	// Total is ∇θ J_Bi(θ, φ*(θ)) with φ*(θ) the exact posterior's
	// parameters (q's logits vA + a equal p(h|v)'s when A = W, a = c),
	// differentiated through φ*: Theorem 1 says it equals Marginal.
	Total []*tensor.Tensor
	// Fixed is ∇θ J_Bi(θ, φ) at φ = φ*(θ) held constant: the gradient without
	// the path through the posterior, which unrolling is meant to supply.
	Fixed []*tensor.Tensor
	// Alg1 is Algorithm 1's gradient at the given posterior (nil without one).
	Alg1 []*tensor.Tensor
	// FixedSpread and Alg1Spread are, per parameter, the root of the summed
	// variance of a single draw's gradient (trace of its covariance over q's
	// noise): the extra noise a one-sample training step carries.
	FixedSpread, Alg1Spread []float64
}

// GradientSplit computes Marginal, Total, Fixed and (with a posterior) Alg1
// on one minibatch with the same outer noise; the h-dependent ones are
// averaged over Draws draws of q's noise.
func GradientSplit(cfg SplitConfig) (*Split, error) {
	if cfg.Model == nil || cfg.Batch == nil {
		return nil, fmt.Errorf("study.GradientSplit: model and batch are required")
	}
	if cfg.Outer.Kind == objective.MDSM {
		return nil, fmt.Errorf("study.GradientSplit: MDSM weights examples by noise level; use SM, SSM or DSM")
	}
	if cfg.Draws <= 0 {
		cfg.Draws = 100
	}
	m := cfg.Model
	p := cfg.Outer.Perturb(cfg.Batch, tensor.NewRNG(cfg.Seed))
	q := model.NewBernoulliPosterior(m.D, m.H, tensor.NewRNG(0), cfg.Batch.DType())
	if cfg.Posterior != nil {
		q = cfg.Posterior
	}
	s := &Split{}
	theta := m.Params().Vars()
	s.Marginal = ad.Tensors(ad.Grad(cfg.Outer.Loss(objective.MarginalEnergy(m, theta), p), theta.List()))

	avgSpread := func(f func(rng *tensor.RNG) []*tensor.Tensor) ([]*tensor.Tensor, []float64) {
		var sum []*tensor.Tensor
		var sq []float64
		for i := 0; i < cfg.Draws; i++ {
			g := f(tensor.NewRNG(cfg.Seed + 1 + uint64(i)))
			if sum == nil {
				sum, sq = make([]*tensor.Tensor, len(g)), make([]float64, len(g))
				for j := range g {
					sum[j] = tensor.ZerosLike(g[j]).As(tensor.Float64)
				}
			}
			for j := range sum {
				gj := g[j].As(tensor.Float64)
				tensor.AddInPlace(sum[j], gj)
				for k := 0; k < gj.Size(); k++ {
					sq[j] += gj.Flat(k) * gj.Flat(k)
				}
			}
		}
		n := float64(cfg.Draws)
		spread := make([]float64, len(sum))
		for j := range sum {
			sum[j] = tensor.Scale(sum[j], 1/n)
			var m2 float64
			for k := 0; k < sum[j].Size(); k++ {
				m2 += sum[j].Flat(k) * sum[j].Flat(k)
			}
			spread[j] = math.Sqrt(math.Max(sq[j]/n-m2, 0))
		}
		return sum, spread
	}
	avg := func(f func(rng *tensor.RNG) []*tensor.Tensor) []*tensor.Tensor {
		m, _ := avgSpread(f)
		return m
	}
	s.Total = avg(func(rng *tensor.RNG) []*tensor.Tensor {
		th := m.Params().Vars()
		return ad.Tensors(ad.Grad(cfg.Outer.Loss(objective.BiEnergy(m, q, th, exactPosterior(m, th), rng), p), th.List()))
	})
	s.Fixed, s.FixedSpread = avgSpread(func(rng *tensor.RNG) []*tensor.Tensor {
		th := m.Params().Vars()
		phi := exactPosterior(m, m.Params().Consts())
		return ad.Tensors(ad.Grad(cfg.Outer.Loss(objective.BiEnergy(m, q, th, phi, rng), p), th.List()))
	})
	if cfg.Posterior != nil && cfg.InnerOpt != nil {
		b := &objective.BiLevel{Model: m, Posterior: cfg.Posterior, Outer: cfg.Outer, K: 0, N: cfg.N, InnerOpt: cfg.InnerOpt, Implicit: cfg.Implicit}
		s.Alg1, s.Alg1Spread = avgSpread(func(rng *tensor.RNG) []*tensor.Tensor { return b.StepPerturbed(p, rng).Grads })
	}
	return s, nil
}

// exactPosterior returns φ*(θ) of the relaxed Bernoulli posterior: A = W,
// a = c (A = W/σ in the scalar-σ variant), as functions of θ.
func exactPosterior(m *model.GRBM, th nn.Vals) nn.Vals {
	a := th.Get("W")
	if m.ScalarSigma {
		a = ad.Mul(a, ad.Exp(ad.Neg(th.Get("log_sigma"))))
	}
	return nn.NewVals([]string{"A", "a"}, []*ad.Value{a, th.Get("c")})
}

// RelErr returns |g - ref| / |ref| over all parameters together.
func RelErr(g, ref []*tensor.Tensor) float64 { return norm(g, ref) / norm(ref, nil) }

// Norm returns |g| over all parameters together.
func Norm(g []*tensor.Tensor) float64 { return norm(g, nil) }

// Cosine returns the cosine of the angle between g and ref over all
// parameters together.
func Cosine(g, ref []*tensor.Tensor) float64 {
	var dot, ng, nr float64
	for i := range ref {
		for j := 0; j < ref[i].Size(); j++ {
			a, b := g[i].Flat(j), ref[i].Flat(j)
			dot += a * b
			ng += a * a
			nr += b * b
		}
	}
	return dot / math.Sqrt(ng*nr)
}
