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
	return withAttrs(record("Conv2d", tensor.Conv2d(x.t, w.t, stride, pad), conv2dVJP, x, w), convAttrs(stride, pad))
}

// convAttrs keeps a convolution's stride and padding (ints[0], ints[1]).
func convAttrs(stride, pad int) attrs { return attrs{ints: [4]int{stride, pad}} }

func conv2dVJP(g *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	x, w, stride, pad := in[0], in[1], at.ints[0], at.ints[1]
	if need[0] {
		res[0] = conv2dInputGrad(g, w, x.Shape(), stride, pad)
	}
	if need[1] {
		res[1] = conv2dWeightGrad(x, g, w.Shape(), stride, pad)
	}
	return res
}

// Conv2dBias returns Conv2d(x, w, stride, pad) plus the bias b [O] on every
// output plane, a convolution layer's output, as one operation
// (tensor.Conv2dBias): the values and gradients, at every order, of
// Add(Conv2d(x, w, stride, pad), Reshape(b, O, 1, 1)), whose rules it
// applies in their order.
func Conv2dBias(x, w, b *Value, stride, pad int) *Value {
	return withAttrs(record("Conv2dBias", tensor.Conv2dBias(x.t, w.t, b.t, stride, pad), conv2dBiasVJP, x, w, b), convAttrs(stride, pad))
}

func conv2dBiasVJP(g *Value, in []*Value, out *Value, at *attrs, need []bool, res []*Value) []*Value {
	if b := in[2]; need[2] {
		res[2] = Reshape(SumTo(g, []int{b.Shape()[0], 1, 1}), b.Shape()...)
	}
	return conv2dVJP(g, in, out, at, need, res)
}

// conv2dInputGrad is the adjoint of x -> Conv2d(x, w) applied to g, shaped
// like x. With cotangent a: dg = Conv2d(a, w), dw = conv2dWeightGrad(a, g).
func conv2dInputGrad(g, w *Value, xShape []int, stride, pad int) *Value {
	return withAttrs(record("Conv2dInputGrad", tensor.Conv2dInputGrad(g.t, w.t, xShape, stride, pad), conv2dInputGradVJP, g, w), convAttrs(stride, pad))
}

func conv2dInputGradVJP(a *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	g, w, stride, pad := in[0], in[1], at.ints[0], at.ints[1]
	if need[0] {
		res[0] = Conv2d(a, w, stride, pad)
	}
	if need[1] {
		res[1] = conv2dWeightGrad(a, g, w.Shape(), stride, pad)
	}
	return res
}

// conv2dWeightGrad is the adjoint of w -> Conv2d(x, w) applied to g, shaped
// like w. With cotangent a: dx = conv2dInputGrad(g, a), dg = Conv2d(x, a).
func conv2dWeightGrad(x, g *Value, wShape []int, stride, pad int) *Value {
	return withAttrs(record("Conv2dWeightGrad", tensor.Conv2dWeightGrad(x.t, g.t, wShape, stride, pad), conv2dWeightGradVJP, x, g), convAttrs(stride, pad))
}

func conv2dWeightGradVJP(a *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	x, g, stride, pad := in[0], in[1], at.ints[0], at.ints[1]
	if need[0] {
		res[0] = conv2dInputGrad(g, a, x.Shape(), stride, pad)
	}
	if need[1] {
		res[1] = Conv2d(x, a, stride, pad)
	}
	return res
}

// AvgPool2d averages x [N,C,H,W] over non-overlapping k x k windows, giving
// [N,C,H/k,W/k]; H and W must be divisible by k.
func AvgPool2d(x *Value, k int) *Value {
	return withAttrs(record("AvgPool2d", tensor.AvgPool2d(x.t, k), avgPool2dVJP, x), attrs{ints: [4]int{k}})
}

func avgPool2dVJP(g *Value, _ []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	return fill(res, avgUnpool2d(g, at.ints[0]))
}

// avgUnpool2d is the adjoint of AvgPool2d: each element, divided by k*k, is
// spread over its window.
func avgUnpool2d(g *Value, k int) *Value {
	return withAttrs(record("AvgUnpool2d", tensor.AvgUnpool2d(g.t, k), avgUnpool2dVJP, g), attrs{ints: [4]int{k}})
}

func avgUnpool2dVJP(a *Value, _ []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	return fill(res, AvgPool2d(a, at.ints[0]))
}
