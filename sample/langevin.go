// Package sample draws images from trained energy-based models with the
// annealed Langevin dynamics of the reference code (App. B.2 of the paper, the
// paper's Appendix B.2), both from the marginal of a fully visible EBM and
// "via q" from a deep EBLVM: h fixed at the posterior mean of training
// images, Langevin on v.
package sample

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

// Config is the sampler's schedule and constants. Default returns the
// reference code's values; the zero Config is not meant to be used.
//
// Each step is
//
//	x ← x - 1/2 s² ∇_x E(x) + √T_i s ξ,   ξ ~ N(0, I),
//
// Langevin dynamics at temperature T_i with step size ε = s²/2 (the noise
// √(2ε T) = √T s). The temperatures are HoldSteps steps at HoldTemp, then
// DecaySteps steps T_i = HoldTemp·exp(-i ln(HoldTemp/DecayTo)/DecaySteps),
// i = 0..DecaySteps-1, then FinalSteps steps falling linearly from DecayTo
// to 0 (inclusive), unless Temps gives the schedule explicitly. Chains
// start at InitMean + InitStd·N(0, I). After the last step, Denoise applies
// one empirical-Bayes step x - σ0² ∇_x E(x) (Tweedie's formula: a model
// trained by MDSM with target noise σ0 scores the σ0-smoothed density, so
// this removes the remaining σ0-level noise), and Clamp clips to [0, 1],
// the range of the training images.
type Config struct {
	StepSize   float64 // s (0.02)
	HoldSteps  int     // steps at HoldTemp (500)
	HoldTemp   float64 // 100
	DecaySteps int     // steps of geometric decay (2000)
	DecayTo    float64 // temperature the decay approaches (1)
	FinalSteps int     // steps falling linearly from DecayTo to 0 (200)
	// Temps, if non-nil, replaces the schedule above.
	Temps []float64

	InitMean, InitStd float64 // 0.5, 1

	Denoise bool    // true
	Sigma0  float64 // 0.1
	Clamp   bool    // true

	// Progress, if set, is called after each step with the step number
	// (1-based), the total and the mean energy of the chains before the
	// step.
	Progress func(step, total int, meanEnergy float64)
}

// Default returns the reference code's sampler: s = 0.02, 500 steps at
// T = 100, 2000 steps decaying to 1, 200 steps falling to 0, init
// 0.5 + N(0,1), denoise with σ0 = 0.1, clamp to [0, 1]; 2700 steps in all.
func Default() Config {
	return Config{
		StepSize: 0.02, HoldSteps: 500, HoldTemp: 100, DecaySteps: 2000, DecayTo: 1, FinalSteps: 200,
		InitMean: 0.5, InitStd: 1, Denoise: true, Sigma0: 0.1, Clamp: true,
	}
}

// Temperatures returns the schedule T_i, one per step.
func (c Config) Temperatures() []float64 {
	if c.Temps != nil {
		return c.Temps
	}
	ts := make([]float64, 0, c.HoldSteps+c.DecaySteps+c.FinalSteps)
	for i := 0; i < c.HoldSteps; i++ {
		ts = append(ts, c.HoldTemp)
	}
	for i := 0; i < c.DecaySteps; i++ {
		ts = append(ts, c.HoldTemp*math.Exp(-float64(i)*math.Log(c.HoldTemp/c.DecayTo)/float64(c.DecaySteps)))
	}
	for i := 0; i < c.FinalSteps; i++ {
		f := 1.0
		if c.FinalSteps > 1 {
			f = 1 - float64(i)/float64(c.FinalSteps-1)
		}
		ts = append(ts, c.DecayTo*f)
	}
	return ts
}

// EnergyFn returns per-example energies [B] of a batch x [B,...]. It is
// evaluated with the model's parameters held constant.
type EnergyFn func(x *ad.Value) *ad.Value

// grad returns ∇_x Σ_b E(x)_b and the mean energy.
func grad(e EnergyFn, x *tensor.Tensor) (*tensor.Tensor, float64) {
	xv := ad.Var(x)
	en := e(xv)
	if s := en.Shape(); len(s) != 1 || s[0] != x.Dim(0) {
		panic(fmt.Sprintf("sample: energy has shape %v for a batch of %d", s, x.Dim(0)))
	}
	g := ad.Grad(ad.SumAll(en), []*ad.Value{xv})[0].Tensor()
	mean := 0.0
	for i, n := 0, en.Tensor().Size(); i < n; i++ {
		mean += en.Tensor().Flat(i)
	}
	return g, mean / float64(x.Dim(0))
}

// Langevin runs the sampler from InitMean + InitStd·N(0, I) chains of the
// given shape [B,...] in dtype dt and returns the final samples.
func Langevin(e EnergyFn, shape []int, dt tensor.DType, cfg Config, rng *tensor.RNG) *tensor.Tensor {
	x := rng.Normal(dt, cfg.InitMean, cfg.InitStd, shape...)
	return LangevinFrom(e, x, cfg, rng)
}

// LangevinFrom runs the sampler from the given chains x [B,...] (not
// modified) and returns the final samples.
func LangevinFrom(e EnergyFn, x *tensor.Tensor, cfg Config, rng *tensor.RNG) *tensor.Tensor {
	if cfg.StepSize <= 0 {
		panic(fmt.Sprintf("sample: step size %g", cfg.StepSize))
	}
	temps := cfg.Temperatures()
	s := cfg.StepSize
	x = x.Clone()
	// Each step's gradient graph and noise live in an arena reused by the
	// next step (tensor.Arena): the chains and the noise belong to it while
	// the sampler runs; x is updated in place.
	arena := tensor.NewArena()
	prev := rng.Arena()
	rng.SetArena(arena)
	defer rng.SetArena(prev)
	xa := x.InArena(arena)
	for i, temp := range temps {
		var mean float64
		arena.Step(func() {
			var g *tensor.Tensor
			g, mean = grad(e, xa)
			// x ← x - s²/2 ∇E + √T s ξ, in place on our own copy.
			tensor.AxpyInPlace(x, -0.5*s*s, g)
			if temp > 0 {
				tensor.AxpyInPlace(x, math.Sqrt(temp)*s, rng.Normal(x.DType(), 0, 1, x.Shape()...))
			}
		})
		if cfg.Progress != nil {
			cfg.Progress(i+1, len(temps), mean)
		}
	}
	if cfg.Denoise {
		g, _ := grad(e, x)
		tensor.AxpyInPlace(x, -cfg.Sigma0*cfg.Sigma0, g)
	}
	if cfg.Clamp {
		clamp01(x)
	}
	return x
}

func clamp01(x *tensor.Tensor) {
	for i, n := 0, x.Size(); i < n; i++ {
		v := x.Flat(i)
		if v < 0 {
			x.SetFlat(i, 0)
		} else if v > 1 {
			x.SetFlat(i, 1)
		}
	}
}

// Marginal samples a fully visible EBM (or any model with a free energy):
// Langevin on E(v) = F(v) with θ constant.
func Marginal(m model.FreeEnergyModel, shape []int, dt tensor.DType, cfg Config, rng *tensor.RNG) *tensor.Tensor {
	th := m.Params().Consts()
	return Langevin(func(v *ad.Value) *ad.Value { return m.FreeEnergy(th, v) }, shape, dt, cfg, rng)
}

// PosteriorMean computes h = E_q[h|v] = μ(v) for images v [B,C,H,W] with φ
// constant, in batches of at most batch rows (all at once if batch <= 0).
func PosteriorMean(q *model.CNNPosterior, v *tensor.Tensor, batch int) *tensor.Tensor {
	n := v.Dim(0)
	if batch <= 0 || batch > n {
		batch = n
	}
	phi := q.Params().Consts()
	var parts []*tensor.Tensor
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		parts = append(parts, q.Mean(phi, ad.Const(tensor.Slice(v, 0, lo, hi))).Tensor())
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return tensor.Concat(0, parts...)
}

// ViaPosterior samples a deep EBLVM "via q" (Sec. 5.2, Fig. 4): for training
// images v0 [B,C,H,W] it sets h = mean of q(h|v0), then runs Langevin on v
// from fresh chains InitMean + InitStd·N(0, I) with h fixed,
// E_h(v) = E(v, h; θ), θ constant. It returns the samples and the h used.
func ViaPosterior(m *model.DeepEBLVM, q *model.CNNPosterior, v0 *tensor.Tensor, cfg Config, rng *tensor.RNG) (samples, h *tensor.Tensor) {
	h = PosteriorMean(q, v0, 0)
	th := m.Params().Consts()
	hc := ad.Const(h)
	e := func(v *ad.Value) *ad.Value { return m.Energy(th, v, hc) }
	return Langevin(e, v0.Shape(), v0.DType(), cfg, rng), h
}
