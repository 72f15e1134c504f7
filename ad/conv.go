package ad

import (
	"github.com/bism-ml/bism/tensor"
)

// Convolution and its two adjoints form a closed family. With the trilinear
// form T(x, w, y) = <Conv2d(x, w), y>:
//
//	Conv2d(x, w)             = dT/dy
//	conv2dInputGrad(y, w)    = dT/dx  (the transposed convolution)
//	conv2dWeightGrad(x, y)   = dT/dw
//
// Each is linear in both of its arguments, and the vector-Jacobian product of
// any of them in either argument is another member of the family, so
// convolutions are differentiable to any order without ever forming a
// Jacobian.

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with w
// [O,C,KH,KW] (see tensor.Conv2d): an [N,O,Ho,Wo] value with
// Ho = (H+2*pad-KH)/stride+1. Conv2dBias adds a bias.
func Conv2d(x, w *Value, stride, pad int) *Value {
	return record("Conv2d", tensor.Conv2d(x.t, w.t, stride, pad), func(g *Value, in []*Value, _ *Value, need []bool, res []*Value) []*Value {
		x, w := in[0], in[1]
		if need[0] {
			res[0] = conv2dInputGrad(g, w, x.Shape(), stride, pad)
		}
		if need[1] {
			res[1] = conv2dWeightGrad(x, g, w.Shape(), stride, pad)
		}
		return res
	}, x, w)
}

// Conv2dBias returns Conv2d(x, w, stride, pad) plus the bias b [O] on every
// output plane, a convolution layer's output, as one operation
// (tensor.Conv2dBias): the values and gradients, at every order, of
// Add(Conv2d(x, w, stride, pad), Reshape(b, O, 1, 1)), whose rules it
// applies in their order.
func Conv2dBias(x, w, b *Value, stride, pad int) *Value {
	o := w.Shape()[0]
	return record("Conv2dBias", tensor.Conv2dBias(x.t, w.t, b.t, stride, pad), func(g *Value, in []*Value, _ *Value, need []bool, res []*Value) []*Value {
		x, w, b := in[0], in[1], in[2]
		if need[2] {
			res[2] = Reshape(SumTo(g, []int{o, 1, 1}), b.Shape()...)
		}
		if need[0] {
			res[0] = conv2dInputGrad(g, w, x.Shape(), stride, pad)
		}
		if need[1] {
			res[1] = conv2dWeightGrad(x, g, w.Shape(), stride, pad)
		}
		return res
	}, x, w, b)
}

// conv2dInputGrad is the adjoint of x -> Conv2d(x, w) applied to g, shaped
// like x. With cotangent a: dg = Conv2d(a, w), dw = conv2dWeightGrad(a, g).
func conv2dInputGrad(g, w *Value, xShape []int, stride, pad int) *Value {
	return record("Conv2dInputGrad", tensor.Conv2dInputGrad(g.t, w.t, xShape, stride, pad), func(a *Value, in []*Value, _ *Value, need []bool, res []*Value) []*Value {
		g, w := in[0], in[1]
		if need[0] {
			res[0] = Conv2d(a, w, stride, pad)
		}
		if need[1] {
			res[1] = conv2dWeightGrad(a, g, w.Shape(), stride, pad)
		}
		return res
	}, g, w)
}

// conv2dWeightGrad is the adjoint of w -> Conv2d(x, w) applied to g, shaped
// like w. With cotangent a: dx = conv2dInputGrad(g, a), dg = Conv2d(x, a).
func conv2dWeightGrad(x, g *Value, wShape []int, stride, pad int) *Value {
	return record("Conv2dWeightGrad", tensor.Conv2dWeightGrad(x.t, g.t, wShape, stride, pad), func(a *Value, in []*Value, _ *Value, need []bool, res []*Value) []*Value {
		x, g := in[0], in[1]
		if need[0] {
			res[0] = conv2dInputGrad(g, a, x.Shape(), stride, pad)
		}
		if need[1] {
			res[1] = Conv2d(x, a, stride, pad)
		}
		return res
	}, x, g)
}

// AvgPool2d averages x [N,C,H,W] over non-overlapping k x k windows, giving
// [N,C,H/k,W/k]; H and W must be divisible by k.
func AvgPool2d(x *Value, k int) *Value {
	return record("AvgPool2d", tensor.AvgPool2d(x.t, k), func(g *Value, _ []*Value, _ *Value, _ []bool, res []*Value) []*Value {
		return fill(res, avgUnpool2d(g, k))
	}, x)
}

// avgUnpool2d is the adjoint of AvgPool2d: each element, divided by k*k, is
// spread over its window.
func avgUnpool2d(g *Value, k int) *Value {
	return record("AvgUnpool2d", tensor.AvgUnpool2d(g.t, k), func(a *Value, _ []*Value, _ *Value, _ []bool, res []*Value) []*Value {
		return fill(res, AvgPool2d(a, k))
	}, g)
}
