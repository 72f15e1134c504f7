package tensor

import (
	"fmt"
	"math"
)

// ---- binary operations with numpy broadcasting ----

type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

var binNames = [...]string{"Add", "Sub", "Mul", "Div"}

// Add returns a + b with broadcasting.
func Add(a, b *Tensor) *Tensor { return binary(opAdd, a, b) }

// Sub returns a - b with broadcasting.
func Sub(a, b *Tensor) *Tensor { return binary(opSub, a, b) }

// Mul returns a * b (elementwise) with broadcasting.
func Mul(a, b *Tensor) *Tensor { return binary(opMul, a, b) }

// Div returns a / b with broadcasting.
func Div(a, b *Tensor) *Tensor { return binary(opDiv, a, b) }

func binary(op binOp, a, b *Tensor) *Tensor {
	name := binNames[op]
	sameDType(name, a, b)
	// Fast paths without index arithmetic: equal shapes, or a scalar operand.
	if SameShape(a.shape, b.shape) || b.Size() == 1 && len(b.shape) <= len(a.shape) || a.Size() == 1 && len(a.shape) <= len(b.shape) {
		shape, sa, sb := a.shape, 1, 1
		if b.Size() == 1 && !SameShape(a.shape, b.shape) {
			sb = 0
		} else if a.Size() == 1 && !SameShape(a.shape, b.shape) {
			shape, sa = b.shape, 0
		}
		out := ArenaOf(a, b).empty(a.dtype, shape...)
		n := out.Size()
		if a.dtype == Float32 {
			flatBinary(op, out.f32, a.f32, b.f32, n, sa, sb)
		} else {
			flatBinary(op, out.f64, a.f64, b.f64, n, sa, sb)
		}
		return out
	}
	var buf [4]int
	shape := broadcastShapes(buf[:0], name, a.shape, b.shape)
	out := ArenaOf(a, b).empty(a.dtype, shape...)
	if rows, n, ok := small2(shape); ok {
		// A small 2-D result (operands of at most 2 dimensions), row by row.
		ao, ai, _ := stride2(a.shape, rows, n)
		bo, bi, _ := stride2(b.shape, rows, n)
		if a.dtype == Float32 {
			binRows(op, out.f32, a.f32, b.f32, rows, n, ao, ai, bo, bi)
		} else {
			binRows(op, out.f64, a.f64, b.f64, rows, n, ao, ai, bo, bi)
		}
		return out
	}
	var os, as, bs [maxLoopRank]int
	l := newStridedLoop(shape, contiguousStrides(os[:], shape), broadcastStrides(as[:], name, a.shape, shape), broadcastStrides(bs[:], name, b.shape, shape))
	if a.dtype == Float32 {
		runLoop(&l, loopBinary, op, false, out.f32, a.f32, b.f32)
	} else {
		runLoop(&l, loopBinary, op, false, out.f64, a.f64, b.f64)
	}
	return out
}

// binRows computes rows of n results, operand x's row r starting at r*xo
// with stride xi. Rows too short for binRow's vector kernels (n < 16) are
// computed here with binRow's scalar operations, without a call or a
// reslice per row (which cost more than a row of a few elements).
func binRows[T Float](op binOp, d, a, b []T, rows, n, ao, ai, bo, bi int) {
	if n >= 16 {
		for r := range rows {
			binRow(op, d[r*n:], a[r*ao:], b[r*bo:], n, ai, bi)
		}
		return
	}
	d = d[:rows*n]
	if d32, ok := any(d).([]float32); ok {
		done := binRowsVec32(op, d32, any(a).([]float32), any(b).([]float32), rows, n, ao, ai, bo, bi)
		if done == rows {
			return
		}
		d, a, b, rows = d[done*n:], a[done*ao:], b[done*bo:], rows-done
	}
	switch op {
	case opAdd:
		for r := range rows {
			for j, i, ia, ib := 0, r*n, r*ao, r*bo; j < n; j, ia, ib = j+1, ia+ai, ib+bi {
				d[i+j] = a[ia] + b[ib]
			}
		}
	case opSub:
		for r := range rows {
			for j, i, ia, ib := 0, r*n, r*ao, r*bo; j < n; j, ia, ib = j+1, ia+ai, ib+bi {
				d[i+j] = a[ia] - b[ib]
			}
		}
	case opMul:
		for r := range rows {
			for j, i, ia, ib := 0, r*n, r*ao, r*bo; j < n; j, ia, ib = j+1, ia+ai, ib+bi {
				d[i+j] = a[ia] * b[ib]
			}
		}
	default:
		for r := range rows {
			for j, i, ia, ib := 0, r*n, r*ao, r*bo; j < n; j, ia, ib = j+1, ia+ai, ib+bi {
				d[i+j] = a[ia] / b[ib]
			}
		}
	}
}

// binRowsVec32 computes the leading rows of binRows (n < 16) with the
// vector kernels, sixteen rows (16n values, a multiple of 16) at a time,
// and returns how many rows it computed: each operand is either whole
// rows (o = n, i = 1), one row for all (o = 0, i = 1; tiled sixteen times
// on the stack) or one value (o = i = 0). A column for all (o = 1, i = 0)
// is left to the scalar loops. The operations are binRow's, element by
// element, so the results are the same bits.
func binRowsVec32(op binOp, d, a, b []float32, rows, n, ao, ai, bo, bi int) int {
	if !hasVecMath || rows < 16 {
		return 0
	}
	var tiles [2][16 * 15]float32
	av, sa, astep, aok := rowsOperand(a, n, ao, ai, tiles[0][:16*n])
	bv, sb, bstep, bok := rowsOperand(b, n, bo, bi, tiles[1][:16*n])
	if !aok || !bok || (sa == 0 && sb == 0) {
		return 0
	}
	m := 16 * n
	done := 0
	for ; done+16 <= rows; done += 16 {
		if vecBin32(op, d[done*n:], av[done/16*astep:], bv[done/16*bstep:], m, sa, sb) != m {
			break // an operation without a vector kernel
		}
	}
	return done
}

// rowsOperand is one operand of binRowsVec32 as the vector kernels take
// it: its values (whole rows, or the row tiled into tile, or the one
// value), their stride (1 or 0) and how far to advance per sixteen rows.
func rowsOperand(x []float32, n, o, i int, tile []float32) (v []float32, stride, step int, ok bool) {
	switch {
	case o == n && i == 1:
		return x, 1, 16 * n, true
	case o == 0 && i == 1:
		copy(tile, x[:n])
		for l := n; l < len(tile); l *= 2 {
			copy(tile[l:], tile[:l])
		}
		return tile, 1, 0, true
	case o == 0 && i == 0:
		return x[:1], 0, 0, true
	}
	return nil, 0, 0, false
}

func flatBinary[T Float](op binOp, d, a, b []T, n, sa, sb int) {
	if !splits(n, grainElems) {
		binRow(op, d, a, b, n, sa, sb)
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.i[0], k.i[1], k.op = d, a, b, sa, sb, int(op)
	k.blocks(n, grainElems, &binRowBody)
}

// binRowKernel is binRow on a kernel's operands over [lo, hi).
func binRowKernel[T Float](k *kernel[T], lo, hi int) {
	sa, sb := k.i[0], k.i[1]
	binRow(binOp(k.op), k.s[0][lo:], k.s[1][lo*sa:], k.s[2][lo*sb:], hi-lo, sa, sb)
}

var binRowBody = kernelBody{binRowKernel[float32], binRowKernel[float64]}

// binRow computes d[i] = a[i*sa] op b[i*sb] for i < n. The strides are 0 or 1
// after coalescing in all common cases, which get their own tight loops.
func binRow[T Float](op binOp, d, a, b []T, n, sa, sb int) {
	if d32, ok := any(d).([]float32); ok && n >= 16 {
		if k := vecBin32(op, d32, any(a).([]float32), any(b).([]float32), n, sa, sb); k > 0 {
			d, n = d[k:], n-k
			if sa == 1 {
				a = a[k:]
			}
			if sb == 1 {
				b = b[k:]
			}
		}
	}
	d = d[:n]
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = a[i] + b[i]
			}
		case opSub:
			for i := range d {
				d[i] = a[i] - b[i]
			}
		case opMul:
			for i := range d {
				d[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range d {
				d[i] = a[i] / b[i]
			}
		}
	case sa == 1 && sb == 0:
		a, y := a[:n], b[0]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = a[i] + y
			}
		case opSub:
			for i := range d {
				d[i] = a[i] - y
			}
		case opMul:
			for i := range d {
				d[i] = a[i] * y
			}
		case opDiv:
			for i := range d {
				d[i] = a[i] / y
			}
		}
	case sa == 0 && sb == 1:
		x, b := a[0], b[:n]
		switch op {
		case opAdd:
			for i := range d {
				d[i] = x + b[i]
			}
		case opSub:
			for i := range d {
				d[i] = x - b[i]
			}
		case opMul:
			for i := range d {
				d[i] = x * b[i]
			}
		case opDiv:
			for i := range d {
				d[i] = x / b[i]
			}
		}
	default:
		for i := range d {
			x, y := a[i*sa], b[i*sb]
			switch op {
			case opAdd:
				d[i] = x + y
			case opSub:
				d[i] = x - y
			case opMul:
				d[i] = x * y
			case opDiv:
				d[i] = x / y
			}
		}
	}
}

// ---- scalar affine ----

// Scale returns c * x.
func Scale(x *Tensor, c float64) *Tensor { return Affine(x, c, 0) }

// AddScalar returns x + c.
func AddScalar(x *Tensor, c float64) *Tensor { return Affine(x, 1, c) }

// Affine returns a*x + b elementwise.
func Affine(x *Tensor, a, b float64) *Tensor {
	out := x.arena.empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		affine(out.f32, x.f32, float32(a), float32(b))
	} else {
		affine(out.f64, x.f64, a, b)
	}
	return out
}

func affine[T Float](d, x []T, a, b T) {
	if !splits(len(x), grainElems) {
		affineRange(d, x, a, b, 0, len(x))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.c[0], k.c[1] = d, x, a, b
	k.blocks(len(x), grainElems, &affineRangeBody)
}

// affineRange is affine over [lo, hi).
func affineRange[T Float](d, x []T, a, b T, lo, hi int) {
	dd, xx := d[lo:hi], x[lo:hi]
	if d32, ok := any(dd).([]float32); ok {
		k := vecAffine(d32, any(xx).([]float32), float32(a), float32(b))
		dd, xx = dd[k:], xx[k:]
	}
	for i, v := range xx {
		dd[i] = a*v + b
	}
}

// affineRangeKernel is affineRange on a kernel's operands.
func affineRangeKernel[T Float](k *kernel[T], lo, hi int) {
	affineRange(k.s[0], k.s[1], k.c[0], k.c[1], lo, hi)
}

var affineRangeBody = kernelBody{affineRangeKernel[float32], affineRangeKernel[float64]}

// ---- unary functions ----

// UnaryFunc names an elementwise function of one argument.
type UnaryFunc int

// The elementwise functions. Step is 1 where x > 0 and 0 elsewhere; Sign is
// -1, 0 or 1. ELU uses alpha = 1.
const (
	FNeg UnaryFunc = iota
	FExp
	FLog
	FLog1p
	FSqrt
	FSquare
	FAbs
	FSigmoid
	FSoftplus
	FTanh
	FELU
	FReLU
	FStep
	FSign
	FRecip
)

var unaryNames = [...]string{"Neg", "Exp", "Log", "Log1p", "Sqrt", "Square", "Abs", "Sigmoid", "Softplus", "Tanh", "ELU", "ReLU", "Step", "Sign", "Recip"}

func (f UnaryFunc) String() string { return unaryNames[f] }

// Apply returns f(x) elementwise.
func Apply(f UnaryFunc, x *Tensor) *Tensor {
	out := x.arena.empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		applyUnary(f, out.f32, x.f32)
	} else {
		applyUnary(f, out.f64, x.f64)
	}
	return out
}

func applyUnary[T Float](f UnaryFunc, d, x []T) {
	if d32, ok := any(d).([]float32); ok {
		if k := fast32[f]; k != nil {
			x32 := any(x).([]float32)
			// The vector kernels take ~1 ns per element or less: split later.
			grain := grainElems / 8
			if hasVecMath {
				grain = grainElems / 2
			}
			if cheapUnary(f) {
				grain = grainElems
			}
			if !splits(len(x), grain) {
				k(d32, x32)
				return
			}
			kk := newKernel[float32]()
			kk.s[0], kk.s[1], kk.op = d32, x32, int(f)
			kk.blocks(len(x), grain, &fastUnaryBody)
			return
		}
	}
	// Transcendental functions cost far more per element, so split sooner.
	grain := grainElems / 8
	if cheapUnary(f) {
		grain = grainElems
	}
	if !splits(len(x), grain) {
		unaryRow(f, d, x)
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.op = d, x, int(f)
	k.blocks(len(x), grain, &unaryRowBody)
}

// fastUnaryKernel is fast32's function on a kernel's operands over [lo, hi).
func fastUnaryKernel(k *kernel[float32], lo, hi int) {
	fast32[UnaryFunc(k.op)](k.s[0][lo:hi], k.s[1][lo:hi])
}

var fastUnaryBody = kernelBody{f32: fastUnaryKernel}

// unaryRowKernel is unaryRow on a kernel's operands over [lo, hi).
func unaryRowKernel[T Float](k *kernel[T], lo, hi int) {
	unaryRow(UnaryFunc(k.op), k.s[0][lo:hi], k.s[1][lo:hi])
}

var unaryRowBody = kernelBody{unaryRowKernel[float32], unaryRowKernel[float64]}

// cheapUnary reports whether f costs about as little as a copy per element,
// so that it splits over cores only from the grain of plain arithmetic.
func cheapUnary(f UnaryFunc) bool {
	return f == FNeg || f == FSquare || f == FAbs || f == FReLU || f == FStep || f == FSign
}

func unaryRow[T Float](f UnaryFunc, d, x []T) {
	d = d[:len(x)]
	switch f {
	case FNeg:
		for i, v := range x {
			d[i] = -v
		}
	case FExp:
		for i, v := range x {
			d[i] = T(math.Exp(float64(v)))
		}
	case FLog:
		for i, v := range x {
			d[i] = T(math.Log(float64(v)))
		}
	case FLog1p:
		for i, v := range x {
			d[i] = T(math.Log1p(float64(v)))
		}
	case FSqrt:
		for i, v := range x {
			d[i] = T(math.Sqrt(float64(v)))
		}
	case FSquare:
		for i, v := range x {
			d[i] = v * v
		}
	case FAbs:
		for i, v := range x {
			d[i] = T(math.Abs(float64(v)))
		}
	case FSigmoid:
		for i, v := range x {
			d[i] = T(sigmoid(float64(v)))
		}
	case FSoftplus:
		for i, v := range x {
			d[i] = T(softplus(float64(v)))
		}
	case FTanh:
		for i, v := range x {
			d[i] = T(math.Tanh(float64(v)))
		}
	case FELU:
		for i, v := range x {
			if v > 0 {
				d[i] = v
			} else {
				d[i] = T(math.Expm1(float64(v)))
			}
		}
	case FReLU:
		for i, v := range x {
			if v > 0 {
				d[i] = v
			} else {
				d[i] = 0
			}
		}
	case FStep:
		for i, v := range x {
			if v > 0 {
				d[i] = 1
			} else {
				d[i] = 0
			}
		}
	case FSign:
		for i, v := range x {
			switch {
			case v > 0:
				d[i] = 1
			case v < 0:
				d[i] = -1
			default:
				d[i] = 0
			}
		}
	case FRecip:
		for i, v := range x {
			d[i] = 1 / v
		}
	default:
		panic(fmt.Sprintf("tensor.Apply: unknown function %d", int(f)))
	}
}

// sigmoid is 1/(1+exp(-x)) written so that neither branch overflows.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1+exp(x)) = max(x,0) + log1p(exp(-|x|)), stable for all x.
func softplus(x float64) float64 {
	return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}

// Neg returns -x.
func Neg(x *Tensor) *Tensor { return Apply(FNeg, x) }

// Exp returns exp(x).
func Exp(x *Tensor) *Tensor { return Apply(FExp, x) }

// Log returns log(x).
func Log(x *Tensor) *Tensor { return Apply(FLog, x) }

// Sqrt returns sqrt(x).
func Sqrt(x *Tensor) *Tensor { return Apply(FSqrt, x) }

// Square returns x*x.
func Square(x *Tensor) *Tensor { return Apply(FSquare, x) }

// Sigmoid returns 1/(1+exp(-x)).
func Sigmoid(x *Tensor) *Tensor { return Apply(FSigmoid, x) }

// Softplus returns log(1+exp(x)).
func Softplus(x *Tensor) *Tensor { return Apply(FSoftplus, x) }

// LeakyReLU returns x where x > 0 and slope*x elsewhere.
func LeakyReLU(x *Tensor, slope float64) *Tensor {
	out := x.arena.empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		leaky(out.f32, x.f32, float32(slope))
	} else {
		leaky(out.f64, x.f64, slope)
	}
	return out
}

func leaky[T Float](d, x []T, slope T) {
	if d32, ok := any(d).([]float32); ok {
		k := vecLeaky(d32, any(x).([]float32), float32(slope))
		d, x = d[k:], x[k:]
	}
	for i, v := range x {
		if v > 0 {
			d[i] = v
		} else {
			d[i] = slope * v
		}
	}
}

// AxpyInPlace computes y += a*x in place (same shape, same dtype).
func AxpyInPlace(y *Tensor, a float64, x *Tensor) {
	sameDType("AxpyInPlace", y, x)
	if y.Size() != x.Size() {
		panicShapes("AxpyInPlace", y.shape, x.shape)
	}
	if y.dtype == Float32 {
		axpy(y.f32, float32(a), x.f32)
	} else {
		axpy(y.f64, a, x.f64)
	}
}

// AddMulInPlace computes acc += a·b elementwise in one pass, for acc, a
// and b of one shape and dtype, with the bits of AddInPlace(acc, Mul(a,
// b)): each product is rounded before it is added. A backward pass adds a
// product rule's result into a gradient it owns with it.
func AddMulInPlace(acc, a, b *Tensor) {
	sameDType("AddMulInPlace", acc, a)
	sameDType("AddMulInPlace", acc, b)
	if !SameShape(acc.shape, a.shape) || !SameShape(acc.shape, b.shape) {
		panicShapes("AddMulInPlace", a.shape, b.shape)
	}
	if acc.dtype == Float32 {
		addMul(acc.f32, a.f32, b.f32)
	} else {
		addMul(acc.f64, a.f64, b.f64)
	}
}

func addMul[T Float](d, a, b []T) {
	if splits(len(d), grainElems) {
		k := newKernel[T]()
		k.s[0], k.s[1], k.s[2] = d, a, b
		k.blocks(len(d), grainElems, &addMulBody)
		return
	}
	addMulRange(d, a, b)
}

// addMulKernel is addMulRange on a kernel's operands over [lo, hi).
func addMulKernel[T Float](k *kernel[T], lo, hi int) {
	addMulRange(k.s[0][lo:hi], k.s[1][lo:hi], k.s[2][lo:hi])
}

var addMulBody = kernelBody{addMulKernel[float32], addMulKernel[float64]}

// addMulRange is addMul on one piece.
func addMulRange[T Float](d, a, b []T) {
	a, b = a[:len(d)], b[:len(d)]
	if d32, ok := any(d).([]float32); ok {
		k := vecAddMul(d32, any(a).([]float32), any(b).([]float32))
		d, a, b = d[k:], a[k:], b[k:]
	}
	for i := range d {
		d[i] += T(a[i] * b[i]) // the conversion rounds the product: no fused multiply-add
	}
}

func axpy[T Float](y []T, a T, x []T) {
	if splits(len(y), grainElems) {
		x = x[:len(y)]
		k := newKernel[T]()
		k.s[0], k.c[0], k.s[1] = y, a, x
		k.blocks(len(y), grainElems, &axpyBody)
		return
	}
	axpyRange(y, a, x)
}

// axpyKernel is axpyRange on a kernel's operands over [lo, hi).
func axpyKernel[T Float](k *kernel[T], lo, hi int) {
	axpyRange(k.s[0][lo:hi], k.c[0], k.s[1][lo:hi])
}

var axpyBody = kernelBody{axpyKernel[float32], axpyKernel[float64]}

// axpyRange is axpy on one piece.
func axpyRange[T Float](y []T, a T, x []T) {
	x = x[:len(y)]
	if y32, ok := any(y).([]float32); ok {
		k := vecAxpy(y32, float32(a), any(x).([]float32))
		y, x = y[k:], x[k:]
	}
	for i, v := range x {
		y[i] += a * v
	}
}

// fast32 holds the float32 kernels of the transcendental functions (see
// fastmath.go), and the vector kernels of negation (x·(-1), which is -x
// bit for bit, signed zeros included), squaring, the step and ReLU.
var fast32 = map[UnaryFunc]func(d, x []float32){
	FNeg: func(d, x []float32) {
		for i := vecBin32(opMul, d, x, minusOne32[:], len(x), 1, 0); i < len(x); i++ {
			d[i] = -x[i]
		}
	},
	FSquare: func(d, x []float32) {
		for i := vecBin32(opMul, d, x, x, len(x), 1, 1); i < len(x); i++ {
			d[i] = x[i] * x[i]
		}
	},
	FStep: func(d, x []float32) {
		k := vecStep(d, x)
		unaryRow(FStep, d[k:], x[k:])
	},
	FReLU: func(d, x []float32) {
		k := vecReLU(d, x)
		unaryRow(FReLU, d[k:], x[k:])
	},
	FExp: func(d, x []float32) {
		for i := vecExp(d, x); i < len(x); i++ {
			d[i] = exp32(x[i])
		}
	},
	FLog: func(d, x []float32) {
		for i := vecLog(d, x); i < len(x); i++ {
			d[i] = log32(x[i])
		}
	},
	FLog1p: func(d, x []float32) {
		for i, v := range x {
			d[i] = log1p32(v)
		}
	},
	FSigmoid: func(d, x []float32) {
		for i := vecSigmoid(d, x); i < len(x); i++ {
			d[i] = sigmoid32(x[i])
		}
	},
	FSoftplus: func(d, x []float32) {
		for i := vecSoftplus(d, x); i < len(x); i++ {
			d[i] = softplus32(x[i])
		}
	},
	FTanh: func(d, x []float32) {
		for i, v := range x {
			d[i] = tanh32(v)
		}
	},
	FELU: func(d, x []float32) {
		for i := vecELU(d, x); i < len(x); i++ {
			if v := x[i]; v > 0 {
				d[i] = v
			} else {
				d[i] = exp32(v) - 1
			}
		}
	},
}

var minusOne32 = [1]float32{-1}

// LinComb returns a*x + b*y for same-shaped x and y, in one pass.
func LinComb(a float64, x *Tensor, b float64, y *Tensor) *Tensor {
	sameDType("LinComb", x, y)
	if !SameShape(x.shape, y.shape) {
		panicShapes("LinComb", x.shape, y.shape)
	}
	out := ArenaOf(x, y).empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		linComb(out.f32, float32(a), x.f32, float32(b), y.f32)
	} else {
		linComb(out.f64, a, x.f64, b, y.f64)
	}
	return out
}

func linComb[T Float](d []T, a T, x []T, b T, y []T) {
	if !splits(len(d), grainElems) {
		linCombRange(d, a, x, b, y, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.c[0], k.s[1], k.c[1], k.s[2] = d, a, x, b, y
	k.blocks(len(d), grainElems, &linCombRangeBody)
}

// linCombRange is linComb over [lo, hi).
func linCombRange[T Float](d []T, a T, x []T, b T, y []T, lo, hi int) {
	dd, xx, yy := d[lo:hi], x[lo:hi], y[lo:hi]
	if d32, ok := any(dd).([]float32); ok {
		k := vecLinComb(d32, float32(a), any(xx).([]float32), float32(b), any(yy).([]float32))
		dd, xx, yy = dd[k:], xx[k:], yy[k:]
	}
	for i := range dd {
		dd[i] = a*xx[i] + b*yy[i]
	}
}

// linCombRangeKernel is linCombRange on a kernel's operands.
func linCombRangeKernel[T Float](k *kernel[T], lo, hi int) {
	linCombRange(k.s[0], k.c[0], k.s[1], k.c[1], k.s[2], lo, hi)
}

var linCombRangeBody = kernelBody{linCombRangeKernel[float32], linCombRangeKernel[float64]}

// AddInPlace computes y += x (same shape and dtype), in place.
func AddInPlace(y, x *Tensor) { AxpyInPlace(y, 1, x) }

// UnaryGrad returns g * f'(x) in one pass for the functions whose
// derivative it knows (ok reports whether it does); out is f(x). Autodiff
// uses it for first-order backward passes, where nothing is recorded.
func UnaryGrad(f UnaryFunc, g, x, out *Tensor) (*Tensor, bool) {
	switch f {
	case FExp, FLog, FSqrt, FSquare, FSigmoid, FSoftplus, FTanh, FELU:
	default:
		return nil, false
	}
	if !SameShape(g.shape, x.shape) {
		return nil, false
	}
	d := ArenaOf(g, x, out).empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		unaryGrad(f, d.f32, g.f32, x.f32, out.f32)
	} else {
		unaryGrad(f, d.f64, g.f64, x.f64, out.f64)
	}
	return d, true
}

func unaryGrad[T Float](f UnaryFunc, d, g, x, y []T) {
	// The vector kernels cost about as much as a binary operation per
	// element: split from the same grain. The scalar loops (and softplus'
	// sigmoid) cost more: split sooner.
	grain := grainElems / 2
	if _, ok := any(d).([]float32); ok && hasVecMath && f != FSoftplus {
		grain = grainElems
	}
	if !splits(len(d), grain) {
		unaryGradRange(f, d, g, x, y, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.op, k.s[0], k.s[1], k.s[2], k.s[3] = int(f), d, g, x, y
	k.blocks(len(d), grain, &unaryGradRangeBody)
}

// unaryGradRange is unaryGrad over [lo, hi).
func unaryGradRange[T Float](f UnaryFunc, d, g, x, y []T, lo, hi int) {
	d, g, x, y = d[lo:hi], g[lo:hi], x[lo:hi], y[lo:hi]
	if d32, ok := any(d).([]float32); ok {
		k := vecUnaryGrad(f, d32, any(g).([]float32), any(x).([]float32), any(y).([]float32))
		d, g, x, y = d[k:], g[k:], x[k:], y[k:]
	}
	switch f {
	case FExp:
		for i := range d {
			d[i] = g[i] * y[i]
		}
	case FLog:
		for i := range d {
			d[i] = g[i] / x[i]
		}
	case FSqrt:
		for i := range d {
			d[i] = g[i] * 0.5 / y[i]
		}
	case FSquare:
		for i := range d {
			d[i] = 2 * g[i] * x[i]
		}
	case FSigmoid:
		for i := range d {
			d[i] = g[i] * y[i] * (1 - y[i])
		}
	case FSoftplus:
		// d softplus/dx = sigmoid(x).
		start := 0
		if d32, ok := any(d).([]float32); ok {
			start = vecSigmoid(d32, any(x).([]float32))
			g32 := any(g).([]float32)
			for i := vecBin32(opMul, d32, d32, g32, start, 1, 1); i < start; i++ {
				d[i] *= g[i]
			}
		}
		for i := start; i < len(d); i++ {
			d[i] = g[i] * sigmoidOf(x[i])
		}
	case FTanh:
		for i := range d {
			d[i] = g[i] * (1 - y[i]*y[i])
		}
	case FELU:
		for i := range d {
			if x[i] > 0 {
				d[i] = g[i]
			} else {
				d[i] = g[i] * (y[i] + 1)
			}
		}
	}
}

// unaryGradRangeKernel is unaryGradRange on a kernel's operands.
func unaryGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	unaryGradRange(UnaryFunc(k.op), k.s[0], k.s[1], k.s[2], k.s[3], lo, hi)
}

var unaryGradRangeBody = kernelBody{unaryGradRangeKernel[float32], unaryGradRangeKernel[float64]}

// ELUBackwardGrad returns the gradients of Σ G·r, where r = g·ELU'(x)
// (UnaryGrad(FELU, g, x, out), ELU's backward product, with ELU'(x) = 1
// for x > 0 and out + 1 = exp(x) otherwise), with respect to g and out,
// each only where asked (nil otherwise):
//
//	∂/∂g = G·ELU'(x),  ∂/∂out = (G·g)·[x ≤ 0]
//
// the second computed as (G·g)·(1 - step(x)), the product a recorded
// backward pass through r's composition (Mul, Add, Mul by 1 - step(x),
// out + 1) forms, signed zeros included, in one pass over memory.
func ELUBackwardGrad(G, g, x, out *Tensor, needG, needOut bool) (dg, dout *Tensor) {
	if !SameShape(G.shape, x.shape) || !SameShape(g.shape, x.shape) || !SameShape(out.shape, x.shape) {
		panic(fmt.Sprintf("tensor.ELUBackwardGrad: shapes %v, %v, %v and %v differ", G.shape, g.shape, x.shape, out.shape))
	}
	if needG {
		dg, _ = UnaryGrad(FELU, G, x, out)
	}
	if needOut {
		dout = ArenaOf(G, g, x, out).empty(x.dtype, x.shape...)
		if x.dtype == Float32 {
			eluOutGrad(dout.f32, G.f32, g.f32, x.f32)
		} else {
			eluOutGrad(dout.f64, G.f64, g.f64, x.f64)
		}
	}
	return dg, dout
}

// eluOutGrad sets d = (G·g)·(1 - step(x)) in chunks that stay in the
// first-level cache: the product, then 1 - step(x) with the step and
// affine kernels, then their product.
func eluOutGrad[T Float](d, G, g, x []T) {
	if !splits(len(d), grainElems) {
		eluOutGradRange(d, G, g, x, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3] = d, G, g, x
	k.blocks(len(d), grainElems, &eluOutGradRangeBody)
}

// eluOutGradRange is eluOutGrad over [lo, hi).
func eluOutGradRange[T Float](d, G, g, x []T, lo, hi int) {
	buf := getBuf[T](chunk)
	defer putBuf(buf)
	neg := *buf
	for c := lo; c < hi; c += chunk {
		e := min(c+chunk, hi)
		n := e - c
		binRow(opMul, d[c:e], G[c:], g[c:], n, 1, 1)
		applyUnary(FStep, neg[:n], x[c:e])
		affineRange(neg, neg, -1, 1, 0, n)
		binRow(opMul, d[c:e], d[c:e], neg, n, 1, 1)
	}
}

// eluOutGradRangeKernel is eluOutGradRange on a kernel's operands.
func eluOutGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	eluOutGradRange(k.s[0], k.s[1], k.s[2], k.s[3], lo, hi)
}

var eluOutGradRangeBody = kernelBody{eluOutGradRangeKernel[float32], eluOutGradRangeKernel[float64]}

func sigmoidOf[T Float](x T) T {
	if v, ok := any(x).(float32); ok {
		return T(sigmoid32(v))
	}
	return T(sigmoid(float64(x)))
}
