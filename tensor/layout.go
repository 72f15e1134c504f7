package tensor

import "fmt"

// BroadcastTo expands x to shape by numpy broadcasting rules (copying).
func BroadcastTo(x *Tensor, shape []int) *Tensor {
	if SameShape(x.shape, shape) {
		return x
	}
	rows, n, ok := small2(shape)
	if len(shape) == 1 && len(x.shape) <= 1 && shape[0] < rowLoopElems && rowLoops {
		rows, n, ok = 1, shape[0], true // one row
	}
	if ok {
		if xo, xi, ok := stride2(x.shape, rows, n); ok {
			out := x.arena.empty(x.dtype, shape...)
			if x.dtype == Float32 {
				copyRows(out.f32, x.f32, rows, n, xo, xi)
			} else {
				copyRows(out.f64, x.f64, rows, n, xo, xi)
			}
			return out
		}
	}
	out := x.arena.empty(x.dtype, shape...)
	var os, xs [maxLoopRank]int
	l := newStridedLoop(shape, contiguousStrides(os[:], shape), broadcastStrides(xs[:], "BroadcastTo", x.shape, shape))
	if x.dtype == Float32 {
		runLoop(&l, loopCopy, 0, false, out.f32, x.f32, nil)
	} else {
		runLoop(&l, loopCopy, 0, false, out.f64, x.f64, nil)
	}
	return out
}

// copyRows sets row r of d (n values) to x[r*xo + j*xi], j < n; short rows
// without a call per row.
func copyRows[T Float](d, x []T, rows, n, xo, xi int) {
	if n >= 16 {
		for r := range rows {
			stridedCopy(d[r*n:], x[r*xo:], n, xi)
		}
		return
	}
	d = d[:rows*n]
	for r := range rows {
		for j, i, ix := 0, r*n, r*xo; j < n; j, ix = j+1, ix+xi {
			d[i+j] = x[ix]
		}
	}
}

func stridedCopy[T Float](d, x []T, n, sx int) {
	switch sx {
	case 1:
		copy(d[:n], x[:n])
	case 0:
		v, k := x[0], 0
		if d32, ok := any(d).([]float32); ok {
			k = vecFill(d32[:n], any(v).(float32))
		}
		for i := range d[k:n] {
			d[k+i] = v
		}
	default:
		for i := range d[:n] {
			d[i] = x[i*sx]
		}
	}
}

// Permute reorders dimensions: out.shape[i] = x.shape[perm[i]].
func Permute(x *Tensor, perm ...int) *Tensor {
	r := len(x.shape)
	if len(perm) != r {
		panic(fmt.Sprintf("tensor.Permute: permutation %v for shape %v", perm, x.shape))
	}
	seen := make([]bool, r)
	shape := make([]int, r)
	var xbuf, obuf [maxLoopRank]int
	xs := contiguousStrides(xbuf[:], x.shape)
	strides := make([]int, r)
	for i, p := range perm {
		if p < 0 || p >= r || seen[p] {
			panic(fmt.Sprintf("tensor.Permute: invalid permutation %v for shape %v", perm, x.shape))
		}
		seen[p] = true
		shape[i] = x.shape[p]
		strides[i] = xs[p]
	}
	out := x.arena.empty(x.dtype, shape...)
	l := newStridedLoop(shape, contiguousStrides(obuf[:], shape), strides)
	if x.dtype == Float32 {
		runLoop(&l, loopCopy, 0, false, out.f32, x.f32, nil)
	} else {
		runLoop(&l, loopCopy, 0, false, out.f64, x.f64, nil)
	}
	return out
}

// InversePerm returns the permutation that undoes perm.
func InversePerm(perm []int) []int {
	inv := make([]int, len(perm))
	for i, p := range perm {
		inv[p] = i
	}
	return inv
}

// Transpose swaps the last two dimensions.
func Transpose(x *Tensor) *Tensor {
	r := len(x.shape)
	if r < 2 {
		panic(fmt.Sprintf("tensor.Transpose: shape %v has fewer than 2 dimensions", x.shape))
	}
	perm := make([]int, r)
	for i := range perm {
		perm[i] = i
	}
	perm[r-2], perm[r-1] = r-1, r-2
	return Permute(x, perm...)
}

// Slice returns x[..., start:end, ...] along axis.
func Slice(x *Tensor, axis, start, end int) *Tensor {
	axis = normAxis("Slice", axis, len(x.shape))
	if start < 0 || end > x.shape[axis] || start > end {
		panic(fmt.Sprintf("tensor.Slice: range [%d:%d] out of bounds for axis %d of shape %v", start, end, axis, x.shape))
	}
	shape := cloneInts(x.shape)
	shape[axis] = end - start
	out := x.arena.empty(x.dtype, shape...)
	copyBlock(out, x, axis, start, false)
	return out
}

// Pad embeds x into zeros of size `size` along axis, starting at offset. It is
// the adjoint of Slice.
func Pad(x *Tensor, axis, offset, size int) *Tensor {
	axis = normAxis("Pad", axis, len(x.shape))
	if offset < 0 || offset+x.shape[axis] > size {
		panic(fmt.Sprintf("tensor.Pad: %d rows at offset %d do not fit size %d (shape %v, axis %d)", x.shape[axis], offset, size, x.shape, axis))
	}
	shape := cloneInts(x.shape)
	shape[axis] = size
	out := x.arena.zeros(x.dtype, shape...)
	copyBlock(x, out, axis, offset, true)
	return out
}

// copyBlock copies between small (the block) and big, which differ only
// along axis, where the block sits at offset. toBig chooses the direction.
func copyBlock(small, big *Tensor, axis, offset int, toBig bool) {
	outer := SizeOf(small.shape[:axis])
	inner := SizeOf(small.shape[axis+1:])
	ns, nb := small.shape[axis]*inner, big.shape[axis]*inner
	for o := 0; o < outer; o++ {
		so, bo := o*ns, o*nb+offset*inner
		if small.dtype == Float32 {
			if toBig {
				copy(big.f32[bo:bo+ns], small.f32[so:so+ns])
			} else {
				copy(small.f32[so:so+ns], big.f32[bo:bo+ns])
			}
		} else {
			if toBig {
				copy(big.f64[bo:bo+ns], small.f64[so:so+ns])
			} else {
				copy(small.f64[so:so+ns], big.f64[bo:bo+ns])
			}
		}
	}
}

// Stack joins tensors of one shape p along a new first axis: [len(xs), p...].
func Stack(xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("tensor.Stack: no tensors")
	}
	var buf [8]int
	shape := append(append(buf[:0], len(xs)), xs[0].shape...)
	for _, x := range xs {
		sameDType("Stack", xs[0], x)
		if !SameShape(x.shape, xs[0].shape) {
			panicShapes("Stack", xs[0].shape, x.shape)
		}
	}
	out := ArenaOf(xs...).empty(xs[0].dtype, shape...)
	n := xs[0].Size()
	for i, x := range xs {
		if x.dtype == Float32 {
			copy(out.f32[i*n:(i+1)*n], x.f32)
		} else {
			copy(out.f64[i*n:(i+1)*n], x.f64)
		}
	}
	return out
}

// TileRows returns n rows whose row i is x's row i mod B, for x of shape
// [B, ...] with B > 0: x repeated along its first axis, the last copy cut
// short.
func TileRows(x *Tensor, n int) *Tensor {
	if len(x.shape) == 0 || x.shape[0] == 0 || n < 0 {
		panic(fmt.Sprintf("tensor.TileRows: %d rows from shape %v", n, x.shape))
	}
	var buf [8]int
	shape := append(append(buf[:0], n), x.shape[1:]...)
	out := x.arena.empty(x.dtype, shape...)
	row := x.Size() / x.shape[0]
	for lo := 0; lo < n*row; lo += x.Size() {
		hi := min(lo+x.Size(), n*row)
		if x.dtype == Float32 {
			copy(out.f32[lo:hi], x.f32)
		} else {
			copy(out.f64[lo:hi], x.f64)
		}
	}
	return out
}

// Concat joins tensors along axis; other dimensions must match.
func Concat(axis int, xs ...*Tensor) *Tensor {
	if len(xs) == 0 {
		panic("tensor.Concat: no tensors")
	}
	axis = normAxis("Concat", axis, len(xs[0].shape))
	shape := cloneInts(xs[0].shape)
	shape[axis] = 0
	for _, x := range xs {
		sameDType("Concat", xs[0], x)
		if len(x.shape) != len(shape) {
			panicShapes("Concat", xs[0].shape, x.shape)
		}
		for i := range shape {
			if i != axis && x.shape[i] != shape[i] {
				panicShapes("Concat", xs[0].shape, x.shape)
			}
		}
		shape[axis] += x.shape[axis]
	}
	out := ArenaOf(xs...).empty(xs[0].dtype, shape...)
	off := 0
	for _, x := range xs {
		copyBlock(x, out, axis, off, true)
		off += x.shape[axis]
	}
	return out
}
