package model

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// GRBM is the Gaussian-Bernoulli restricted Boltzmann machine, v in R^D,
// h in {0,1}^H. Parameters: W [D,H], b [D], c [H], log_sigma ([D], or [1] in
// the paper's scalar variant).
//
// Default (the reference code's parameterisation, per-dimension sigma):
//
//	E(v,h) = 1/2 Σ_i (v_i - b_i)² / σ_i² - cᵀh - vᵀWh
//
// Paper variant (Sec. 5.1), scalar σ:
//
//	E(v,h) = 1/2 |v - b|² / σ² - cᵀh - (1/σ) vᵀWh
type GRBM struct {
	D, H        int
	ScalarSigma bool // the paper's variant
	params      *nn.Params
}

// NewGRBM initialises W, b, c ~ U(-1/√H, 1/√H) and log σ = 0.
func NewGRBM(d, h int, scalarSigma bool, rng *tensor.RNG, dt tensor.DType) *GRBM {
	bound := 1 / math.Sqrt(float64(h))
	p := nn.NewParams()
	p.Add("W", nn.Uniform(rng, dt, bound, d, h))
	p.Add("b", nn.Uniform(rng, dt, bound, d))
	p.Add("c", nn.Uniform(rng, dt, bound, h))
	ns := d
	if scalarSigma {
		ns = 1
	}
	p.Add("log_sigma", tensor.New(dt, ns))
	return &GRBM{D: d, H: h, ScalarSigma: scalarSigma, params: p}
}

// Params returns θ = (W, b, c, log_sigma).
func (m *GRBM) Params() *nn.Params { return m.params }

// quadratic returns 1/2 Σ (v-b)²/σ² per row: with a σ per dimension one
// fused operation (ad.SquaredDistance), with the paper's scalar σ the
// broadcasting composition it stands for.
func (m *GRBM) quadratic(th nn.Vals, v *ad.Value) *ad.Value {
	prec := ad.Exp(ad.Scale(th.Get("log_sigma"), -2))
	if m.ScalarSigma {
		return ad.Scale(rowSum(ad.Mul(ad.Square(ad.Sub(v, th.Get("b"))), prec)), 0.5)
	}
	return ad.Scale(ad.SquaredDistance(v, th.Get("b"), prec), 0.5)
}

// hiddenInput returns c + Wᵀv (default) or c + Wᵀv/σ (paper), [B,H]:
// the logits of p(h|v).
func (m *GRBM) hiddenInput(th nn.Vals, v *ad.Value) *ad.Value {
	if !m.ScalarSigma {
		return ad.Linear(v, th.Get("W"), th.Get("c"))
	}
	vw := ad.MatMul(v, th.Get("W"), false, false)
	vw = ad.Mul(vw, ad.Exp(ad.Neg(th.Get("log_sigma"))))
	return ad.Add(vw, th.Get("c"))
}

// hiddenLogits is hiddenInput at the parameters' values for data v, with
// the same tensor operations and nothing recorded (sampling).
func (m *GRBM) hiddenLogits(v *tensor.Tensor) *tensor.Tensor {
	w, c := m.params.Get("W"), m.params.Get("c")
	if !m.ScalarSigma {
		return tensor.MatMulBias(v, w, c)
	}
	vw := tensor.MatMul(v, w, false, false)
	vw = tensor.Mul(vw, tensor.Exp(tensor.Neg(m.params.Get("log_sigma"))))
	return tensor.Add(vw, c)
}

// Energy returns E(v,h) per row.
func (m *GRBM) Energy(th nn.Vals, v, h *ad.Value) *ad.Value {
	m.checkShapes("Energy", v, h)
	couple := rowSum(ad.Mul(m.hiddenInput(th, v), h)) // cᵀh + vᵀWh (/σ)
	return ad.Sub(m.quadratic(th, v), couple)
}

// EnergyGivenV returns h -> E(v,h) with the quadratic term and c + Wᵀv
// computed once.
func (m *GRBM) EnergyGivenV(th nn.Vals, v *ad.Value) HiddenEnergy {
	m.checkShapes("EnergyGivenV", v, nil)
	e := grbmGivenVs.New(v.Tensor().Arena())
	*e = grbmGivenV{m: m, v: v, quad: m.quadratic(th, v), in: m.hiddenInput(th, v)}
	return e
}

// grbmGivenV is the GRBM's energy at a fixed v: its quadratic term and
// c + Wᵀv (/σ). In an arena's Step it lives as long as the step's tensors.
type grbmGivenV struct {
	m           *GRBM
	v, quad, in *ad.Value
}

var grbmGivenVs = tensor.NewSlab[grbmGivenV]()

func (e *grbmGivenV) At(h *ad.Value) *ad.Value {
	e.m.checkShapes("EnergyGivenV", e.v, h)
	return ad.Sub(e.quad, rowSum(ad.Mul(e.in, h)))
}

// FreeEnergy returns F(v) = 1/2 Σ(v-b)²/σ² - Σ_j softplus(c + Wᵀv)_j per row.
func (m *GRBM) FreeEnergy(th nn.Vals, v *ad.Value) *ad.Value {
	f, _ := m.FreeEnergyAndLogits(th, v)
	return f
}

// FreeEnergyAndLogits returns FreeEnergy(th, v) and the logits c + Wᵀv (or
// with v/σ) of p(h|v) that it computes on the way, [B,H]: contrastive
// divergence starts its chains at the data whose free energy it also
// needs, so the product Wᵀv serves both.
func (m *GRBM) FreeEnergyAndLogits(th nn.Vals, v *ad.Value) (f, logits *ad.Value) {
	m.checkShapes("FreeEnergy", v, nil)
	quad := m.quadratic(th, v)
	logits = m.hiddenInput(th, v)
	return ad.Sub(quad, rowSum(ad.Softplus(logits))), logits
}

func (m *GRBM) checkShapes(op string, v, h *ad.Value) {
	if s := v.Shape(); len(s) != 2 || s[1] != m.D {
		panic(fmt.Sprintf("model.GRBM.%s: v has shape %v, want [B %d]", op, s, m.D))
	}
	if h != nil {
		if s := h.Shape(); len(s) != 2 || s[1] != m.H || s[0] != v.Shape()[0] {
			panic(fmt.Sprintf("model.GRBM.%s: h has shape %v, want [%d %d]", op, s, v.Shape()[0], m.H))
		}
	}
}

// HiddenProb returns p(h=1|v) = sigmoid(c + Wᵀv) (or with v/σ), [B,H].
func (m *GRBM) HiddenProb(v *tensor.Tensor) *tensor.Tensor {
	return tensor.Sigmoid(m.hiddenLogits(v))
}

// VisibleMean returns E[v|h] = b + σ²(Wh) (default) or b + σWh (paper), [B,D].
func (m *GRBM) VisibleMean(h *tensor.Tensor) *tensor.Tensor {
	w, b := m.params.Get("W"), m.params.Get("b")
	wh := tensor.MatMul(h, w, false, true)
	sig := tensor.Exp(m.params.Get("log_sigma"))
	if m.ScalarSigma {
		return tensor.Add(tensor.Mul(wh, sig), b)
	}
	return tensor.Add(tensor.Mul(wh, tensor.Square(sig)), b)
}

// Sigma returns σ broadcastable against v: [D] or [1].
func (m *GRBM) Sigma() *tensor.Tensor { return tensor.Exp(m.params.Get("log_sigma")) }

// Gibbs performs one sweep v -> h -> v and returns (h, v').
func (m *GRBM) Gibbs(v *tensor.Tensor, rng *tensor.RNG) (h, vNew *tensor.Tensor) {
	return m.GibbsFromLogits(m.hiddenLogits(v), rng)
}

// GibbsFromLogits is Gibbs from v's logits c + Wᵀv (FreeEnergyAndLogits)
// instead of v.
func (m *GRBM) GibbsFromLogits(logits *tensor.Tensor, rng *tensor.RNG) (h, vNew *tensor.Tensor) {
	h = rng.Bernoulli(tensor.Sigmoid(logits))
	mean := m.VisibleMean(h)
	noise := rng.Normal(logits.DType(), 0, 1, mean.Shape()...)
	return h, tensor.Add(mean, tensor.Mul(noise, m.Sigma()))
}
