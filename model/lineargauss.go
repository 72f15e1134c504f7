package model

import (
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// LinearGaussian is an EBLVM with continuous h in which every quantity is
// analytic, used to test the objectives and Theorem 1:
//
//	E(v,h) = 1/2 |h|² + 1/2 |v - hWᵀ - b|² / s²
//
// so p(v) = N(b, WWᵀ + s²I) and p(h|v) = N(μ, Σ) with
// Σ = (I + WᵀW/s²)⁻¹ and μ = (v - b) W Σ / s². Parameters: W [D,H], b [D],
// log_s [1].
type LinearGaussian struct {
	D, H   int
	params *nn.Params
}

// NewLinearGaussian draws W ~ N(0, 0.5²), b ~ N(0, 0.5²), log s = 0.
func NewLinearGaussian(d, h int, rng *tensor.RNG, dt tensor.DType) *LinearGaussian {
	p := nn.NewParams()
	p.Add("W", rng.Normal(dt, 0, 0.5, d, h))
	p.Add("b", rng.Normal(dt, 0, 0.5, d))
	p.Add("log_s", tensor.New(dt, 1))
	return &LinearGaussian{D: d, H: h, params: p}
}

// Params returns θ = (W, b, log_s).
func (m *LinearGaussian) Params() *nn.Params { return m.params }

func invVar(th nn.Vals) *ad.Value { return ad.Exp(ad.Scale(th.Get("log_s"), -2)) }

// Energy returns E(v,h) per row.
func (m *LinearGaussian) Energy(th nn.Vals, v, h *ad.Value) *ad.Value {
	r := ad.Sub(ad.Sub(v, ad.MatMul(h, th.Get("W"), false, true)), th.Get("b"))
	return ad.Scale(ad.Add(rowSum(ad.Square(h)), ad.Mul(rowSum(ad.Square(r)), invVar(th))), 0.5)
}

// MarginalCov returns C = WWᵀ + s²I.
func (m *LinearGaussian) MarginalCov(th nn.Vals) *ad.Value {
	w := th.Get("W")
	return ad.Add(ad.MatMul(w, w, false, true), ad.Mul(ad.Const(eye(w.DType(), m.D)), ad.Exp(ad.Scale(th.Get("log_s"), 2))))
}

// FreeEnergy returns 1/2 (v-b) C⁻¹ (v-b)ᵀ per row: -log p(v) up to a
// constant in v (which score matching never sees).
func (m *LinearGaussian) FreeEnergy(th nn.Vals, v *ad.Value) *ad.Value {
	r := ad.Sub(v, th.Get("b"))
	return ad.Scale(rowSum(ad.Mul(ad.MatMul(r, ad.Inverse(m.MarginalCov(th)), false, false), r)), 0.5)
}

// LogMarginal returns the exact log p(v) per row.
func (m *LinearGaussian) LogMarginal(th nn.Vals, v *ad.Value) *ad.Value {
	c := m.MarginalCov(th)
	l := ad.Cholesky(c)
	logdet := ad.Scale(ad.SumAll(ad.Log(diag(l))), 2)
	return ad.AddScalar(ad.Neg(ad.Add(m.FreeEnergy(th, v), ad.Scale(logdet, 0.5))), -0.5*float64(m.D)*math.Log(2*math.Pi))
}

// PosteriorParams returns the exact posterior as GaussianPosterior
// parameters φ*(θ) = (A, a, L): μ = vA + a, Σ = LLᵀ. They are recorded
// functions of θ, so gradients flow through them (Theorem 1's test).
func (m *LinearGaussian) PosteriorParams(th nn.Vals) nn.Vals {
	w, b, iv := th.Get("W"), th.Get("b"), invVar(th)
	prec := ad.Add(ad.Const(eye(w.DType(), m.H)), ad.Mul(ad.MatMul(w, w, true, false), iv))
	sigma := ad.Inverse(prec)
	a := ad.Mul(ad.MatMul(w, sigma, false, false), iv) // W Σ / s²
	bias := ad.Neg(ad.Reshape(ad.MatMul(ad.Reshape(b, 1, m.D), a, false, false), m.H))
	return nn.NewVals([]string{"A", "a", "L"}, []*ad.Value{a, bias, ad.Cholesky(sigma)})
}

func eye(dt tensor.DType, n int) *tensor.Tensor {
	e := tensor.New(dt, n, n)
	for i := 0; i < n; i++ {
		e.Set(1, i, i)
	}
	return e
}

// diag returns the diagonal of a square matrix as a vector.
func diag(x *ad.Value) *ad.Value {
	return ad.Sum(ad.Mul(x, ad.Const(eye(x.DType(), x.Shape()[0]))), false, 1)
}

// GaussianPosterior is q(h|v;φ) = N(vA + a, LLᵀ) with a lower-triangular
// scale L (the strict upper triangle of the parameter is masked out). It can
// represent the linear-Gaussian model's posterior exactly.
type GaussianPosterior struct {
	D, H   int
	params *nn.Params
}

// NewGaussianPosterior initialises A, a as PyTorch's Linear and L = I.
func NewGaussianPosterior(d, h int, rng *tensor.RNG, dt tensor.DType) *GaussianPosterior {
	p := nn.NewParams()
	w, b := nn.LinearInit(rng, dt, d, h)
	p.Add("A", w)
	p.Add("a", b)
	p.Add("L", eye(dt, h))
	return &GaussianPosterior{D: d, H: h, params: p}
}

// Params returns φ = (A, a, L).
func (q *GaussianPosterior) Params() *nn.Params { return q.params }

// Continuous is true.
func (q *GaussianPosterior) Continuous() bool { return true }

func (q *GaussianPosterior) scale(phi nn.Vals) *ad.Value {
	return ad.Mul(phi.Get("L"), ad.Const(tensor.TrilMask(phi.Get("L").DType(), q.H, 1)))
}

// Mean returns vA + a.
func (q *GaussianPosterior) Mean(phi nn.Vals, v *ad.Value) *ad.Value {
	return ad.Linear(v, phi.Get("A"), phi.Get("a"))
}

// Sample returns h = μ + εLᵀ, ε ~ N(0, I).
func (q *GaussianPosterior) Sample(phi nn.Vals, v *ad.Value, rng *tensor.RNG) *ad.Value {
	mu := q.Mean(phi, v)
	eps := ad.Const(rng.Normal(mu.DType(), 0, 1, mu.Shape()...))
	return ad.Add(mu, ad.MatMul(eps, q.scale(phi), false, true))
}

// LogProb returns log N(h; μ, LLᵀ) per row.
func (q *GaussianPosterior) LogProb(phi nn.Vals, v, h *ad.Value) *ad.Value {
	l := q.scale(phi)
	z := ad.MatMul(ad.Sub(h, q.Mean(phi, v)), ad.Inverse(l), false, true) // (h-μ) L⁻ᵀ
	logdet := ad.SumAll(ad.Log(ad.Abs(diag(l))))
	return ad.AddScalar(ad.Neg(ad.Add(ad.Scale(rowSum(ad.Square(z)), 0.5), logdet)), -0.5*float64(q.H)*math.Log(2*math.Pi))
}
