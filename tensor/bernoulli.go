package tensor

import (
	"fmt"
)

// The fused operations of a relaxed Bernoulli posterior (the bi-level
// objectives' q(h|v)): the sample h = σ((l + g)·a) and the log-density
// Σ_j h_j l_j - softplus(l_j). Each is one pass over memory forward and one
// backward, computing chunks that stay in the first-level cache with the
// kernels of the operations it stands for, in their order, so the bits
// are theirs: chunks start at multiples of sixteen elements, so that each
// element goes to the vector kernels or their scalar tails as it does in
// a whole-tensor operation.

// SigmoidScaledSum returns σ((x + c)·a), the composition
// Sigmoid(Scale(Add(x, c), a)) of same-shaped x and c in one pass, with its
// bits.
func SigmoidScaledSum(x, c *Tensor, a float64) *Tensor {
	sameDType("SigmoidScaledSum", x, c)
	if !SameShape(x.shape, c.shape) {
		panicShapes("SigmoidScaledSum", x.shape, c.shape)
	}
	out := ArenaOf(x, c).empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		sigmoidScaledSum(out.f32, x.f32, c.f32, float32(a))
	} else {
		sigmoidScaledSum(out.f64, x.f64, c.f64, a)
	}
	return out
}

func sigmoidScaledSum[T Float](d, x, c []T, a T) {
	if !splits(len(d), grainElems) {
		sigmoidScaledSumRange(d, x, c, a, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.c[0] = d, x, c, a
	k.blocks(len(d), grainElems, &sigmoidScaledSumRangeBody)
}

// sigmoidScaledSumRange is sigmoidScaledSum over [lo, hi), lo a multiple
// of sixteen: the sum, then the scaling and the sigmoid chunk by chunk.
func sigmoidScaledSumRange[T Float](d, x, c []T, a T, lo, hi int) {
	binRow(opAdd, d[lo:hi], x[lo:], c[lo:], hi-lo, 1, 1)
	for ; lo < hi; lo += chunk {
		e := min(lo+chunk, hi)
		if a != 1 { // Scale by 1 is no operation
			affineRange(d, d, a, 0, lo, e)
		}
		applyUnary(FSigmoid, d[lo:e], d[lo:e])
	}
}

// sigmoidScaledSumRangeKernel is sigmoidScaledSumRange on a kernel's operands.
func sigmoidScaledSumRangeKernel[T Float](k *kernel[T], lo, hi int) {
	sigmoidScaledSumRange(k.s[0], k.s[1], k.s[2], k.c[0], lo, hi)
}

var sigmoidScaledSumRangeBody = kernelBody{sigmoidScaledSumRangeKernel[float32], sigmoidScaledSumRangeKernel[float64]}

// SigmoidScaledSumGrad returns the gradient of Σ G·y with respect to x
// (and c) for y = SigmoidScaledSum(x, c, a): (G·y·(1-y))·a, as Sigmoid's
// and Affine's backward passes compute it, in one pass.
func SigmoidScaledSumGrad(G, y *Tensor, a float64) *Tensor {
	sameDType("SigmoidScaledSumGrad", G, y)
	if !SameShape(G.shape, y.shape) {
		panicShapes("SigmoidScaledSumGrad", G.shape, y.shape)
	}
	out := ArenaOf(G, y).empty(y.dtype, y.shape...)
	if y.dtype == Float32 {
		sigmoidScaledSumGrad(out.f32, G.f32, y.f32, float32(a))
	} else {
		sigmoidScaledSumGrad(out.f64, G.f64, y.f64, a)
	}
	return out
}

func sigmoidScaledSumGrad[T Float](d, G, y []T, a T) {
	if !splits(len(d), grainElems) {
		sigmoidScaledSumGradRange(d, G, y, a, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.c[0] = d, G, y, a
	k.blocks(len(d), grainElems, &sigmoidScaledSumGradRangeBody)
}

// sigmoidScaledSumGradRange is sigmoidScaledSumGrad over [lo, hi).
func sigmoidScaledSumGradRange[T Float](d, G, y []T, a T, lo, hi int) {
	for ; lo < hi; lo += chunk {
		e := min(lo+chunk, hi)
		unaryGradRange(FSigmoid, d, G, y, y, lo, e)
		if a != 1 {
			affineRange(d, d, a, 0, lo, e)
		}
	}
}

// sigmoidScaledSumGradRangeKernel is sigmoidScaledSumGradRange on a kernel's operands.
func sigmoidScaledSumGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	sigmoidScaledSumGradRange(k.s[0], k.s[1], k.s[2], k.c[0], lo, hi)
}

var sigmoidScaledSumGradRangeBody = kernelBody{sigmoidScaledSumGradRangeKernel[float32], sigmoidScaledSumGradRangeKernel[float64]}

// BernoulliLogProb returns Σ_j h_j l_j - softplus(l_j) for each row of
// logits l and values h of shape [B, H]: log q(h) under independent
// Bernoulli(σ(l_j)), evaluated at relaxed h too. It is
// Sum(Sub(Mul(h, l), Softplus(l)), false, -1) in one pass, with its bits.
func BernoulliLogProb(l, h *Tensor) *Tensor {
	rows, n := checkLogProb("BernoulliLogProb", l, h)
	out := ArenaOf(l, h).zeros(l.dtype, rows)
	if l.dtype == Float32 {
		bernoulliLogProb(out.f32, l.f32, h.f32, rows, n)
	} else {
		bernoulliLogProb(out.f64, l.f64, h.f64, rows, n)
	}
	return out
}

func checkLogProb(op string, l, h *Tensor) (rows, n int) {
	sameDType(op, l, h)
	if len(l.shape) != 2 || !SameShape(l.shape, h.shape) {
		panic(fmt.Sprintf("tensor.%s: logits %v and values %v, want both [B H]", op, l.shape, h.shape))
	}
	return l.shape[0], l.shape[1]
}

// bernoulliLogProb sums the rows' terms in blocks of sixteen rows: the
// block's terms in scratch, then Sum's row sums of them (reduceRows).
func bernoulliLogProb[T Float](out, l, h []T, rows, n int) {
	blocks := (rows + 15) / 16
	if !splits(rows*n, grainElems) || blocks < 2 {
		bernoulliLogProbBlocks(out, l, h, rows, n, 0, blocks)
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.i[0], k.i[1] = out, l, h, rows, n
	k.units(blocks, max(1, grainElems/(16*n)), &bernoulliLogProbBlocksBody)
}

// bernoulliLogProbBlocks is bernoulliLogProb's blocks of sixteen rows
// [lo, hi).
func bernoulliLogProbBlocks[T Float](out, l, h []T, rows, n, lo, hi int) {
	buf := getBuf[T](2 * 16 * n)
	defer putBuf(buf)
	t, s := (*buf)[:16*n], (*buf)[16*n:]
	for r := lo * 16; r < min(hi*16, rows); r += 16 {
		m := min(16, rows-r)
		k := m * n
		at := r * n // a multiple of sixteen, as the block's terms are whole rows
		binRow(opMul, t[:k], h[at:], l[at:], k, 1, 1)
		applyUnary(FSoftplus, s[:k], l[at:at+k])
		binRow(opSub, t[:k], t, s, k, 1, 1)
		reduceRows(out[r:], t, m, n, 1, 0, false)
	}
}

// bernoulliLogProbBlocksKernel is bernoulliLogProbBlocks on a kernel's operands.
func bernoulliLogProbBlocksKernel[T Float](k *kernel[T], lo, hi int) {
	bernoulliLogProbBlocks(k.s[0], k.s[1], k.s[2], k.i[0], k.i[1], lo, hi)
}

var bernoulliLogProbBlocksBody = kernelBody{bernoulliLogProbBlocksKernel[float32], bernoulliLogProbBlocksKernel[float64]}

// BernoulliLogProbGrad returns the gradients of Σ_n G_n r_n, r =
// BernoulliLogProb(l, h), with respect to l and h, each only where asked
// (nil otherwise):
//
//	∂/∂l = σ(l)·(-G) + G·h,  ∂/∂h = G·l
//
// (G broadcast along the rows), in one pass, with the bits of the
// composition's first-order backward pass: Softplus's derivative of the
// negated cotangent first, then Mul's product added to it.
func BernoulliLogProbGrad(G, l, h *Tensor, needL, needH bool) (dl, dh *Tensor) {
	rows, n := checkLogProb("BernoulliLogProbGrad", l, h)
	if len(G.shape) != 1 || G.shape[0] != rows || G.dtype != l.dtype {
		panic(fmt.Sprintf("tensor.BernoulliLogProbGrad: cotangent %v%v, want %v[%d]", G.dtype, G.shape, l.dtype, rows))
	}
	a := ArenaOf(G, l, h)
	if needL {
		dl = a.empty(l.dtype, rows, n)
	}
	if needH {
		dh = a.empty(l.dtype, rows, n)
	}
	if l.dtype == Float32 {
		bernoulliLogProbGrad(data32(dl), data32(dh), G.f32, l.f32, h.f32, n)
	} else {
		bernoulliLogProbGrad(data64(dl), data64(dh), G.f64, l.f64, h.f64, n)
	}
	return dl, dh
}

func bernoulliLogProbGrad[T Float](dl, dh, G, l, h []T, n int) {
	if !splits(len(l), grainElems) {
		bernoulliLogProbGradRange(dl, dh, G, l, h, n, 0, len(l))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.i[0] = dl, dh, G, l, h, n
	k.blocks(len(l), grainElems, &bernoulliLogProbGradRangeBody)
}

// bernoulliLogProbGradRange is bernoulliLogProbGrad over [lo, hi), chunk
// by chunk: the broadcast cotangent, its products with l and h, its
// negation, Softplus's derivative of it, the sum.
func bernoulliLogProbGradRange[T Float](dl, dh, G, l, h []T, n, lo, hi int) {
	buf := getBuf[T](2 * chunk)
	defer putBuf(buf)
	for ; lo < hi; lo += chunk {
		e := min(lo+chunk, hi)
		k := e - lo
		g, t := (*buf)[:k], (*buf)[chunk:chunk+k]
		for i, r := 0, lo/n; i < k; r++ {
			for j := min(k, (r+1)*n-lo); i < j; i++ {
				g[i] = G[r]
			}
		}
		if dh != nil {
			binRow(opMul, dh[lo:e], g, l[lo:], k, 1, 1)
		}
		if dl != nil {
			binRow(opMul, t, g, h[lo:], k, 1, 1)
			applyUnary(FNeg, g, g)
			unaryGradRange(FSoftplus, dl[lo:e], g, l[lo:e], l[lo:e], 0, k)
			binRow(opAdd, dl[lo:e], dl[lo:e], t, k, 1, 1)
		}
	}
}

// bernoulliLogProbGradRangeKernel is bernoulliLogProbGradRange on a kernel's operands.
func bernoulliLogProbGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	bernoulliLogProbGradRange(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.i[0], lo, hi)
}

var bernoulliLogProbGradRangeBody = kernelBody{bernoulliLogProbGradRangeKernel[float32], bernoulliLogProbGradRangeKernel[float64]}
