package eval

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// MaxExactHidden is the largest number of hidden units ExactLogZ enumerates
// (2^24 ≈ 1.7e7 states).
const MaxExactHidden = 24

// grbmParams holds a GRBM's parameters in float64, with the scalar variant's
// 1/σ folded into the coupling so both parameterisations share one form:
//
//	E(v,h) = 1/2 Σ_i (v_i - b_i)²/σ_i² - cᵀh - vᵀ W' h
//
// with W' = W (default) or W' = W/σ (paper variant, σ_i = σ for all i).
type grbmParams struct {
	d, h    int
	w       []float64 // W' [D,H], row-major
	b, c    []float64 // [D], [H]
	sigma   []float64 // σ_i [D]
	logSigs float64   // Σ_i log σ_i
}

func readGRBM(m *model.GRBM) grbmParams {
	p := m.Params()
	d, h := m.D, m.H
	g := grbmParams{d: d, h: h, w: p.Get("W").Values(), b: p.Get("b").Values(), c: p.Get("c").Values()}
	ls := p.Get("log_sigma").Values()
	g.sigma = make([]float64, d)
	for i := range g.sigma {
		l := ls[0]
		if len(ls) == d {
			l = ls[i]
		}
		g.sigma[i] = math.Exp(l)
		g.logSigs += l
	}
	if m.ScalarSigma {
		inv := 1 / g.sigma[0]
		for i := range g.w {
			g.w[i] *= inv
		}
	}
	return g
}

// logZ0 is log Z of the base model W = 0, c = 0 with the same b and σ:
// Σ_i log σ_i + D/2 log 2π + H log 2.
func (g *grbmParams) logZ0() float64 {
	return g.logSigs + 0.5*float64(g.d)*math.Log(2*math.Pi) + float64(g.h)*math.Ln2
}

// ExactLogZ returns the exact log partition function of a GRBM by
// enumerating all 2^H hidden states and integrating v in closed form:
//
//	log Z = Σ_i log σ_i + D/2 log 2π + logsumexp_h [ cᵀh + Σ_i (b_i u_i + σ_i² u_i²/2) ]
//
// where u = W'h (W' = W, or W/σ in the scalar-σ variant). It refuses
// H > MaxExactHidden. Computed in float64 whatever the model's dtype.
func ExactLogZ(m *model.GRBM) (float64, error) {
	if m.H > MaxExactHidden {
		return 0, fmt.Errorf("eval.ExactLogZ: H = %d hidden units is too many to enumerate (at most %d); use AIS", m.H, MaxExactHidden)
	}
	g := readGRBM(m)
	d, h := g.d, g.h
	u := make([]float64, d) // W'h, updated in Gray-code order
	ct := 0.0               // cᵀh
	term := func() float64 {
		s := ct
		for i, ui := range u {
			s += ui * (g.b[i] + 0.5*g.sigma[i]*g.sigma[i]*ui)
		}
		return s
	}
	// Streaming log-sum-exp over the states.
	mx, sum := term(), 1.0 // h = 0
	var state uint64
	for k := uint64(1); k < 1<<uint(h); k++ {
		j := trailingZeros(k) // Gray code: state k differs from k-1 in bit j
		state ^= 1 << uint(j)
		sign := -1.0
		if state&(1<<uint(j)) != 0 {
			sign = 1
		}
		ct += sign * g.c[j]
		for i := range u {
			u[i] += sign * g.w[i*h+j]
		}
		x := term()
		if x > mx {
			sum = sum*math.Exp(mx-x) + 1
			mx = x
		} else {
			sum += math.Exp(x - mx)
		}
	}
	return mx + math.Log(sum) + g.logSigs + 0.5*float64(d)*math.Log(2*math.Pi), nil
}

func trailingZeros(k uint64) int {
	n := 0
	for k&1 == 0 {
		k >>= 1
		n++
	}
	return n
}

// chunkRows is how many rows LogProbs, LogLikelihood and FisherSSM process
// at once, bounding memory.
const chunkRows = 1000

// LogProbs returns log p(v) = -F(v) - logZ for every row of x [B,D]
// (F from m.FreeEnergy with θ constant, evaluated in the model's dtype
// without recording a graph, chunkRows rows at a time).
func LogProbs(m model.FreeEnergyModel, x *tensor.Tensor, logZ float64) []float64 {
	n := x.Dim(0)
	out := make([]float64, 0, n)
	dt := paramDType(m)
	theta := m.Params().Consts()
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		xb := tensor.Slice(x, 0, lo, hi).As(dt)
		f := m.FreeEnergy(theta, ad.Const(xb)).Tensor()
		for i := 0; i < f.Size(); i++ {
			out = append(out, -f.Flat(i)-logZ)
		}
	}
	return out
}

// LogLikelihood returns the mean over the rows of x of log p(v) = -F(v) - logZ.
func LogLikelihood(m model.FreeEnergyModel, x *tensor.Tensor, logZ float64) float64 {
	lp := LogProbs(m, x, logZ)
	s := 0.0
	for _, v := range lp {
		s += v
	}
	return s / float64(len(lp))
}

func paramDType(m interface{ Params() *nn.Params }) tensor.DType {
	ts := m.Params().Tensors()
	if len(ts) == 0 {
		return tensor.Float32
	}
	return ts[0].DType()
}
