package tensor

import (
	"fmt"
	"slices"

	"github.com/bism-ml/bism/internal/freelist"
	"github.com/bism-ml/bism/internal/parallel"
)

// stridedLoop walks several operands over a common shape, each with its own
// element strides (0 on broadcast or reduced dimensions). Dimensions are
// coalesced first, so the common cases (same shape, a row vector broadcast over
// a matrix, a reduction over the last axes) become one long inner loop. It
// is a value with its dimensions in arrays, so that a loop allocates
// nothing.
type stridedLoop struct {
	rank, ops int
	shape     [maxLoopRank]int                  // coalesced shape; the last dimension is the inner loop
	strides   [maxLoopOperands][maxLoopRank]int // per operand, per dimension
}

// The most dimensions (after coalescing) and operands a stridedLoop has.
const (
	maxLoopRank     = 16
	maxLoopOperands = 3
)

func newStridedLoop(shape []int, strides ...[]int) stridedLoop {
	var l stridedLoop
	l.ops = len(strides)
	if l.ops > maxLoopOperands {
		panic(fmt.Sprintf("tensor: a strided loop over %d operands", l.ops))
	}
	for d, n := range shape {
		if n == 1 {
			continue
		}
		r := l.rank
		merge := r > 0
		for k := range strides {
			if merge && l.strides[k][r-1] != strides[k][d]*n {
				merge = false
			}
		}
		if merge {
			l.shape[r-1] *= n
			for k := range strides {
				l.strides[k][r-1] = strides[k][d]
			}
			continue
		}
		if r == maxLoopRank {
			panic(fmt.Sprintf("tensor: shape %v has more than %d dimensions that do not merge", slices.Clone(shape), maxLoopRank))
		}
		l.shape[r] = n
		for k := range strides {
			l.strides[k][r] = strides[k][d]
		}
		l.rank++
	}
	if l.rank == 0 {
		l.rank, l.shape[0] = 1, 1 // strides 0
	}
	return l
}

// inner returns the inner-loop length and each operand's inner stride.
func (l *stridedLoop) inner() (n int, s [maxLoopOperands]int) {
	last := l.rank - 1
	for k := range l.ops {
		s[k] = l.strides[k][last]
	}
	return l.shape[last], s
}

// rows is the number of inner loops.
func (l *stridedLoop) rows() int {
	n := 1
	for _, d := range l.shape[:l.rank-1] {
		n *= d
	}
	return n
}

// A loopJob is a strided loop with its operands and what each of its rows
// computes: the binary operation op (binary), a copy (BroadcastTo,
// Permute) or a reduction (reduce, with isMax). Split loops hand it to the
// workers (a parallel.Job) in place of a closure.
type loopJob[T Float] struct {
	l     stridedLoop
	kind  loopKind
	op    binOp
	isMax bool
	out   []T
	x, y  []T
}

type loopKind int

const (
	loopBinary loopKind = iota
	loopCopy
	loopReduce
)

var (
	loopJobs32 freelist.List[loopJob[float32]]
	loopJobs64 freelist.List[loopJob[float64]]
)

func newLoopJob[T Float]() *loopJob[T] {
	return freelist.Pick[loopJob[T]](&loopJobs32, &loopJobs64).Get()
}

func (j *loopJob[T]) free() {
	*j = loopJob[T]{}
	freelist.Pick[loopJob[T]](&loopJobs32, &loopJobs64).Put(j)
}

// runLoop runs the loop l of the given kind over out and x, y, on one core
// (reductions, whose rows may share an output) or split over cores when
// each chunk has enough elements (the other kinds, whose rows write
// disjoint outputs).
func runLoop[T Float](l *stridedLoop, kind loopKind, op binOp, isMax bool, out, x, y []T) {
	j := newLoopJob[T]()
	j.l, j.kind, j.op, j.isMax, j.out, j.x, j.y = *l, kind, op, isMax, out, x, y
	n, _ := l.inner()
	rows := l.rows()
	if kind == loopReduce || !splits(rows*n, grainElems) {
		j.Run(0, rows)
	} else {
		parallel.ForJob(rows, grainElems/n+1, j)
	}
	j.free()
}

// Run computes the inner loops whose row index is in [lo, hi)
// (parallel.Job).
func (j *loopJob[T]) Run(lo, hi int) {
	l := &j.l
	n, s := l.inner()
	outer := l.rank - 1
	var idx [maxLoopRank]int
	var offs [maxLoopOperands]int
	r := lo
	for d := outer - 1; d >= 0; d-- {
		idx[d] = r % l.shape[d]
		r /= l.shape[d]
		for k := range l.ops {
			offs[k] += idx[d] * l.strides[k][d]
		}
	}
	for row := lo; row < hi; row++ {
		switch j.kind {
		case loopBinary:
			binRow(j.op, j.out[offs[0]:], j.x[offs[1]:], j.y[offs[2]:], n, s[1], s[2])
		case loopCopy:
			stridedCopy(j.out[offs[0]:], j.x[offs[1]:], n, s[1])
		default:
			reduceRow(j.out[offs[0]:], j.x[offs[1]:], n, s[0], s[1], j.isMax)
		}
		for d := outer - 1; d >= 0; d-- {
			idx[d]++
			for k := range l.ops {
				offs[k] += l.strides[k][d]
			}
			if idx[d] < l.shape[d] {
				break
			}
			for k := range l.ops {
				offs[k] -= l.shape[d] * l.strides[k][d]
			}
			idx[d] = 0
		}
	}
}

// splits reports whether a loop of n elements is split at this grain: into
// two pieces at least, and only when there is more than one worker and no
// split loop holds them already (a loop inside another's body); otherwise
// the split's set-up (a kernel record) is skipped.
func splits(n, grain int) bool { return parallel.Splits(n, grain) }

// grainElems is the smallest piece of cheap elementwise arithmetic worth
// a core of its own: a loop splits from two pieces (the vector
// transcendental functions from grainElems/2 per piece, the scalar ones
// from grainElems/8). BenchmarkGrain measures where splitting pays: with
// the operands in memory both cores read (a training step's case) it pays
// at every size it times, with them in the first core's cache from about
// 2·grainElems elements. A variable only so that tests and the benchmark
// can force splits.
var grainElems = 1 << 14

// block is the alignment of the pieces kernel.blocks hands out: a multiple of
// every vector kernel's width, so that each element is computed by the same
// code (vector lanes or the scalar tail) however the loop is split.
const block = 64

// chunk is how many elements a fused kernel computes at a time in
// scratch that stays in the first-level cache: a multiple of block, so
// chunks start where the vector kernels would.
const chunk = 1024

// A kernel is a split loop's operands, handed to the workers in place of
// a closure (which every call would allocate anew): a loop fills one from
// newKernel, and its body, a plain function, reads them. Operands are
// slices s, scalars c, integers i and an operation code op, each in the
// order of the body's range function.
type kernel[T Float] struct {
	s    [7][]T
	c    [4]T
	i    [3]int
	op   int
	n    int // elements (blocks) or units (units)
	unit int // elements per unit of the split: block (blocks) or 1 (units)
	body *kernelBody
}

// A kernelBody is a split loop's body for each element type. Its values
// are made once, outside generic code: the value of a generic function
// taken inside generic code is a closure made anew each time.
type kernelBody struct {
	f32 func(k *kernel[float32], lo, hi int)
	f64 func(k *kernel[float64], lo, hi int)
}

// The kernels not in use, one free list per element type.
var (
	kernels32 freelist.List[kernel[float32]]
	kernels64 freelist.List[kernel[float64]]
)

// newKernel returns an empty kernel of element type T.
func newKernel[T Float]() *kernel[T] { return freelist.Pick[kernel[T]](&kernels32, &kernels64).Get() }

// blocks runs body over [0, n) split over the workers with piece
// boundaries at multiples of block, then returns k to its free list: the
// vector kernels and their scalar tails then see the same elements on any
// number of cores, and results do not depend on it (the vector exp and log
// round differently from the scalar ones).
func (k *kernel[T]) blocks(n, grain int, body *kernelBody) {
	k.n, k.unit, k.body = n, block, body
	parallel.ForJob((n+block-1)/block, max(1, grain/block), k)
	k.free()
}

// units runs body over [0, n) as parallel.For runs a closure, then
// returns k to its free list.
func (k *kernel[T]) units(n, grain int, body *kernelBody) {
	k.n, k.unit, k.body = n, 1, body
	parallel.ForJob(n, grain, k)
	k.free()
}

// Run runs body over units [lo, hi) of k (parallel.Job): elements
// [lo·unit, hi·unit), the last piece cut at n.
func (k *kernel[T]) Run(lo, hi int) {
	lo, hi = lo*k.unit, min(hi*k.unit, k.n)
	switch k := any(k).(type) {
	case *kernel[float32]:
		k.body.f32(k, lo, hi)
	case *kernel[float64]:
		k.body.f64(k, lo, hi)
	}
}

// free clears k (it holds no slices) and returns it to its free list.
func (k *kernel[T]) free() {
	*k = kernel[T]{}
	freelist.Pick[kernel[T]](&kernels32, &kernels64).Put(k)
}

// contiguousStrides returns row-major strides for shape, in buf when it
// has room (a stack array's slice, so that a loop allocates none).
func contiguousStrides(buf, shape []int) []int {
	s := slices.Grow(buf[:0], len(shape))[:len(shape)]
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// broadcastStrides returns strides for viewing a tensor of shape `from` as
// `to` (right-aligned numpy broadcasting), with 0 on broadcast dimensions.
// buf is as contiguousStrides's.
func broadcastStrides(buf []int, op string, from, to []int) []int {
	if len(from) > len(to) {
		panicShapes(op, from, to)
	}
	var cbuf [maxLoopRank]int
	cs := contiguousStrides(cbuf[:], from)
	s := slices.Grow(buf[:0], len(to))[:len(to)]
	clear(s)
	off := len(to) - len(from)
	for i := range from {
		switch from[i] {
		case to[off+i]:
			s[off+i] = cs[i]
			if from[i] == 1 {
				s[off+i] = 0
			}
		case 1:
			s[off+i] = 0
		default:
			panicShapes(op, from, to)
		}
	}
	return s
}

// BroadcastShapes returns the numpy-style broadcast of two shapes, or panics
// naming op and both shapes.
func BroadcastShapes(op string, a, b []int) []int { return broadcastShapes(nil, op, a, b) }

// broadcastShapes is BroadcastShapes appending to dst[:0] (a caller's
// stack buffer, so that an operation's shape is not a heap allocation).
func broadcastShapes(dst []int, op string, a, b []int) []int {
	n := max(len(a), len(b))
	out := append(dst[:0], make([]int, n)...)
	for i := 0; i < n; i++ {
		da, db := 1, 1
		if j := i - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db || db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			panicShapes(op, a, b)
		}
	}
	return out
}

// stride2 returns the outer and inner strides of a tensor of shape from
// (at most 2 dimensions) broadcast to the 2-D shape [rows, n]: 0 along a
// broadcast dimension. ok is false where from does not broadcast to it.
func stride2(from []int, rows, n int) (so, si int, ok bool) {
	var d0, d1 int
	switch len(from) {
	case 0:
		d0, d1 = 1, 1
	case 1:
		d0, d1 = 1, from[0]
	case 2:
		d0, d1 = from[0], from[1]
	default:
		return 0, 0, false
	}
	if (d0 != rows && d0 != 1) || (d1 != n && d1 != 1) {
		return 0, 0, false
	}
	if d1 == n && n != 1 {
		si = 1
	}
	if d0 == rows && rows != 1 {
		so = d1
	}
	return so, si, true
}

// rowLoopElems is the size from which a 2-D result leaves the row loops
// (which run on one core) for the general, split loops.
const rowLoopElems = 1 << 16

// rowLoops enables the row loops of small2 (a variable for tests).
var rowLoops = true

// small2 reports whether shape is a 2-D result small enough that its loop
// is not split over cores: the case that elementwise operations on a
// batch of narrow rows (a few features) meet all the time, for which the
// row loops (binRows, reduceRows, copyRows) run without building a
// stridedLoop. They make the general path's operations in the same order,
// so the results are the same bits.
func small2(shape []int) (rows, n int, ok bool) {
	if !rowLoops || len(shape) != 2 || shape[0]*shape[1] >= rowLoopElems {
		return 0, 0, false
	}
	return shape[0], shape[1], true
}
