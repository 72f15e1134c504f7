package dist

import (
	"fmt"
	"unsafe"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// Comm is a group of processes that sum buffers together.
type Comm interface {
	// Rank is this process's index in [0, Size).
	Rank() int
	// Size is the number of processes.
	Size() int
	// SumFloat32 and SumFloat64 replace buf, on every rank, with the
	// elementwise sum of every rank's buf: the same bits everywhere. They
	// are collective: every rank makes the same calls in the same order.
	SumFloat32(buf []float32)
	SumFloat64(buf []float64)
	// Abort stops every process of the group with the exit code (a rank
	// that fails must not leave the others waiting in a sum).
	Abort(code int)
	// Close ends the process's part in the group after a successful run.
	Close()
}

// Single is the Comm of one process.
type Single struct{}

func (Single) Rank() int            { return 0 }
func (Single) Size() int            { return 1 }
func (Single) SumFloat32([]float32) {}
func (Single) SumFloat64([]float64) {}
func (Single) Abort(int)            {}
func (Single) Close()               {}

// Group is a Comm with the buffers and counters of the sums a training step
// makes. It implements ad.Reducer.
type Group struct {
	Comm Comm

	buf32   []float32
	buf64   []float64
	scalars []float64
	calls   int64
	bytes   int64
}

// NewGroup wraps c.
func NewGroup(c Comm) *Group { return &Group{Comm: c} }

// Lead reports whether this is rank 0, the rank that writes files and
// prints progress; true for a nil group.
func (g *Group) Lead() bool { return g == nil || g.Comm.Rank() == 0 }

// Size is the number of ranks (1 for a nil group).
func (g *Group) Size() int {
	if g == nil {
		return 1
	}
	return g.Comm.Size()
}

// Traffic returns how many sums the group has made and how many bytes each
// rank passed to them (0 for a nil group).
func (g *Group) Traffic() (calls, bytes int64) {
	if g == nil {
		return 0, 0
	}
	return g.calls, g.bytes
}

// SumAcross returns, for each tensor, its elementwise sum across ranks,
// in one collective call: the tensors are packed into one buffer. The sums
// take the storage of each tensor's arena.
func (g *Group) SumAcross(xs []*tensor.Tensor) []*tensor.Tensor { return g.sumScaled(xs, 1) }

// sumScaled returns, for each tensor, Σ_r w·x_r: the scaling is applied
// while packing, so a weighted sum costs no pass of its own.
func (g *Group) sumScaled(xs []*tensor.Tensor, w float64) []*tensor.Tensor {
	if len(xs) == 0 {
		return nil
	}
	dt := xs[0].DType()
	for _, x := range xs {
		if x.DType() != dt {
			panic(fmt.Sprintf("dist.SumAcross: tensors of types %v and %v in one call", dt, x.DType()))
		}
	}
	if dt == tensor.Float32 {
		return sumPacked(g, &g.buf32, xs, float32(w), (*tensor.Tensor).F32, g.Comm.SumFloat32)
	}
	return sumPacked(g, &g.buf64, xs, w, (*tensor.Tensor).F64, g.Comm.SumFloat64)
}

// sumPacked packs w times the tensors' data into buf, sums it across ranks
// and unpacks the sums into new tensors.
func sumPacked[T float32 | float64](g *Group, buf *[]T, xs []*tensor.Tensor, w T, data func(*tensor.Tensor) []T, sum func([]T)) []*tensor.Tensor {
	n := 0
	for _, x := range xs {
		n += x.Size()
	}
	g.calls++
	g.bytes += int64(n) * int64(unsafe.Sizeof(T(0)))
	b := grow(buf, n)
	off := 0
	for _, x := range xs {
		if w == 1 {
			off += copy(b[off:], data(x))
			continue
		}
		for _, v := range data(x) {
			b[off] = w * v
			off++
		}
	}
	sum(b)
	out := make([]*tensor.Tensor, len(xs))
	off = 0
	for i, x := range xs {
		out[i] = tensor.ZerosLike(x)
		off += copy(data(out[i]), b[off:off+x.Size()])
	}
	return out
}

// Agree sets each flag, on every rank, to whether any rank set it (one sum
// of as many numbers): how the ranks agree to stop, or learn what rank 0
// decided.
func (g *Group) Agree(flags []bool) {
	buf := grow(&g.scalars, len(flags))
	for i, f := range flags {
		buf[i] = 0
		if f {
			buf[i] = 1
		}
	}
	g.SumScalars(buf)
	for i := range flags {
		flags[i] = buf[i] > 0
	}
}

// Flag returns whether any rank passed true (Agree on one flag).
func (g *Group) Flag(b bool) bool {
	f := [1]bool{b}
	g.Agree(f[:])
	return f[0]
}

// SumScalars sums xs across ranks in place.
func (g *Group) SumScalars(xs []float64) {
	g.calls++
	g.bytes += 8 * int64(len(xs))
	g.Comm.SumFloat64(xs)
}

func grow[T float32 | float64](b *[]T, n int) []T {
	if cap(*b) < n {
		*b = make([]T, n)
	}
	return (*b)[:n]
}

var _ ad.Reducer = (*Group)(nil)

// Rows returns the rows [lo, hi) of a global batch of n rows that rank
// holds of size ranks: contiguous blocks, the first n mod size ranks
// holding one row more.
func Rows(n, rank, size int) (lo, hi int) {
	q, r := n/size, n%size
	lo = rank*q + min(rank, r)
	hi = lo + q
	if rank < r {
		hi++
	}
	return lo, hi
}

// Shard is a rank's part of a global minibatch: rows [Lo, Hi) of N, and the
// group that sums across ranks. A nil *Shard is one process holding the
// whole batch: its methods return their inputs.
type Shard struct {
	Group     *Group
	Lo, Hi, N int
}

// NewShard returns rank's shard of a global batch of n rows, or nil for a
// single process.
func NewShard(g *Group, n int) *Shard {
	if g == nil || g.Comm.Size() == 1 {
		return nil
	}
	lo, hi := Rows(n, g.Comm.Rank(), g.Comm.Size())
	return &Shard{Group: g, Lo: lo, Hi: hi, N: n}
}

// Weight is the shard's share of the rows, w_r = (Hi - Lo) / N.
func (s *Shard) Weight() float64 {
	if s == nil {
		return 1
	}
	return float64(s.Hi-s.Lo) / float64(s.N)
}

// Mean turns per-rank means over the shard's rows into means over the
// global batch, Σ_r w_r x_r, differentiably (ad.AllReduce).
func (s *Shard) Mean(xs []*ad.Value) []*ad.Value {
	if s == nil {
		return xs
	}
	w := make([]*ad.Value, len(xs))
	for i, x := range xs {
		w[i] = ad.Scale(x, s.Weight())
	}
	return ad.AllReduce(w, s.Group)
}

// MeanTensors is Mean on tensors (no graph).
func (s *Shard) MeanTensors(ts []*tensor.Tensor) []*tensor.Tensor {
	if s == nil {
		return ts
	}
	return s.Group.sumScaled(ts, s.Weight())
}

// MeanScalars is Mean on scalars, in place.
func (s *Shard) MeanScalars(xs ...*float64) {
	if s == nil {
		return
	}
	buf := grow(&s.Group.scalars, len(xs))
	for i, x := range xs {
		buf[i] = *x * s.Weight()
	}
	s.Group.SumScalars(buf)
	for i, x := range xs {
		*x = buf[i]
	}
}
