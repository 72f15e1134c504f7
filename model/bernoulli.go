package model

import (
	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// BernoulliPosterior is q(h|v;φ) = Π_j Bernoulli(h_j; sigmoid(l_j)) with
// logits l = vA + a (a linear layer D -> H with PyTorch's default
// initialisation). It samples with the relaxed Bernoulli (binary
// Gumbel-softmax) at temperature Tau, so h is a differentiable function of φ:
//
//	h = sigmoid((l + g0 - g1)/τ),  g0, g1 ~ Gumbel (g0 - g1 ~ Logistic)
//
// and LogProb evaluates Σ h·l - softplus(l) at the relaxed h, as the
// reference code does (softmax over [l, 0] is the same as this sigmoid).
type BernoulliPosterior struct {
	D, H   int
	Tau    float64
	params *nn.Params
}

// NewBernoulliPosterior returns the posterior with τ = 0.1.
func NewBernoulliPosterior(d, h int, rng *tensor.RNG, dt tensor.DType) *BernoulliPosterior {
	p := nn.NewParams()
	w, b := nn.LinearInit(rng, dt, d, h)
	p.Add("A", w)
	p.Add("a", b)
	return &BernoulliPosterior{D: d, H: h, Tau: 0.1, params: p}
}

// Params returns φ = (A, a).
func (q *BernoulliPosterior) Params() *nn.Params { return q.params }

// Continuous is false: h is (relaxed) binary, so the KL inner loss applies.
func (q *BernoulliPosterior) Continuous() bool { return false }

// Logits returns l = vA + a, [B,H].
func (q *BernoulliPosterior) Logits(phi nn.Vals, v *ad.Value) *ad.Value {
	return ad.Linear(v, phi.Get("A"), phi.Get("a"))
}

// Sample draws a relaxed Bernoulli h.
func (q *BernoulliPosterior) Sample(phi nn.Vals, v *ad.Value, rng *tensor.RNG) *ad.Value {
	return q.sampleAt(q.Logits(phi, v), rng)
}

// SampleWithLogProb draws h and evaluates log q(h|v) from one set of logits.
func (q *BernoulliPosterior) SampleWithLogProb(phi nn.Vals, v *ad.Value, rng *tensor.RNG) (h, logq *ad.Value) {
	l := q.Logits(phi, v)
	h = q.sampleAt(l, rng)
	return h, logProbAt(l, h)
}

func (q *BernoulliPosterior) sampleAt(l *ad.Value, rng *tensor.RNG) *ad.Value {
	shape := l.Shape()
	// g0 - g1 of two standard Gumbels is a standard logistic variate, which
	// costs one uniform and one logarithm to draw.
	g := rng.Logistic(l.DType(), shape...)
	return ad.SigmoidScaledSum(l, ad.Const(g), 1/q.Tau)
}

// LogProb returns Σ_j h_j l_j - softplus(l_j) per row.
func (q *BernoulliPosterior) LogProb(phi nn.Vals, v, h *ad.Value) *ad.Value {
	return logProbAt(q.Logits(phi, v), h)
}

func logProbAt(l, h *ad.Value) *ad.Value { return ad.BernoulliLogProb(l, h) }
