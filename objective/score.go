package objective

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// EnergyFn returns per-example energies [B] of v [B,D] whose negative
// v-gradient is the score being matched: the free energy F(v) for
// fully-tractable models, or E(v,h) + log q(h|v) with a fixed sample h for
// bi-level score matching (Eq. 8).
type EnergyFn func(v *ad.Value) *ad.Value

// Score returns s(v) = -∇_v Σ_b e(v)_b, recorded so it can be differentiated
// again (score matching is second order in the energy).
func Score(e EnergyFn, v *ad.Value) *ad.Value {
	return ad.Neg(ad.Grad(ad.SumAll(e(v)), []*ad.Value{v}, ad.CreateGraph())[0])
}

// Kind selects a score-matching objective.
type Kind int

// The score-matching objectives of Sec. 2 of the paper.
const (
	SM   Kind = iota // exact: 1/2|s|² + tr(∇_v s) (Eq. 2)
	SSM              // sliced: 1/2|s|² + uᵀ∇_v(s·u) (Eq. 3)
	DSM              // denoising: 1/2|s(ṽ) + ε/σ|² (Eq. 4)
	MDSM             // multiscale denoising: 1/2|s(ṽ)/σ_i + ε/σ0²|² (Eq. 5)
)

var kindNames = map[string]Kind{"sm": SM, "ssm": SSM, "dsm": DSM, "mdsm": MDSM}

func (k Kind) String() string {
	for n, v := range kindNames {
		if v == k {
			return n
		}
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// ParseKind parses "sm", "ssm", "dsm" or "mdsm".
func ParseKind(s string) (Kind, error) {
	k, ok := kindNames[s]
	if !ok {
		return 0, fmt.Errorf("unknown score-matching objective %q (want sm, ssm, dsm or mdsm)", s)
	}
	return k, nil
}

// Outer is a score-matching objective with its noise settings. Its loss is
// per-example (summed over dimensions) and averaged over the batch.
type Outer struct {
	Kind Kind
	// DSM noise level.
	Sigma float64
	// MDSM noise levels: σ_i runs from SigmaBegin to SigmaEnd over the batch
	// positions, linearly or (Geometric) log-linearly; Sigma0 is the fixed
	// level of the target.
	SigmaBegin, SigmaEnd, Sigma0 float64
	Geometric                    bool
	// GaussianSlices draws SSM's projections from N(0,I) instead of Rademacher.
	GaussianSlices bool
}

// Perturbed is a minibatch prepared for an objective: the input at which
// scores are evaluated and the noise that goes with it. Inner losses are
// evaluated at the same X.
type Perturbed struct {
	X      *tensor.Tensor // ṽ for DSM/MDSM, v itself for SM/SSM
	Eps    *tensor.Tensor // DSM/MDSM: the standard normal noise
	Sigmas *tensor.Tensor // MDSM: σ_i per example, [B,1]
	U      *tensor.Tensor // SSM: the projection vectors
}

// Perturb draws the objective's noise for a minibatch v [B,D] (fresh on every call).
func (o Outer) Perturb(v *tensor.Tensor, rng *tensor.RNG) Perturbed {
	dt, shape := v.DType(), v.Shape()
	switch o.Kind {
	case SSM:
		if o.GaussianSlices {
			return Perturbed{X: v, U: rng.Normal(dt, 0, 1, shape...)}
		}
		return Perturbed{X: v, U: rng.Rademacher(dt, shape...)}
	case DSM:
		eps := rng.Normal(dt, 0, 1, shape...)
		return Perturbed{X: tensor.Add(v, tensor.Scale(eps, o.Sigma)), Eps: eps}
	case MDSM:
		eps := rng.Normal(dt, 0, 1, shape...)
		// σ_i follows the position in the global batch (ShardRows).
		lo, n := rng.Rows(shape[0])
		sig := o.noiseLevels(v.Arena(), dt, lo, shape[0], n, len(shape))
		return Perturbed{X: tensor.Add(v, tensor.Mul(eps, sig)), Eps: eps, Sigmas: sig}
	}
	return Perturbed{X: v}
}

// NoiseLevels returns MDSM's σ_i for batch positions 0..b-1, shaped
// [b,1,...] (rank dims) to broadcast against the batch.
func (o Outer) NoiseLevels(dt tensor.DType, b, rank int) *tensor.Tensor {
	return o.noiseLevels(nil, dt, 0, b, b, rank)
}

// noiseLevels returns σ_i for positions lo..lo+b-1 of a batch of n, in a
// (a step's storage; nil: the heap).
func (o Outer) noiseLevels(a *tensor.Arena, dt tensor.DType, lo, b, n, rank int) *tensor.Tensor {
	var buf [8]int
	shape := buf[:0]
	for range rank {
		shape = append(shape, 1)
	}
	shape[0] = b
	s := a.New(dt, shape...)
	for i := 0; i < b; i++ {
		f := 0.0
		if n > 1 {
			f = float64(lo+i) / float64(n-1)
		}
		if o.Geometric {
			s.SetFlat(i, math.Exp(math.Log(o.SigmaBegin)+f*(math.Log(o.SigmaEnd)-math.Log(o.SigmaBegin))))
		} else {
			s.SetFlat(i, o.SigmaBegin+f*(o.SigmaEnd-o.SigmaBegin))
		}
	}
	return s
}

// Loss evaluates the objective for energy e on a perturbed batch: the mean
// over examples of the per-example loss (PerExample).
func (o Outer) Loss(e EnergyFn, p Perturbed) *ad.Value {
	return ad.Mean(o.PerExample(e, p), false)
}

// PerExample is the objective's loss for each example of the perturbed
// batch, [B] (e.g. to read it by MDSM noise level).
func (o Outer) PerExample(e EnergyFn, p Perturbed) *ad.Value {
	x := ad.Var(p.X)
	s := Score(e, x)
	var per *ad.Value // [B]
	switch o.Kind {
	case SM:
		per = ad.Add(halfSqNorm(s), trace(s, x))
	case SSM:
		// uᵀ∇_v(s·u) needs only the gradient of s·u: s's gradient with
		// cotangent u, without computing s·u itself.
		u := ad.Const(p.U)
		hu := ad.Grad(s, []*ad.Value{x}, ad.CreateGraph(), ad.Cotangent(u))[0]
		per = ad.Add(halfSqNorm(s), rows(ad.Mul(hu, u)))
	case DSM:
		per = halfSqNorm(ad.Add(s, ad.Const(tensor.Scale(p.Eps, 1/o.Sigma))))
	case MDSM:
		per = halfSqNorm(ad.Add(ad.Div(s, ad.Const(p.Sigmas)), ad.Const(tensor.Scale(p.Eps, 1/(o.Sigma0*o.Sigma0)))))
	default:
		panic(fmt.Sprintf("objective.Outer.PerExample: unknown kind %v", o.Kind))
	}
	return per
}

// rows sums every dimension but the first: [B,...] -> [B].
func rows(x *ad.Value) *ad.Value {
	r := len(x.Shape())
	if r == 1 {
		return x
	}
	var small [8]int // on the stack for the usual ranks
	axes := small[:0]
	for i := range r - 1 {
		axes = append(axes, i+1)
	}
	return ad.Sum(x, false, axes...)
}

func halfSqNorm(x *ad.Value) *ad.Value { return ad.Scale(rows(ad.Square(x)), 0.5) }

// trace returns tr(∇_v s) per example by one backward pass per dimension:
// exact, and meant for small D.
func trace(s, x *ad.Value) *ad.Value {
	flat := ad.Reshape(s, s.Shape()[0], -1)
	d := flat.Shape()[1]
	var tr *ad.Value
	for i := 0; i < d; i++ {
		gi := ad.Grad(ad.SumAll(ad.Slice(flat, 1, i, i+1)), []*ad.Value{x}, ad.CreateGraph())[0]
		ti := ad.Reshape(ad.Slice(ad.Reshape(gi, gi.Shape()[0], -1), 1, i, i+1), -1)
		if tr == nil {
			tr = ti
		} else {
			tr = ad.Add(tr, ti)
		}
	}
	return tr
}
