package tensor

import (
	"fmt"
	"math"
)

// ReducedShape returns the shape of reducing `shape` over `axes` (all axes if
// axes is empty), keeping reduced dimensions as 1 when keepdims is set.
// Axes are normalised (negative counts from the end) and sorted.
func ReducedShape(op string, shape []int, axes []int, keepdims bool) (out []int, normAxes []int) {
	return reducedShape(op, shape, axes, keepdims, make([]int, 2*len(shape)))
}

// reducedShape is ReducedShape with its results in buf (2·len(shape) ints:
// one part for each result, each capped at its own part).
func reducedShape(op string, shape []int, axes []int, keepdims bool, buf []int) (out []int, normAxes []int) {
	r := len(shape)
	var small [8]bool
	reduce := small[:0]
	if r <= len(small) {
		reduce = small[:r]
	} else {
		reduce = make([]bool, r)
	}
	if len(axes) == 0 {
		for i := range reduce {
			reduce[i] = true
		}
	}
	for _, a := range axes {
		a = normAxis(op, a, r)
		if reduce[a] {
			// A copy of axes in the message, so that axes itself does
			// not escape (callers pass them on the stack).
			panic(fmt.Sprintf("tensor.%s: axis %d repeated in %v", op, a, append([]int(nil), axes...)))
		}
		reduce[a] = true
	}
	out, normAxes = buf[:0:r], buf[r:r:2*r]
	for i, d := range shape {
		if reduce[i] {
			normAxes = append(normAxes, i) // in increasing order
			if keepdims {
				out = append(out, 1)
			}
		} else {
			out = append(out, d)
		}
	}
	return out, normAxes
}

// Sum sums over the given axes (all if none). keepdims keeps them as size 1.
func Sum(x *Tensor, keepdims bool, axes ...int) *Tensor {
	return reduce("Sum", x, keepdims, axes, false)
}

// Max takes the maximum over the given axes (all if none).
func Max(x *Tensor, keepdims bool, axes ...int) *Tensor {
	return reduce("Max", x, keepdims, axes, true)
}

// Mean averages over the given axes (all if none).
func Mean(x *Tensor, keepdims bool, axes ...int) *Tensor {
	s := Sum(x, keepdims, axes...)
	if s.Size() == 0 {
		return s
	}
	return Scale(s, float64(s.Size())/float64(x.Size()))
}

func reduce(op string, x *Tensor, keepdims bool, axes []int, isMax bool) *Tensor {
	// The shape with the reduced axes kept, and the result's shape (the
	// same layout: without keepdims, kshape less the reduced axes), in
	// buffers on the stack for the usual ranks.
	var small [24]int
	r := len(x.shape)
	buf := small[:]
	if 3*r > len(small) {
		buf = make([]int, 3*r)
	}
	kshape, norm := reducedShape(op, x.shape, axes, true, buf[:2*r])
	shape := kshape
	if !keepdims {
		shape = buf[2*r : 2*r : 3*r]
		j := 0 // next reduced axis (norm is increasing)
		for i, d := range kshape {
			if j < len(norm) && norm[j] == i {
				j++
				continue
			}
			shape = append(shape, d)
		}
	}
	out := x.arena.zeros(x.dtype, shape...)
	if isMax {
		out.Fill(math.Inf(-1))
	}
	if rows, n, ok := small2(x.shape); ok && len(norm) == 1 {
		// One of the two axes: each row of x adds into out (axis 0) or
		// into its own element (axis 1), as the general loop does.
		oo, oi := 0, 1 // axis 0: out is [1, n]
		if norm[0] == 1 {
			oo, oi = 1, 0 // axis 1: out is [rows, 1]
		}
		if x.dtype == Float32 {
			reduceRows(out.f32, x.f32, rows, n, oo, oi, isMax)
		} else {
			reduceRows(out.f64, x.f64, rows, n, oo, oi, isMax)
		}
		return out
	}
	if outer, c, inner, ok := oneAxisKept(x.shape, norm); ok && !isMax && x.dtype == Float32 && hasVecMath && c >= 16 {
		// A sum over every axis but one (a convolution's bias gradient):
		// sixteen kept indices at a time in vector lanes.
		keptSums(out.f32, x.f32, outer, c, inner)
		return out
	}
	if rowLoops && len(norm) == len(x.shape) {
		// Every axis: one pass over x in order, as the general loop makes
		// it once it has merged all the axes.
		if x.dtype == Float32 {
			reduceRow(out.f32, x.f32, x.Size(), 0, 1, isMax)
		} else {
			reduceRow(out.f64, x.f64, x.Size(), 0, 1, isMax)
		}
		return out
	}
	// Output strides over x's shape: zero on reduced axes.
	var obuf, xbuf [maxLoopRank]int
	os := contiguousStrides(obuf[:], kshape)
	for i := range kshape {
		if kshape[i] == 1 {
			os[i] = 0
		}
	}
	l := newStridedLoop(x.shape, os, contiguousStrides(xbuf[:], x.shape))
	if x.dtype == Float32 {
		runLoop(&l, loopReduce, 0, isMax, out.f32, x.f32, nil)
	} else {
		runLoop(&l, loopReduce, 0, isMax, out.f64, x.f64, nil)
	}
	return out
}

// reduceRows adds (or takes the maximum of) each row of n values of x into
// d[r*oo:] with stride oi. Short sums (n < 16) are reduceRow's scalar
// additions in the same order, without a call per row.
func reduceRows[T Float](d, x []T, rows, n, oo, oi int, isMax bool) {
	if d32, ok := any(d).([]float32); ok && !isMax && oi == 0 && oo == 1 && n >= 16 {
		// Long rows, each summed into its own element: sixteen rows at a
		// time in vector lanes, each in its own order.
		done := rowSums(d32, any(x).([]float32), rows, n)
		d, x, rows = d[done:], x[done*n:], rows-done
	}
	if isMax || n >= 16 {
		for r := range rows {
			reduceRow(d[r*oo:], x[r*n:], n, oi, 1, isMax)
		}
		return
	}
	x = x[:rows*n]
	if oi == 0 { // each row into its own element
		for r := range rows {
			acc := d[r*oo]
			for _, v := range x[r*n : r*n+n] {
				acc += v
			}
			d[r*oo] = acc
		}
		return
	}
	d = d[:n] // every row into the same n elements
	for r := range rows {
		for j, v := range x[r*n : r*n+n] {
			d[j] += v
		}
	}
}

// oneAxisKept reports whether the sorted axes norm reduce every axis of
// shape but one, k, with the sizes before k, at k and after k multiplied
// out.
func oneAxisKept(shape, norm []int) (outer, c, inner int, ok bool) {
	if len(norm) != len(shape)-1 || len(shape) < 3 {
		return 0, 0, 0, false
	}
	k := len(shape) - 1 // the one axis missing from norm
	for i, a := range norm {
		if a != i {
			k = i
			break
		}
	}
	outer, inner = 1, 1
	for _, d := range shape[:k] {
		outer *= d
	}
	for _, d := range shape[k+1:] {
		inner *= d
	}
	return outer, shape[k], inner, true
}

// keptSums adds x, [outer, c, inner], into d [c] over its first and last
// axes, each d[j] in the general loop's order (x's row-major order):
// sixteen j at a time in the lanes of the row-sum kernel, whose rows here
// are the sixteen j's runs of inner values, continued over the outer
// index; the j left over one at a time. Blocks of sixteen are split over
// cores.
func keptSums(d, x []float32, outer, c, inner int) {
	blocks := c / 16
	if splits(outer*c*inner, grainElems) && blocks >= 2 && 16*inner <= math.MaxInt32 {
		k := newKernel[float32]()
		k.s[0], k.s[1], k.i[0], k.i[1], k.i[2] = d, x, outer, c, inner
		k.units(blocks, 1, &keptSumsBody)
	} else if 16*inner <= math.MaxInt32 {
		vecKeptSums(d, x, outer, c, inner, 0, blocks)
	} else {
		blocks = 0
	}
	for j := blocks * 16; j < c; j++ {
		acc := d[j]
		for o := range outer {
			for _, v := range x[(o*c+j)*inner : (o*c+j+1)*inner] {
				acc += v
			}
		}
		d[j] = acc
	}
}

// keptSumsKernel is vecKeptSums on a kernel's operands.
func keptSumsKernel(k *kernel[float32], lo, hi int) {
	vecKeptSums(k.s[0], k.s[1], k.i[0], k.i[1], k.i[2], lo, hi)
}

var keptSumsBody = kernelBody{f32: keptSumsKernel}

// rowSums is vecRowSums split over cores in groups of sixteen rows when
// there are enough elements: each row is summed in its own lane, in the
// same order, wherever it runs.
func rowSums(d, x []float32, rows, n int) int {
	if !hasVecMath || !splits(rows*n, grainElems) || rows < 32 || 16*n > math.MaxInt32 {
		return vecRowSums(d, x, rows, n)
	}
	groups := rows / 16
	k := newKernel[float32]()
	k.s[0], k.s[1], k.i[0] = d, x, n
	k.units(groups, max(1, grainElems/(16*n)), &rowSumsBody)
	return groups * 16
}

// rowSumsKernel is vecRowSums on groups [lo, hi) of sixteen rows of a
// kernel's operands.
func rowSumsKernel(k *kernel[float32], lo, hi int) {
	d, x, n := k.s[0], k.s[1], k.i[0]
	vecRowSums(d[lo*16:hi*16], x[lo*16*n:hi*16*n], (hi-lo)*16, n)
}

var rowSumsBody = kernelBody{f32: rowSumsKernel}

func reduceRow[T Float](d, x []T, n, sd, sx int, isMax bool) {
	if sd == 0 {
		acc := d[0]
		if isMax {
			for i := 0; i < n; i++ {
				if v := x[i*sx]; v > acc || v != v {
					acc = v
				}
			}
		} else if sx == 1 {
			for _, v := range x[:n] {
				acc += v
			}
		} else {
			for i := 0; i < n; i++ {
				acc += x[i*sx]
			}
		}
		d[0] = acc
		return
	}
	if !isMax && sd == 1 && sx == 1 {
		binRow(opAdd, d, d, x, n, 1, 1) // the same additions, vectorized
		return
	}
	for i := 0; i < n; i++ {
		v := x[i*sx]
		if isMax {
			if v > d[i*sd] || v != v {
				d[i*sd] = v
			}
		} else {
			d[i*sd] += v
		}
	}
}

// LogSumExp computes log(sum(exp(x))) over the axes, shifted by the maximum for stability.
func LogSumExp(x *Tensor, keepdims bool, axes ...int) *Tensor {
	m := Max(x, true, axes...)
	// Rows whose maximum is infinite would give inf-inf; shift them by 0.
	for i := 0; i < m.Size(); i++ {
		if math.IsInf(m.Flat(i), 0) {
			m.SetFlat(i, 0)
		}
	}
	out := Add(Log(Sum(Exp(Sub(x, m)), true, axes...)), m)
	if !keepdims {
		rs, _ := ReducedShape("LogSumExp", x.shape, axes, false)
		out = out.Reshape(rs...)
	}
	return out
}

// MaxMask returns a tensor shaped like x that is 1/k at the k positions
// attaining the maximum over the axes and 0 elsewhere. It is the derivative of
// Max, splitting ties evenly.
func MaxMask(x *Tensor, axes ...int) *Tensor {
	m := Max(x, true, axes...)
	mask := x.arena.zeros(x.dtype, x.shape...)
	eq := Sub(x, m) // zero exactly where x attains the maximum
	for i := 0; i < eq.Size(); i++ {
		if eq.Flat(i) == 0 {
			mask.SetFlat(i, 1)
		}
	}
	count := Sum(mask, true, axes...)
	return Div(mask, count)
}

// SumTo sums x down to shape, the inverse of broadcasting x from shape.
func SumTo(x *Tensor, shape []int) *Tensor {
	if SameShape(x.shape, shape) {
		return x
	}
	if len(shape) > len(x.shape) {
		panicShapes("SumTo", x.shape, shape)
	}
	off := len(x.shape) - len(shape)
	var small [8]int
	axes := small[:0]
	for i := range x.shape {
		if i < off {
			axes = append(axes, i)
			continue
		}
		switch shape[i-off] {
		case x.shape[i]:
		case 1:
			axes = append(axes, i)
		default:
			panicShapes("SumTo", x.shape, shape)
		}
	}
	if len(axes) == 0 {
		return x.Reshape(shape...)
	}
	return Sum(x, true, axes...).Reshape(shape...)
}
