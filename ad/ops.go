package ad

import (
	"fmt"

	"github.com/bism-ml/bism/tensor"
)

// Each operation computes its forward value with a tensor kernel and states
// its backward rule (vector-Jacobian product) next to it, in terms of ad
// operations, so that backward passes are themselves differentiable.

// ---- broadcasting binary arithmetic ----

// Add returns a + b with numpy broadcasting.
func Add(a, b *Value) *Value {
	return record("Add", tensor.Add(a.t, b.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		return fill(res, sumToIf(need[0], g, in[0]), sumToIf(need[1], g, in[1]))
	}, a, b)
}

// Sub returns a - b with numpy broadcasting.
func Sub(a, b *Value) *Value {
	return record("Sub", tensor.Sub(a.t, b.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		res[0] = sumToIf(need[0], g, in[0])
		if need[1] {
			res[1] = SumTo(Neg(g), in[1].Shape())
		}
		return res
	}, a, b)
}

// Mul returns a * b elementwise with numpy broadcasting.
func Mul(a, b *Value) *Value {
	return withAddVJP(record("Mul", tensor.Mul(a.t, b.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		if need[0] {
			res[0] = SumTo(Mul(g, in[1]), in[0].Shape())
		}
		if need[1] {
			res[1] = SumTo(Mul(g, in[0]), in[1].Shape())
		}
		return res
	}, a, b), mulAddVJP)
}

// mulAddVJP is Mul's addVJP: acc += G·(the other operand) in one pass
// (tensor.AddMulInPlace), where G, that operand and acc have one shape
// (nothing broadcast, so nothing to sum back).
func mulAddVJP(g *Value, in []*Value, _ *attrs, j int, acc *tensor.Tensor) bool {
	o := in[1-j].t
	if !tensor.SameShape(g.t.Shape(), o.Shape()) || !tensor.SameShape(acc.Shape(), o.Shape()) {
		return false
	}
	tensor.AddMulInPlace(acc, g.t, o)
	return true
}

// Div returns a / b elementwise with numpy broadcasting.
func Div(a, b *Value) *Value {
	return record("Div", tensor.Div(a.t, b.t), func(g *Value, in []*Value, out *Value, _ *attrs, need []bool, res []*Value) []*Value {
		gb := Div(g, in[1])
		if need[0] {
			res[0] = SumTo(gb, in[0].Shape())
		}
		if need[1] {
			// d(a/b)/db = -(a/b)/b
			res[1] = SumTo(Neg(Mul(gb, out)), in[1].Shape())
		}
		return res
	}, a, b)
}

func sumToIf(need bool, g, x *Value) *Value {
	if !need {
		return nil
	}
	return SumTo(g, x.Shape())
}

// SumTo sums x down to shape: the adjoint of broadcasting.
func SumTo(x *Value, shape []int) *Value {
	if tensor.SameShape(x.Shape(), shape) {
		return x
	}
	return record("SumTo", tensor.SumTo(x.t, shape), func(g *Value, in []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, BroadcastTo(g, in[0].Shape()))
	}, x)
}

// BroadcastTo expands x to shape by broadcasting.
func BroadcastTo(x *Value, shape []int) *Value {
	if tensor.SameShape(x.Shape(), shape) {
		return x
	}
	return record("BroadcastTo", tensor.BroadcastTo(x.t, shape), func(g *Value, in []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, SumTo(g, in[0].Shape()))
	}, x)
}

// ---- scalar affine maps ----

// Affine returns a*x + b for scalars a and b.
func Affine(x *Value, a, b float64) *Value {
	out := tensor.Affine(x.t, a, b)
	if !recorded(x) {
		return Const(out)
	}
	return withAttrs(record("Affine", out, affineVJP, x), attrs{f: [2]float64{a, b}})
}

func affineVJP(g *Value, _ []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	return fill(res, Scale(g, at.f[0]))
}

// Scale returns c * x; for c = 1 that is x itself (no copy, no node), as
// in the backward passes of sums and of the unrolled optimiser steps.
func Scale(x *Value, c float64) *Value {
	if c == 1 {
		return x
	}
	return Affine(x, c, 0)
}

// AddScalar returns x + c.
func AddScalar(x *Value, c float64) *Value { return Affine(x, 1, c) }

// OneMinus returns 1 - x.
func OneMinus(x *Value) *Value { return Affine(x, -1, 1) }

// ---- elementwise functions ----

func unary(f tensor.UnaryFunc, x *Value, vjp func(g, x, out *Value) *Value) *Value {
	y := tensor.Apply(f, x.t)
	if !recorded(x) {
		return Const(y)
	}
	return withAttrs(record(f.String(), y, unaryVJP, x), attrs{uf: f, rule: vjp})
}

// unaryVJP is the backward rule of unary's operations: at.rule, the
// function's recorded rule, or in a first-order pass its fused kernel.
func unaryVJP(g *Value, in []*Value, out *Value, at *attrs, _ []bool, res []*Value) []*Value {
	if firstOrder(g, in[0], out) {
		// First-order backward pass: one fused kernel, nothing recorded.
		if d, ok := tensor.UnaryGrad(at.uf, g.t, in[0].t, out.t); ok {
			return fill(res, Const(d))
		}
	}
	return fill(res, at.rule(g, in[0], out))
}

// constOf returns a constant computed from x's data (a mask or a sign): its
// derivative is zero almost everywhere, so it is not recorded.
func constOf(f tensor.UnaryFunc, x *Value) *Value { return Const(tensor.Apply(f, x.t)) }

// Neg returns -x.
func Neg(x *Value) *Value {
	return unary(tensor.FNeg, x, func(g, _, _ *Value) *Value { return Neg(g) })
}

// Exp returns exp(x).
func Exp(x *Value) *Value {
	return unary(tensor.FExp, x, func(g, _, out *Value) *Value { return Mul(g, out) })
}

// Log returns the natural logarithm of x.
func Log(x *Value) *Value {
	return unary(tensor.FLog, x, func(g, x, _ *Value) *Value { return Div(g, x) })
}

// Log1p returns log(1 + x).
func Log1p(x *Value) *Value {
	return unary(tensor.FLog1p, x, func(g, x, _ *Value) *Value { return Div(g, AddScalar(x, 1)) })
}

// Sqrt returns the square root of x.
func Sqrt(x *Value) *Value {
	return unary(tensor.FSqrt, x, func(g, _, out *Value) *Value { return Div(Scale(g, 0.5), out) })
}

// Square returns x*x.
func Square(x *Value) *Value { return unary(tensor.FSquare, x, squareVJP) }

// squareVJP is Square's recorded rule, g·2x (SquaredDistance's too).
func squareVJP(g, x, _ *Value) *Value { return Mul(g, Scale(x, 2)) }

// Abs returns |x|; its derivative at 0 is taken as 0.
func Abs(x *Value) *Value {
	return unary(tensor.FAbs, x, func(g, x, _ *Value) *Value { return Mul(g, constOf(tensor.FSign, x)) })
}

// Sigmoid returns 1/(1+exp(-x)).
func Sigmoid(x *Value) *Value { return unary(tensor.FSigmoid, x, sigmoidVJP) }

// sigmoidVJP is Sigmoid's recorded rule, g·s(1-s) for s = sigmoid(x)
// (SigmoidScaledSum's too).
func sigmoidVJP(g, _, s *Value) *Value { return Mul(g, Mul(s, OneMinus(s))) }

// Softplus returns log(1+exp(x)), computed stably.
func Softplus(x *Value) *Value { return unary(tensor.FSoftplus, x, softplusVJP) }

// softplusVJP is Softplus's recorded rule, g·sigmoid(x) (BernoulliLogProb's
// too).
func softplusVJP(g, x, _ *Value) *Value { return Mul(g, Sigmoid(x)) }

// Tanh returns the hyperbolic tangent of x.
func Tanh(x *Value) *Value {
	return unary(tensor.FTanh, x, func(g, _, t *Value) *Value { return Mul(g, OneMinus(Square(t))) })
}

// ELU returns x for x > 0 and exp(x)-1 otherwise (alpha = 1).
func ELU(x *Value) *Value {
	return unary(tensor.FELU, x, eluBackward)
}

// eluBackward is ELU's recorded backward rule, g·ELU'(x), as one operation
// of g and out: ELU'(x) = 1 for x > 0, else exp(x) = out + 1, and writing it
// through out keeps higher derivatives exact. It has the bits of its
// composition g·(step(x) + (1 - step(x))·(out + 1)) for finite x, and so do
// its first-order gradients (tensor.ELUBackwardGrad): a score-matching loss
// on a network of ELUs differentiates it once more, in one pass instead of
// six over the activations forward and three backward.
func eluBackward(g, x, out *Value) *Value {
	r, _ := tensor.UnaryGrad(tensor.FELU, g.t, x.t, out.t)
	// x is not an input: the rule's derivatives are written through out.
	return withAttrs(record("ELUBackward", r, eluBackwardVJP, g, out), attrs{t: x.t})
}

func eluBackwardVJP(up *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	g, out, x := in[0], in[1], at.t
	if firstOrder(up, g, out) {
		// First-order backward pass: one fused kernel, nothing recorded.
		dg, dout := tensor.ELUBackwardGrad(up.t, g.t, x, out.t, need[0], need[1])
		return fill(res, constOrNil(dg), constOrNil(dout))
	}
	pos := tensor.Apply(tensor.FStep, x)
	neg := Const(tensor.Affine(pos, -1, 1))
	if need[0] {
		res[0] = Mul(up, Add(Const(pos), Mul(neg, AddScalar(out, 1))))
	}
	if need[1] {
		res[1] = Mul(Mul(up, g), neg)
	}
	return res
}

// ReLU returns max(x, 0); its derivative at 0 is taken as 0.
func ReLU(x *Value) *Value {
	return unary(tensor.FReLU, x, func(g, x, _ *Value) *Value { return Mul(g, constOf(tensor.FStep, x)) })
}

// LeakyReLU returns x for x > 0 and slope*x otherwise.
func LeakyReLU(x *Value, slope float64) *Value {
	return withAttrs(record("LeakyReLU", tensor.LeakyReLU(x.t, slope), leakyReLUVJP, x), attrs{f: [2]float64{slope}})
}

func leakyReLUVJP(g *Value, in []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	slope := at.f[0]
	d := tensor.Affine(tensor.Apply(tensor.FStep, in[0].t), 1-slope, slope)
	return fill(res, Mul(g, Const(d)))
}

// ---- reductions ----

// Sum sums over axes (all axes if none given); keepdims keeps them as size 1.
func Sum(x *Value, keepdims bool, axes ...int) *Value {
	out := tensor.Sum(x.t, keepdims, axes...)
	if !recorded(x) {
		return Const(out)
	}
	return withAttrs(record("Sum", out, sumVJP, x), axesAttrs(axes))
}

func sumVJP(g *Value, in []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	return fill(res, expandReduced(g, in[0].Shape(), at.getInts()))
}

// axesAttrs returns attrs holding a reduction's axes.
func axesAttrs(axes []int) (at attrs) {
	at.setInts(axes...)
	return at
}

// SumAll sums every element to a scalar.
func SumAll(x *Value) *Value { return Sum(x, false) }

// Mean averages over axes (all axes if none given).
func Mean(x *Value, keepdims bool, axes ...int) *Value {
	s := Sum(x, keepdims, axes...)
	if s.t.Size() == 0 {
		return s
	}
	return Scale(s, float64(s.t.Size())/float64(x.t.Size()))
}

// Max takes the maximum over axes. Ties share the gradient equally.
func Max(x *Value, keepdims bool, axes ...int) *Value {
	return withAttrs(record("Max", tensor.Max(x.t, keepdims, axes...), maxVJP, x), axesAttrs(axes))
}

func maxVJP(g *Value, in []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	axes := at.getInts()
	return fill(res, Mul(expandReduced(g, in[0].Shape(), axes), Const(tensor.MaxMask(in[0].t, axes...))))
}

// LogSumExp computes log(sum(exp(x))) over axes, stably.
func LogSumExp(x *Value, keepdims bool, axes ...int) *Value {
	return withAttrs(record("LogSumExp", tensor.LogSumExp(x.t, keepdims, axes...), logSumExpVJP, x), axesAttrs(axes))
}

func logSumExpVJP(g *Value, in []*Value, out *Value, at *attrs, _ []bool, res []*Value) []*Value {
	shape, axes := in[0].Shape(), at.getInts()
	kshape, _ := tensor.ReducedShape("LogSumExp", shape, axes, true)
	softmax := Exp(Sub(in[0], Reshape(out, kshape...)))
	return fill(res, Mul(expandReduced(g, shape, axes), softmax))
}

// expandReduced broadcasts a reduction's cotangent back to the input shape.
func expandReduced(g *Value, shape []int, axes []int) *Value {
	// The reduction's shape with its axes kept (axes were checked forward).
	var buf [8]int
	kshape := append(buf[:0], shape...)
	if len(axes) == 0 {
		for i := range kshape {
			kshape[i] = 1
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += len(shape)
		}
		kshape[a] = 1
	}
	return BroadcastTo(Reshape(g, kshape...), shape)
}

// ---- layout ----

// Reshape returns x with a new shape of the same size (one dimension may be -1).
func Reshape(x *Value, shape ...int) *Value {
	out := x.t.Reshape(shape...)
	if tensor.SameShape(out.Shape(), x.Shape()) {
		return x
	}
	return record("Reshape", out, func(g *Value, in []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, Reshape(g, in[0].Shape()...))
	}, x)
}

// Permute reorders dimensions: out.shape[i] = x.shape[perm[i]].
func Permute(x *Value, perm ...int) *Value {
	return withAttrs(record("Permute", tensor.Permute(x.t, perm...), permuteVJP, x), axesAttrs(perm))
}

func permuteVJP(g *Value, _ []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	return fill(res, Permute(g, tensor.InversePerm(at.getInts())...))
}

// Transpose swaps the last two dimensions.
func Transpose(x *Value) *Value {
	return record("Transpose", tensor.Transpose(x.t), func(g *Value, _ []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, Transpose(g))
	}, x)
}

// Slice returns x[start:end] along axis.
func Slice(x *Value, axis, start, end int) *Value {
	return withAttrs(record("Slice", tensor.Slice(x.t, axis, start, end), sliceVJP, x), attrs{ints: [4]int{axis, start}})
}

func sliceVJP(g *Value, in []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	ax, start := at.ints[0], at.ints[1]
	if ax < 0 {
		ax += len(in[0].Shape())
	}
	return fill(res, Pad(g, ax, start, in[0].Shape()[ax]))
}

// Pad places x at offset inside zeros of length size along axis (the adjoint of Slice).
func Pad(x *Value, axis, offset, size int) *Value {
	return withAttrs(record("Pad", tensor.Pad(x.t, axis, offset, size), padVJP, x), attrs{ints: [4]int{axis, offset}})
}

func padVJP(g *Value, in []*Value, _ *Value, at *attrs, _ []bool, res []*Value) []*Value {
	ax, offset := at.ints[0], at.ints[1]
	if ax < 0 {
		ax += len(in[0].Shape())
	}
	return fill(res, Slice(g, ax, offset, offset+in[0].Shape()[ax]))
}

// Concat joins values along axis.
func Concat(axis int, xs ...*Value) *Value {
	ts := make([]*tensor.Tensor, len(xs))
	for i, x := range xs {
		ts[i] = x.t
	}
	return withAttrs(record("Concat", tensor.Concat(axis, ts...), concatVJP, xs...), attrs{ints: [4]int{axis}})
}

func concatVJP(g *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	ax := at.ints[0]
	if ax < 0 {
		ax += len(in[0].Shape())
	}
	off := 0
	for i, x := range in {
		n := x.Shape()[ax]
		if need[i] {
			res[i] = Slice(g, ax, off, off+n)
		}
		off += n
	}
	return res
}

// ---- matrix products ----

// MatMul returns op(a) @ op(b), op transposing the last two dimensions when
// its flag is set. Operands are 2-D or batched 3-D (see tensor.MatMul).
// Gradients are matrix products too, at every order: no outer products are
// ever formed.
func MatMul(a, b *Value, transA, transB bool) *Value {
	out := tensor.MatMul(a.t, b.t, transA, transB)
	if !recorded(a, b) {
		return Const(out)
	}
	v := withAddVJP(record("MatMul", out, matMulRule, a, b), matMulAddVJP)
	return withAttrs(v, attrs{flags: [2]bool{transA, transB}})
}

// matMulRule is MatMul's backward rule (at.flags: the transposes).
func matMulRule(g *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	matMulVJP(res, g, in[0], in[1], at.flags[0], at.flags[1], need)
	return res
}

// matMulVJP sets r[0] and r[1], where need asks for them, to MatMul's
// vector-Jacobian products for a and b with cotangent g.
func matMulVJP(r []*Value, g, a, b *Value, transA, transB bool, need []bool) {
	if need[0] {
		if transA { // A^T is used: dA = op(B) G^T
			r[0] = MatMul(b, g, transB, true)
		} else { // dA = G op(B)^T
			r[0] = MatMul(g, b, false, !transB)
		}
		r[0] = SumTo(r[0], a.Shape())
	}
	if need[1] {
		if transB { // dB = G^T op(A)
			r[1] = MatMul(g, a, true, transA)
		} else { // dB = op(A)^T G
			r[1] = MatMul(a, g, !transA, false)
		}
		r[1] = SumTo(r[1], b.Shape())
	}
}

// Linear returns x·w + b for x [B, in], w [in, out] and b [out]: a dense
// layer's pre-activation in one operation (tensor.MatMulBias), with the
// bits of Add(MatMul(x, w, false, false), b) and that composition's rules
// at every order (MatMul's for x and w, Add's for b: db = Σ_rows G). Other
// shapes get the composition itself.
func Linear(x, w, b *Value) *Value {
	xs, ws, bs := x.Shape(), w.Shape(), b.Shape()
	if len(xs) != 2 || len(ws) != 2 || len(bs) != 1 || bs[0] != ws[1] {
		return Add(MatMul(x, w, false, false), b)
	}
	return withAddVJP(record("Linear", tensor.MatMulBias(x.t, w.t, b.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		matMulVJP(res, g, in[0], in[1], false, false, need)
		if need[2] {
			res[2] = SumTo(g, in[2].Shape())
		}
		return res
	}, x, w, b), linearAddVJP)
}

// linearAddVJP is Linear's addVJP: x's and w's products, as MatMul's.
func linearAddVJP(g *Value, in []*Value, _ *attrs, j int, acc *tensor.Tensor) bool {
	return j < 2 && matMulAddVJP(g, in, &attrs{}, j, acc)
}

// matMulAddVJP is MatMul's addVJP: a weight's gradient from several
// products (a step's positive and negative phases, the unrolled steps' uses
// of a parameter) gets each one added by the matrix kernels, where they add
// exactly.
func matMulAddVJP(g *Value, in []*Value, at *attrs, j int, acc *tensor.Tensor) bool {
	a, b := in[0].t, in[1].t
	transA, transB := at.flags[0], at.flags[1]
	switch {
	case j == 0 && transA:
		return tensor.MatMulAddInPlace(acc, b, g.t, transB, true)
	case j == 0:
		return tensor.MatMulAddInPlace(acc, g.t, b, false, !transB)
	case transB:
		return tensor.MatMulAddInPlace(acc, g.t, a, true, transA)
	default:
		return tensor.MatMulAddInPlace(acc, a, g.t, !transA, false)
	}
}

// Dot returns sum(a * b) as a scalar.
func Dot(a, b *Value) *Value { return SumAll(Mul(a, b)) }

// Inner returns Σ_i Dot(xs[i], us[i]), the inner product of two lists of
// values shaped alike (a parameter set's gradient and a direction):
// differentiated with us held constant it is a Hessian-vector product.
func Inner(xs, us []*Value) *Value {
	if len(xs) != len(us) || len(xs) == 0 {
		panic(fmt.Sprintf("ad.Inner: %d values against %d", len(xs), len(us)))
	}
	s := Dot(xs[0], us[0])
	for i := 1; i < len(xs); i++ {
		s = Add(s, Dot(xs[i], us[i]))
	}
	return s
}

// Inverse returns the inverse of a square matrix. Its gradient,
// -X^{-T} G X^{-T}, is written with the output so higher orders follow.
func Inverse(x *Value) *Value {
	return record("Inverse", tensor.Inverse(x.t), func(g *Value, _ []*Value, y *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, Neg(MatMul(MatMul(y, g, true, false), y, false, true)))
	}, x)
}

// Cholesky returns the lower-triangular factor L of a symmetric
// positive-definite matrix A = L Lᵀ. The gradient is the symmetric
// A̅ = 1/2 (S + Sᵀ) with S = L⁻ᵀ Φ(Lᵀ L̅) L⁻¹, Φ taking the lower triangle
// with the diagonal halved (Murray, 2016); it is correct for symmetric
// perturbations of A, which is how A arises in bism's models.
func Cholesky(x *Value) *Value {
	return record("Cholesky", tensor.Cholesky(x.t), func(g *Value, _ []*Value, l *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		n := l.Shape()[0]
		phi := Mul(MatMul(l, g, true, false), Const(tensor.TrilMask(l.DType(), n, 0.5)))
		linv := Inverse(l)
		s := MatMul(MatMul(linv, phi, true, false), linv, false, false)
		return fill(res, Scale(Add(s, Transpose(s)), 0.5))
	}, x)
}

// LinComb returns a*x + b*y in one pass (x and y of the same shape; other
// shapes fall back to broadcasting Add of Scales).
func LinComb(a float64, x *Value, b float64, y *Value) *Value {
	if !tensor.SameShape(x.Shape(), y.Shape()) {
		return Add(Scale(x, a), Scale(y, b))
	}
	return withAttrs(record("LinComb", tensor.LinComb(a, x.t, b, y.t), linCombVJP, x, y), attrs{f: [2]float64{a, b}})
}

func linCombVJP(g *Value, _ []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	if need[0] {
		res[0] = Scale(g, at.f[0])
	}
	if need[1] {
		res[1] = Scale(g, at.f[1])
	}
	return res
}

// AdamDirection returns m / (sqrt(v) + eps), Adam's update direction, in
// one pass. With r = 1/(sqrt(v)+eps): d/dm = r and d/dv = -m r² / (2 sqrt(v)).
func AdamDirection(m, v *Value, eps float64) *Value {
	return withAttrs(record("AdamDirection", tensor.AdamDirection(m.t, v.t, eps), adamDirectionRule, m, v), attrs{f: [2]float64{eps}})
}

func adamDirectionRule(g *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	m, v, eps := in[0], in[1], at.f[0]
	if firstOrder(g, m, v) {
		// First-order backward pass: one fused kernel, nothing recorded.
		gm, gv := tensor.AdamDirectionGrad(g.t, m.t, v.t, eps)
		return fill(res, Const(gm), Const(gv))
	}
	res[0], res[1] = adamDirectionVJP(g, m, v, eps, need[0], need[1])
	return res
}

// adamDirectionVJP is the recorded backward pass of AdamDirection: its
// products for m and v, where asked for.
func adamDirectionVJP(g, m, v *Value, eps float64, needM, needV bool) (dm, dv *Value) {
	sq := Sqrt(v)
	r := Div(Const(tensor.OnesLike(v.t)), AddScalar(sq, eps))
	if needM {
		dm = Mul(g, r)
	}
	if needV {
		// -g * out * r / (2 sqrt(v)), with out = m r.
		// The tiny shift keeps entries with v = 0 (hence m = 0) at 0, not 0/0.
		dv = Neg(Div(Mul(Mul(g, Mul(m, r)), r), Affine(sq, 2, 1e-30)))
	}
	return dm, dv
}

// The unrolled Adam steps keep both moments in one value s = [m; v] of
// shape [2, p...] (see tensor.AdamMomentsPacked): the moments' update is one
// node whose first-order backward pass is one fused kernel.

// AdamMomentsPacked returns [b1 m + (1-b1) g; b2 v + (1-b2) g²] for s = [m; v].
// Its derivatives: d/ds = [b1; b2], d/dg = (1-b1) on m's half plus
// 2 (1-b2) g on v's half.
func AdamMomentsPacked(s, g *Value, b1, b2 float64) *Value {
	return withAttrs(record("AdamMomentsPacked", tensor.AdamMomentsPacked(s.t, g.t, b1, b2), adamMomentsPackedVJP, s, g), attrs{f: [2]float64{b1, b2}})
}

func adamMomentsPackedVJP(up *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	g, b1, b2 := in[1], at.f[0], at.f[1]
	if firstOrder(up, g) {
		// First-order backward pass: one fused kernel, nothing recorded.
		gs, gg := tensor.AdamMomentsPackedGrad(up.t, g.t, b1, b2)
		return fill(res, Const(gs), Const(gg))
	}
	um, uv := unpack(up)
	if need[0] {
		res[0] = pack(Scale(um, b1), Scale(uv, b2))
	}
	if need[1] {
		res[1] = Add(Mul(Scale(uv, 1-b2), Scale(g, 2)), Scale(um, 1-b1))
	}
	return res
}

// AdamApplyPacked returns x - step m / (sqrt(v) + eps) for s = [m; v], Adam's
// parameter update from the updated moments. Its derivatives: d/dx = 1 and
// -step times AdamDirection's for m and v.
func AdamApplyPacked(x, s *Value, step, eps float64) *Value {
	v := withAddVJP(record("AdamApplyPacked", tensor.AdamApplyPacked(x.t, s.t, step, eps), adamApplyPackedVJP, x, s), adamApplyPackedAddVJP)
	return withAttrs(v, attrs{f: [2]float64{step, eps}})
}

func adamApplyPackedVJP(up *Value, in []*Value, _ *Value, at *attrs, need []bool, res []*Value) []*Value {
	s, step, eps := in[1], at.f[0], at.f[1]
	res[0] = up
	if !need[1] {
		return res
	}
	if firstOrder(up, s) {
		res[1] = Const(tensor.AdamApplyPackedGrad(up.t, s.t, step, eps))
		return res
	}
	m, v := unpack(s)
	res[1] = pack(adamDirectionVJP(Scale(up, -step), m, v, eps, true, true))
	return res
}

func adamApplyPackedAddVJP(up *Value, in []*Value, at *attrs, j int, acc *tensor.Tensor) bool {
	if j != 1 {
		return false // x's product is up itself, handed on
	}
	tensor.AdamApplyPackedGradAdd(acc, up.t, in[1].t, at.f[0], at.f[1])
	return true
}

// withAddVJP gives v's node, if it has one, a rule that adds a product into
// an owned gradient (node.addVJP).
func withAddVJP(v *Value, add addVJPFunc) *Value {
	if v.node != nil {
		v.node.addVJP = add
	}
	return v
}

// unpack returns the halves m and v of s = [m; v].
func unpack(s *Value) (m, v *Value) {
	p := s.Shape()[1:]
	return Reshape(Slice(s, 0, 0, 1), p...), Reshape(Slice(s, 0, 1, 2), p...)
}

// pack returns [m; v] of shape [2, p...] for m and v of shape p.
func pack(m, v *Value) *Value {
	shape := append([]int{1}, m.Shape()...)
	return Concat(0, Reshape(m, shape...), Reshape(v, shape...))
}
