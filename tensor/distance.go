package tensor

import (
	"fmt"
)

// SquaredDistance returns, for x of shape [B, D] and c, w of shape [D],
// the weighted squared distances s_n = Σ_i w_i (x_ni - c_i)², shape [B]:
// the quadratic term of a Gaussian energy (a GRBM's Σ_i (v_i - b_i)²/σ_i²)
// in one pass over x, without its three [B, D] intermediates. Its bits are
// those of Sum(Mul(Square(Sub(x, c)), w), false, -1): each term is rounded
// as those operations round it and each row is summed in Sum's order.
func SquaredDistance(x, c, w *Tensor) *Tensor {
	rows, n := checkSquaredDistance("SquaredDistance", x, c, w)
	out := ArenaOf(x, c, w).zeros(x.dtype, rows)
	if x.dtype == Float32 {
		squaredDistance(out.f32, x.f32, c.f32, w.f32, rows, n)
	} else {
		squaredDistance(out.f64, x.f64, c.f64, w.f64, rows, n)
	}
	return out
}

// SquaredDistanceGrad returns the gradients of Σ_n g_n s_n, with s =
// SquaredDistance(x, c, w), with respect to x, c and w, each only where
// asked (nil otherwise):
//
//	∂/∂x_ni = 2 g_n w_i (x_ni - c_i),  ∂/∂c_i = -Σ_n ∂/∂x_ni,  ∂/∂w_i = Σ_n g_n (x_ni - c_i)²
//
// in one pass over x. The bits are those of the first-order backward pass
// of SquaredDistance's composition of Sub, Square, Mul and Sum: sums over
// the batch run in its order, whichever core computes a column.
func SquaredDistanceGrad(g, x, c, w *Tensor, needX, needC, needW bool) (gx, gc, gw *Tensor) {
	rows, n := checkSquaredDistance("SquaredDistanceGrad", x, c, w)
	if len(g.shape) != 1 || g.shape[0] != rows || g.dtype != x.dtype {
		panic(fmt.Sprintf("tensor.SquaredDistanceGrad: cotangent %v%v, want %v[%d]", g.dtype, g.shape, x.dtype, rows))
	}
	a := ArenaOf(g, x, c, w)
	if needX {
		gx = a.empty(x.dtype, rows, n)
	}
	if needC {
		gc = a.zeros(x.dtype, n)
	}
	if needW {
		gw = a.zeros(x.dtype, n)
	}
	if x.dtype == Float32 {
		squaredDistanceGrad(g.f32, x.f32, c.f32, w.f32, data32(gx), data32(gc), data32(gw), rows, n)
	} else {
		squaredDistanceGrad(g.f64, x.f64, c.f64, w.f64, data64(gx), data64(gc), data64(gw), rows, n)
	}
	return gx, gc, gw
}

func checkSquaredDistance(op string, x, c, w *Tensor) (rows, n int) {
	sameDType(op, x, c)
	sameDType(op, x, w)
	if len(x.shape) != 2 || len(c.shape) != 1 || len(w.shape) != 1 || c.shape[0] != x.shape[1] || w.shape[0] != x.shape[1] {
		panic(fmt.Sprintf("tensor.%s: x %v, c %v and w %v; want [B D], [D] and [D]", op, x.shape, c.shape, w.shape))
	}
	return x.shape[0], x.shape[1]
}

func data32(t *Tensor) []float32 {
	if t == nil {
		return nil
	}
	return t.f32
}

func data64(t *Tensor) []float64 {
	if t == nil {
		return nil
	}
	return t.f64
}

// squaredDistance computes out[r] += Σ_i w_i (x_ri - c_i)² for rows of n
// values. Rows of sixteen or more values run sixteen rows at a time: their
// terms go to a scratch block (the vector kernels of Sub, Square and Mul)
// whose rows are then summed as Sum sums them (reduceRows). Whole blocks
// are split over cores.
func squaredDistance[T Float](out, x, c, w []T, rows, n int) {
	if n < 16 {
		// Short rows: Sum's scalar additions, in order, one row at a time.
		for r := range rows {
			xr, acc := x[r*n:r*n+n], out[r]
			for i, v := range xr {
				d := v - c[i]
				acc += T(T(d*d) * w[i])
			}
			out[r] = acc
		}
		return
	}
	blocks := (rows + 15) / 16
	if !splits(rows*n, grainElems) || blocks < 2 {
		squaredDistanceBlocks(out, x, c, w, rows, n, 0, blocks)
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.i[0], k.i[1] = out, x, c, w, rows, n
	k.units(blocks, max(1, grainElems/(16*n)), &squaredDistanceBlocksBody)
}

// squaredDistanceBlocks is squaredDistance's blocks of sixteen rows
// [lo, hi).
func squaredDistanceBlocks[T Float](out, x, c, w []T, rows, n, lo, hi int) {
	buf := getBuf[T](16 * n)
	defer putBuf(buf)
	t := *buf
	for r := lo * 16; r < min(hi*16, rows); r += 16 {
		m := min(16, rows-r)
		for j := range m {
			tj := t[j*n : j*n+n]
			binRow(opSub, tj, x[(r+j)*n:], c, n, 1, 1)
			binRow(opMul, tj, tj, tj, n, 1, 1)
			binRow(opMul, tj, tj, w, n, 1, 1)
		}
		reduceRows(out[r:], t, m, n, 1, 0, false)
	}
}

// squaredDistanceBlocksKernel is squaredDistanceBlocks on a kernel's operands.
func squaredDistanceBlocksKernel[T Float](k *kernel[T], lo, hi int) {
	squaredDistanceBlocks(k.s[0], k.s[1], k.s[2], k.s[3], k.i[0], k.i[1], lo, hi)
}

var squaredDistanceBlocksBody = kernelBody{squaredDistanceBlocksKernel[float32], squaredDistanceBlocksKernel[float64]}

// squaredDistanceGrad fills the gradients that are not nil (gc and gw
// zeroed). Columns are split over cores, in pieces aligned as kernel.blocks
// aligns them, and each core runs down the batch, so the sums over rows
// keep their order; a row's piece is computed with the operations of the
// composition's backward pass: gs = g·w, gx = (gs+gs)·d (Square's
// derivative), gc += -gx (as gc - gx, the same IEEE operation), gw += g·d².
func squaredDistanceGrad[T Float](g, x, c, w, gx, gc, gw []T, rows, n int) {
	if n < 16 {
		// The sums over rows in local arrays (in registers, not through
		// memory each row), added in the same order.
		var sc, sw [16]T
		if gc != nil {
			copy(sc[:n], gc)
		}
		if gw != nil {
			copy(sw[:n], gw)
		}
		x, c, w = x[:rows*n], c[:n], w[:n]
		for r := range rows {
			gr := g[r]
			xr := x[r*n : r*n+n]
			for i := range n {
				d := xr[i] - c[i]
				gs := gr * w[i]
				gd := T(2*gs) * d
				if gx != nil {
					gx[r*n+i] = gd
				}
				sc[i] -= gd
				sw[i] += T(gr * T(d*d))
			}
		}
		if gc != nil {
			copy(gc[:n], sc[:n])
		}
		if gw != nil {
			copy(gw[:n], sw[:n])
		}
		return
	}
	if !splits(rows*n, grainElems) {
		squaredDistanceGradCols(g, x, c, w, gx, gc, gw, rows, n, 0, n)
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.s[5], k.s[6], k.i[0], k.i[1] = g, x, c, w, gx, gc, gw, rows, n
	k.blocks(n, max(block, grainElems/rows), &squaredDistanceGradColsBody)
}

// squaredDistanceGradCols is squaredDistanceGrad's columns [lo, hi).
func squaredDistanceGradCols[T Float](g, x, c, w, gx, gc, gw []T, rows, n, lo, hi int) {
	m := hi - lo
	buf := getBuf[T](3 * m)
	defer putBuf(buf)
	d, gs, s := (*buf)[:m], (*buf)[m:2*m], (*buf)[2*m:]
	for r := range rows {
		binRow(opSub, d, x[r*n+lo:], c[lo:], m, 1, 1)
		binRow(opMul, gs, w[lo:], g[r:], m, 1, 0)
		if gw != nil {
			binRow(opMul, s, d, d, m, 1, 1)
			binRow(opMul, s, s, g[r:], m, 1, 0)
			binRow(opAdd, gw[lo:], gw[lo:], s, m, 1, 1)
		}
		gd := s
		if gx != nil {
			gd = gx[r*n+lo : r*n+hi]
		}
		unaryGradRange(FSquare, gd, gs, d, d, 0, m)
		if gc != nil {
			binRow(opSub, gc[lo:], gc[lo:], gd, m, 1, 1)
		}
	}
}

// squaredDistanceGradColsKernel is squaredDistanceGradCols on a kernel's operands.
func squaredDistanceGradColsKernel[T Float](k *kernel[T], lo, hi int) {
	squaredDistanceGradCols(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.s[5], k.s[6], k.i[0], k.i[1], lo, hi)
}

var squaredDistanceGradColsBody = kernelBody{squaredDistanceGradColsKernel[float32], squaredDistanceGradColsKernel[float64]}
