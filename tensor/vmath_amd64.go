//go:build amd64 && !purego

package tensor

import (
	"math"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Vector kernels of vmath_amd64.s; each handles len(x) rounded down to a
// multiple of 16.
//
//go:noescape
func expAVX512(d, x []float32)

//go:noescape
func logAVX512(d, x []float32)

//go:noescape
func sigmoidAVX512(d, x []float32)

//go:noescape
func softplusAVX512(d, x []float32)

//go:noescape
func eluAVX512(d, x []float32)

//go:noescape
func eluGradAVX512(d, g, x, y []float32)

//go:noescape
func nonFiniteAVX512(x []float32) bool

// vecNonFinite reports whether the longest multiple-of-64 prefix of x holds
// a NaN or an infinity, and its length.
func vecNonFinite(x []float32) (bool, int) {
	n := len(x) &^ 63
	if !hasVecMath || n == 0 {
		return false, 0
	}
	return nonFiniteAVX512(x[:n]), n
}

// hasVecMath reports whether the AVX-512 kernels can run (x/sys/cpu also
// checks that the OS saves the ZMM registers).
var hasVecMath = cpu.X86.HasAVX512F

func vecExp(d, x []float32) int      { return vec(expAVX512, d, x) }
func vecLog(d, x []float32) int      { return vec(logAVX512, d, x) }
func vecSigmoid(d, x []float32) int  { return vec(sigmoidAVX512, d, x) }
func vecSoftplus(d, x []float32) int { return vec(softplusAVX512, d, x) }
func vecELU(d, x []float32) int      { return vec(eluAVX512, d, x) }

// vecELUGrad sets d = g·elu'(x) (from y = elu(x)) on the longest
// multiple-of-16 prefix and returns its length.
func vecELUGrad(d, g, x, y []float32) int {
	n := len(d) &^ 15
	if !hasVecMath || n == 0 {
		return 0
	}
	eluGradAVX512(d[:n], g[:n], x[:n], y[:n])
	return n
}

// vec runs kernel k on the longest multiple-of-16 prefix of x and returns
// its length; the caller finishes the tail.
func vec(k func(d, x []float32), d, x []float32) int {
	n := len(x) &^ 15
	if !hasVecMath || n == 0 {
		return 0
	}
	k(d[:n], x[:n])
	return n
}

//go:generate go run varith_gen.go

// Elementwise arithmetic kernels of varith_amd64.s: d = a op b over the
// longest multiple-of-16 prefix of n elements.

//go:noescape
func addVV32(d, a, b *float32, n int)

//go:noescape
func subVV32(d, a, b *float32, n int)

//go:noescape
func mulVV32(d, a, b *float32, n int)

//go:noescape
func divVV32(d, a, b *float32, n int)

//go:noescape
func addVS32(d, a *float32, y float32, n int)

//go:noescape
func subVS32(d, a *float32, y float32, n int)

//go:noescape
func mulVS32(d, a *float32, y float32, n int)

//go:noescape
func divVS32(d, a *float32, y float32, n int)

//go:noescape
func subSV32(d *float32, x float32, b *float32, n int)

//go:noescape
func divSV32(d *float32, x float32, b *float32, n int)

//go:noescape
func addMulVV32(d, a, b *float32, n int)

// vecAddMul sets d += a·b (the product rounded first) on the longest
// multiple-of-16 prefix of d and returns its length (0 when the kernels
// cannot run).
func vecAddMul(d, a, b []float32) int {
	k := vecLen(len(d))
	if k > 0 {
		addMulVV32(&d[0], &a[:k][0], &b[:k][0], k)
	}
	return k
}

//go:noescape
func fill32(d *float32, y float32, n int)

// vecFill sets the longest multiple-of-16 prefix of d to y and returns its
// length (0 when the kernels cannot run).
func vecFill(d []float32, y float32) int {
	k := len(d) &^ 15
	if !hasVecMath || k == 0 {
		return 0
	}
	fill32(&d[0], y, k)
	return k
}

// vecBin32 computes the first k elements of binRow(op, d, a, b, n, sa, sb)
// and returns k, a multiple of 16 (0 when the kernels cannot run).
func vecBin32(op binOp, d, a, b []float32, n, sa, sb int) int {
	k := n &^ 15
	if !hasVecMath || k == 0 {
		return 0
	}
	d = d[:k]
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:k], b[:k]
		switch op {
		case opAdd:
			addVV32(&d[0], &a[0], &b[0], k)
		case opSub:
			subVV32(&d[0], &a[0], &b[0], k)
		case opMul:
			mulVV32(&d[0], &a[0], &b[0], k)
		case opDiv:
			divVV32(&d[0], &a[0], &b[0], k)
		default:
			return 0
		}
	case sa == 1 && sb == 0:
		a = a[:k]
		switch op {
		case opAdd:
			addVS32(&d[0], &a[0], b[0], k)
		case opSub:
			subVS32(&d[0], &a[0], b[0], k)
		case opMul:
			mulVS32(&d[0], &a[0], b[0], k)
		case opDiv:
			divVS32(&d[0], &a[0], b[0], k)
		default:
			return 0
		}
	case sa == 0 && sb == 1:
		b = b[:k]
		switch op {
		case opAdd:
			addVS32(&d[0], &b[0], a[0], k)
		case opSub:
			subSV32(&d[0], a[0], &b[0], k)
		case opMul:
			mulVS32(&d[0], &b[0], a[0], k)
		case opDiv:
			divSV32(&d[0], a[0], &b[0], k)
		default:
			return 0
		}
	default:
		return 0
	}
	return k
}

//go:noescape
func sigmoidGrad32(d, gr, y *float32, n int)

//go:noescape
func tanhGrad32(d, gr, y *float32, n int)

//go:noescape
func squareGrad32(d, gr, x *float32, n int)

// vecUnaryGrad computes the first k elements of unaryGrad(f, d, g, x, y),
// the same operations in the same order, and returns k, a multiple of 16
// (0 where f has no vector kernel).
func vecUnaryGrad(f UnaryFunc, d, g, x, y []float32) int {
	n := len(d)
	k := n &^ 15
	if !hasVecMath || k == 0 {
		return 0
	}
	switch f {
	case FExp: // g·y
		return vecBin32(opMul, d, g, y, n, 1, 1)
	case FLog: // g/x
		return vecBin32(opDiv, d, g, x, n, 1, 1)
	case FSqrt: // (g·0.5)/y
		vecBin32(opMul, d, g, half32[:], n, 1, 0)
		return vecBin32(opDiv, d, d, y, n, 1, 1)
	case FSquare:
		squareGrad32(&d[0], &g[:k][0], &x[:k][0], k)
	case FSigmoid:
		sigmoidGrad32(&d[0], &g[:k][0], &y[:k][0], k)
	case FTanh:
		tanhGrad32(&d[0], &g[:k][0], &y[:k][0], k)
	case FELU:
		return vecELUGrad(d, g, x, y)
	default:
		return 0
	}
	return k
}

var half32 = [1]float32{0.5}

//go:noescape
func stepGT32(d, x *float32, n int)

//go:noescape
func reluGT32(d, x *float32, n int)

//go:noescape
func leaky32(d, x *float32, slope float32, n int)

// vecStep, vecReLU and vecLeaky compute the first k (a multiple of 16)
// elements of the step, ReLU and LeakyReLU as the scalar loops do and
// return k.
func vecStep(d, x []float32) int {
	return vec(func(d, x []float32) { stepGT32(&d[0], &x[0], len(x)) }, d, x)
}
func vecReLU(d, x []float32) int {
	return vec(func(d, x []float32) { reluGT32(&d[0], &x[0], len(x)) }, d, x)
}
func vecLeaky(d, x []float32, slope float32) int {
	k := vecLen(len(x))
	if k > 0 {
		leaky32(&d[:k][0], &x[0], slope, k)
	}
	return k
}

//go:noescape
func rowSums16(d, x *float32, n int, idx *int32)

// vecKeptSums adds x, [outer, c, inner], over its first and last axes
// into d[16b : 16b+16] for the blocks b in [lo, hi), each element in x's
// row-major order (keptSums).
func vecKeptSums(d, x []float32, outer, c, inner, lo, hi int) {
	var idx [16]int32
	for i := range idx {
		idx[i] = int32(i * inner)
	}
	for b := lo; b < hi; b++ {
		for o := range outer {
			_ = x[(o*c+b*16+16)*inner-1]
			rowSums16(&d[b*16], &x[(o*c+b*16)*inner], inner, &idx[0])
		}
	}
}

// vecRowSums adds each row of x (rows of n values) into its element of d,
// sixteen rows at a time with the additions of the scalar loop in their
// order, and returns how many rows it did (a multiple of 16).
func vecRowSums(d, x []float32, rows, n int) int {
	if !hasVecMath || rows < 16 || n == 0 || 16*n > math.MaxInt32 {
		return 0
	}
	var idx [16]int32
	for i := range idx {
		idx[i] = int32(i * n)
	}
	done := 0
	for ; done+16 <= rows; done += 16 {
		_ = x[(done+16)*n-1]
		rowSums16(&d[done], &x[done*n], n, &idx[0])
	}
	return done
}

//go:noescape
func axpy32(y, x *float32, a float32, n int)

//go:noescape
func dot32(x, y *float32, n int) float32

// vecAxpy does y += a*x on the longest multiple-of-16 prefix and returns its length.
func vecAxpy(y []float32, a float32, x []float32) int {
	k := len(y) &^ 15
	if !hasVecMath || k == 0 {
		return 0
	}
	x = x[:k]
	axpy32(&y[0], &x[0], a, k)
	return k
}

// vecDot returns the dot product of the longest multiple-of-16 prefix of x
// and y (equal lengths) and its length.
func vecDot(x, y []float32) (float32, int) {
	k := len(x) &^ 15
	if !hasVecMath || k == 0 {
		return 0, 0
	}
	y = y[:k]
	return dot32(&x[0], &y[0], k), k
}

//go:noescape
func fmaPlanes4(dst *float32, n int, srcs *uintptr, coefs *float32, m int)

// fmaSourcePointers returns the addresses of the sources for fmaPlanes4,
// after checking that each holds n elements, or nil when the kernel cannot
// run (no AVX-512, n not a multiple of 32), in *buf (grown as needed).
// The caller keeps the sources' storage alive while it uses them.
func fmaSourcePointers(srcs [][]float32, n int, buf *[]uintptr) []uintptr {
	if !hasVecMath || n == 0 || n%32 != 0 || len(srcs) == 0 {
		return nil
	}
	if cap(*buf) < len(srcs) {
		*buf = make([]uintptr, len(srcs))
	}
	ptrs := (*buf)[:len(srcs)]
	for j, s := range srcs {
		s = s[:n] // bounds for the unchecked kernel
		ptrs[j] = uintptr(unsafe.Pointer(&s[0]))
	}
	return ptrs
}

// vecFMAPlanes4 sets dst[p·n+i] = Σ_j coefs[p·m+j]·srcs[j][i] for four
// planes p of n = len(dst)/4 elements, srcs given by fmaSourcePointers, and
// reports whether it ran.
func vecFMAPlanes4(dst []float32, ptrs []uintptr, coefs []float32) bool {
	n, m := len(dst)/4, len(ptrs)
	if m == 0 || n%32 != 0 || len(coefs) < 4*m {
		return false
	}
	fmaPlanes4(&dst[0], n, &ptrs[0], &coefs[0], m)
	return true
}

// Fused kernels of the optimizer's steps (varith_amd64.s), over n rounded
// down to a multiple of 16; bit for bit the scalar loops' results.

//go:noescape
func affine32(d, x *float32, a, b float32, n int)

//go:noescape
func linComb32(d, x, y *float32, a, b float32, n int)

//go:noescape
func adamDir32(d, m, v *float32, eps float32, n int)

//go:noescape
func adamDirGrad32(gm, gv, gr, m, v *float32, eps float32, n int)

//go:noescape
func adamUpdate32(x, gr, m, v *float32, b1, c1, b2, c2, eps, step float32, n int)

// vecLen is the prefix of n elements the fused kernels take (0 without
// them).
func vecLen(n int) int {
	if !hasVecMath {
		return 0
	}
	return n &^ 15
}

func vecAffine(d, x []float32, a, b float32) int {
	k := vecLen(len(d))
	if k > 0 {
		affine32(&d[0], &x[:k][0], a, b, k)
	}
	return k
}

func vecLinComb(d []float32, a float32, x []float32, b float32, y []float32) int {
	k := vecLen(len(d))
	if k > 0 {
		linComb32(&d[0], &x[:k][0], &y[:k][0], a, b, k)
	}
	return k
}

func vecAdamDir(d, m, v []float32, eps float32) int {
	k := vecLen(len(d))
	if k > 0 {
		adamDir32(&d[0], &m[:k][0], &v[:k][0], eps, k)
	}
	return k
}

func vecAdamDirGrad(gm, gv, g, m, v []float32, eps float32) int {
	k := vecLen(len(gm))
	if k > 0 {
		adamDirGrad32(&gm[0], &gv[:k][0], &g[:k][0], &m[:k][0], &v[:k][0], eps, k)
	}
	return k
}

func vecAdamUpdate(x, g, m, v []float32, b1, b2, eps, step float32) int {
	k := vecLen(len(x))
	if k > 0 {
		adamUpdate32(&x[0], &g[:k][0], &m[:k][0], &v[:k][0], b1, 1-b1, b2, 1-b2, eps, step, k)
	}
	return k
}

//go:noescape
func adamSecondMoment32(d, v, gr *float32, b2, c2 float32, n int)

//go:noescape
func adamApply32(d, x, m, v *float32, negStep, eps float32, n int)

//go:noescape
func adamApplyGrad32(gm, gv, up, m, v *float32, negStep, eps float32, n int)

//go:noescape
func adamMomentsGrad32(gm, gv, gg, um, uv, gr *float32, b1, c1, b2, c2 float32, n int)

func vecAdamMomentsGrad(gm, gv, gg, um, uv, g []float32, b1, c1, b2, c2 float32) int {
	k := vecLen(len(gm))
	if k > 0 {
		adamMomentsGrad32(&gm[0], &gv[:k][0], &gg[:k][0], &um[:k][0], &uv[:k][0], &g[:k][0], b1, c1, b2, c2, k)
	}
	return k
}

func vecAdamSecondMoment(d, v, g []float32, b2, c2 float32) int {
	k := vecLen(len(d))
	if k > 0 {
		adamSecondMoment32(&d[0], &v[:k][0], &g[:k][0], b2, c2, k)
	}
	return k
}

func vecAdamApply(d, x, m, v []float32, negStep, eps float32) int {
	k := vecLen(len(d))
	if k > 0 {
		adamApply32(&d[0], &x[:k][0], &m[:k][0], &v[:k][0], negStep, eps, k)
	}
	return k
}

func vecAdamApplyGrad(gm, gv, up, m, v []float32, negStep, eps float32) int {
	k := vecLen(len(gm))
	if k > 0 {
		adamApplyGrad32(&gm[0], &gv[:k][0], &up[:k][0], &m[:k][0], &v[:k][0], negStep, eps, k)
	}
	return k
}
