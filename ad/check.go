package ad

import (
	"fmt"
	"math"
	"strings"

	"github.com/bism-ml/bism/tensor"
)

// CheckOptions tunes CheckGrad. Zero values select the defaults.
type CheckOptions struct {
	Order int     // highest derivative order to check (default 1)
	Eps   float64 // finite-difference step (default 1e-5)
	Tol   float64 // largest accepted relative error (default 1e-6)
	Seed  uint64  // seed for the random projections used above first order
}

// CheckResult is the worst relative error found at one order for one input.
type CheckResult struct {
	Order, Input int
	RelErr       float64
}

// CheckGrad compares derivatives of f against central finite differences, in
// float64, up to opts.Order: the analogue of PyTorch's gradcheck and
// gradgradcheck, to any order.
//
// f maps values shaped like inputs to an output of any shape; a non-scalar
// output is contracted with a fixed random tensor. Order 1 checks Grad(f),
// both ways an operation can run its backward pass: the fused first-order
// kernels (constants in, nothing recorded) and the recorded vector-Jacobian
// products that CreateGraph uses, so that a wrong recorded VJP cannot hide
// behind its own derivatives at higher orders. Order k checks the gradient
// of the scalar function
// x -> sum_i <grad_i f_{k-1}(x), r_i> built with CreateGraph, where r_i are
// fixed random directions, so every backward rule is differentiated k-1
// times. The relative error of a gradient is max|analytic - numeric| divided
// by max(max|numeric|, 1e-8). Non-smooth functions must be checked away from
// their kinks.
func CheckGrad(f func(xs []*Value) *Value, inputs []*tensor.Tensor, opts CheckOptions) ([]CheckResult, error) {
	if opts.Order == 0 {
		opts.Order = 1
	}
	if opts.Eps == 0 {
		opts.Eps = 1e-5
	}
	if opts.Tol == 0 {
		opts.Tol = 1e-6
	}
	rng := tensor.NewRNG(opts.Seed + 1)
	xs64 := make([]*tensor.Tensor, len(inputs))
	for i, x := range inputs {
		xs64[i] = x.As(tensor.Float64).Clone()
	}

	// level is the scalar function checked at the current order.
	level := scalarize(f, rng)
	var results []CheckResult
	var failures []string
	for order := 1; order <= opts.Order; order++ {
		fused, recorded := evalGrad(level, xs64, false), evalGrad(level, xs64, true)
		for i := range xs64 {
			numeric := numericGrad(level, xs64, i, opts.Eps)
			e, er := relErr(fused[i], numeric), relErr(recorded[i], numeric)
			results = append(results, CheckResult{Order: order, Input: i, RelErr: math.Max(e, er)})
			if !(e <= opts.Tol) {
				failures = append(failures, fmt.Sprintf("order %d input %d: relative error %.3g > %.3g", order, i, e, opts.Tol))
			}
			if !(er <= opts.Tol) {
				failures = append(failures, fmt.Sprintf("order %d input %d, recorded backward pass: relative error %.3g > %.3g", order, i, er, opts.Tol))
			}
		}
		level = nextLevel(level, xs64, rng)
	}
	if len(failures) > 0 {
		return results, fmt.Errorf("ad.CheckGrad: %s", strings.Join(failures, "; "))
	}
	return results, nil
}

func scalarize(f func([]*Value) *Value, rng *tensor.RNG) func([]*Value) *Value {
	var r *tensor.Tensor
	return func(xs []*Value) *Value {
		y := f(xs)
		if y.t.Size() == 1 {
			return Reshape(y)
		}
		if r == nil {
			r = rng.Normal(tensor.Float64, 0, 1, y.Shape()...)
		}
		return Dot(y, Const(r))
	}
}

// nextLevel returns x -> sum_i <grad_i level(x), r_i> with fixed random r_i.
func nextLevel(level func([]*Value) *Value, xs []*tensor.Tensor, rng *tensor.RNG) func([]*Value) *Value {
	rs := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		rs[i] = rng.Normal(tensor.Float64, 0, 1, x.Shape()...)
	}
	return func(vs []*Value) *Value {
		gs := Grad(level(vs), vs, CreateGraph())
		var s *Value
		for i, g := range gs {
			d := Dot(g, Const(rs[i]))
			if s == nil {
				s = d
			} else {
				s = Add(s, d)
			}
		}
		return s
	}
}

// evalGrad returns the gradient of level at xs, through the recorded
// vector-Jacobian products when recorded (CreateGraph), else through the
// fused first-order kernels.
func evalGrad(level func([]*Value) *Value, xs []*tensor.Tensor, recorded bool) []*tensor.Tensor {
	vs := make([]*Value, len(xs))
	for i, x := range xs {
		vs[i] = Var(x)
	}
	var opts []GradOption
	if recorded {
		opts = append(opts, CreateGraph())
	}
	gs := Grad(level(vs), vs, opts...)
	out := make([]*tensor.Tensor, len(gs))
	for i, g := range gs {
		out[i] = g.t
	}
	return out
}

func evalAt(level func([]*Value) *Value, xs []*tensor.Tensor) float64 {
	vs := make([]*Value, len(xs))
	for i, x := range xs {
		vs[i] = Var(x)
	}
	return level(vs).Item()
}

func numericGrad(level func([]*Value) *Value, xs []*tensor.Tensor, i int, eps float64) *tensor.Tensor {
	x := xs[i]
	g := tensor.ZerosLike(x)
	for j := 0; j < x.Size(); j++ {
		orig := x.Flat(j)
		x.SetFlat(j, orig+eps)
		fp := evalAt(level, xs)
		x.SetFlat(j, orig-eps)
		fm := evalAt(level, xs)
		x.SetFlat(j, orig)
		g.SetFlat(j, (fp-fm)/(2*eps))
	}
	return g
}

func relErr(a, n *tensor.Tensor) float64 {
	var diff, scale float64
	for j := 0; j < n.Size(); j++ {
		d := math.Abs(a.Flat(j) - n.Flat(j))
		if math.IsNaN(d) {
			return math.NaN()
		}
		diff = math.Max(diff, d)
		scale = math.Max(scale, math.Abs(n.Flat(j)))
	}
	return diff / math.Max(scale, 1e-8)
}
