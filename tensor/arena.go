package tensor

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// An Arena recycles tensor storage across the iterations of a loop whose
// allocations repeat, such as a training step: the same operations on the
// same shapes, every iteration. A computation owns its arena explicitly:
// tensors belong to an arena (SetArena, InArena, RNG.SetArena), and an
// operation's result belongs to the arena of its inputs. While the arena
// runs a Step, the results' storage comes from it, and the next Step makes
// all of it available again. After the first iteration a step therefore
// allocates no new storage: each request is served from a buffer of
// exactly that size freed at the previous Step, and its header (shape,
// dtype) is one the previous Step used.
//
// Nothing is global: two computations with their own arenas (two trainings
// in one process) never share storage, and tensors that belong to no arena
// always live on the heap. Outside a Step, an arena's tensors take their
// storage from the heap too.
//
// Storage can also come back within a Step: Release gives back one tensor
// whose only holder is done with it (a backward pass's consumed
// gradients), ReleaseSince everything served after a Mark (an inner loop's
// iteration), so that the next request of that size is served from
// storage still in the cache.
//
// The contract is the caller's: no tensor whose storage came from the
// arena may be read or written after the next Step begins, or after its
// release. Values that
// must outlive a step (optimizer moments, persistent Markov chains) are
// created on the heap (New) or copied out with Keep; parameters are updated
// in place.
type Arena struct {
	mu     sync.Mutex
	p32    bufs[float32]
	p64    bufs[float64]
	held   int64 // bytes owned, handed out or free
	misses int64 // requests that had to allocate
	active atomic.Bool

	// Poison fills released storage with NaN when a Step begins, so that a
	// tensor used after its step shows up as NaN instead of silently
	// reading another step's values. For tests.
	Poison bool
	// MinElems: tensors with fewer elements stay on the heap, where small
	// allocations cost less than the arena's bookkeeping (NewArena: 1024).
	// Smaller tensors are cut one after another from a slab that each Step
	// reuses from its start.
	MinElems int

	// Headers of the tensors a Step serves, handed out in order from chunks
	// that each Step reuses from the first (none while Poison is set, so
	// that a tensor used after its step still reads NaN).
	hdrs     [][]Tensor
	hc, hoff int

	slabs []slabReset // the Slabs' states in this arena, by key
}

// headerChunk is how many tensor headers one chunk of an arena holds.
const headerChunk = 256

// serve returns a result the arena serves: its header (from the arena's
// chunks) and its storage of n elements, zeroed when zero is set, taken
// under one lock.
func (a *Arena) serve(dt DType, shape []int, n int, zero bool) *Tensor {
	var b32 []float32
	var b64 []float64
	a.mu.Lock()
	t := a.nextHeader()
	var served int32
	if dt == Float32 {
		b32, served = a.p32.take(a, n)
	} else {
		b64, served = a.p64.take(a, n)
	}
	a.mu.Unlock()
	if t == nil {
		t = header(shape, dt, a)
	} else {
		t.setHeader(shape, dt, a)
	}
	t.f32, t.f64, t.served, t.scoped = b32, b64, served, true
	if zero {
		clear(b32)
		clear(b64)
	}
	return t
}

// nextHeader returns the next of the step's tensor headers, or nil under
// Poison (headers are then fresh, so that a tensor used after its step
// keeps reading NaN). a.mu is held.
func (a *Arena) nextHeader() *Tensor {
	if a.Poison {
		return nil
	}
	if a.hc == len(a.hdrs) {
		a.hdrs = append(a.hdrs, make([]Tensor, headerChunk))
	}
	t := &a.hdrs[a.hc][a.hoff]
	if a.hoff++; a.hoff == headerChunk {
		a.hc, a.hoff = a.hc+1, 0
	}
	return t
}

// view returns a tensor of the given shape on t's storage (not copied).
// When that storage is one this Step of t's arena served, the view's
// header is one of the step's too: it lives no longer than what it views,
// and a steady step makes no allocation for it.
func (t *Tensor) view(shape []int) *Tensor {
	var r *Tensor
	if a := t.arena; t.scoped && a.serving() {
		a.mu.Lock()
		r = a.nextHeader()
		a.mu.Unlock()
	}
	if r == nil {
		r = new(Tensor)
	}
	r.setHeader(shape, t.dtype, t.arena)
	r.f32, r.f64, r.scoped = t.f32, t.f64, t.scoped
	return r
}

// bufs is one element type's storage: free buffers by length, those
// handed out since the last Reset, and the slab that small tensors are cut
// from.
type bufs[T Float] struct {
	free map[int][][]T
	used [][]T

	slab []T   // small tensors are slab[0:off] in order of request
	off  int   // elements of slab handed out since the last Reset
	old  [][]T // slabs outgrown since the last Reset
	want int   // elements handed out from slabs since the last Reset
}

// NewArena returns an empty arena.
func NewArena() *Arena {
	return &Arena{p32: bufs[float32]{free: map[int][][]float32{}}, p64: bufs[float64]{free: map[int][][]float64{}}, MinElems: 1024}
}

// ArenaOf returns the arena of the first of ts that belongs to one, or nil:
// the arena an operation on ts takes its result's storage from.
func ArenaOf(ts ...*Tensor) *Arena {
	for _, t := range ts {
		if t != nil && t.arena != nil {
			return t.arena
		}
	}
	return nil
}

// Keep returns t itself when it belongs to no arena, and otherwise a heap
// copy of t that belongs to none and stays valid after the arena's next
// Step.
func Keep(t *Tensor) *Tensor {
	if t.arena == nil {
		return t
	}
	c := New(t.dtype, t.shape...)
	c.CopyFrom(t)
	return c
}

// Step runs one iteration f of a loop: it releases the storage handed out
// during the previous Step and serves the tensors of a created during f
// from it. Steps of one arena must not overlap.
func (a *Arena) Step(f func()) {
	a.Reset()
	a.active.Store(true)
	defer a.active.Store(false)
	f()
}

// Reset releases every buffer handed out since the previous Reset for reuse.
func (a *Arena) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.held -= release(&a.p32, a.Poison) * 4
	a.held -= release(&a.p64, a.Poison) * 8
	a.hc, a.hoff = 0, 0
	for _, st := range a.slabs {
		if st != nil {
			st.reset()
		}
	}
}

// release makes p's storage available again and returns the number of
// elements of the outgrown slabs it drops.
func release[T Float](p *bufs[T], poison bool) (dropped int64) {
	nan := T(math.NaN())
	for _, b := range p.used {
		if b == nil { // released during the step: already free
			continue
		}
		if poison {
			for i := range b {
				b[i] = nan
			}
		}
		p.free[len(b)] = append(p.free[len(b)], b)
	}
	clear(p.used)
	p.used = p.used[:0]
	if poison {
		for _, b := range append(p.old, p.slab[:p.off]) {
			for i := range b {
				b[i] = nan
			}
		}
	}
	for _, b := range p.old {
		dropped += int64(len(b))
	}
	clear(p.old)
	p.old = p.old[:0]
	p.off, p.want = 0, 0
	return dropped
}

// HeldBytes is the storage the arena owns, in bytes.
func (a *Arena) HeldBytes() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// Misses is the number of requests since NewArena that found no free
// buffer of their size and allocated one. In steady state it stops growing.
func (a *Arena) Misses() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.misses
}

// take returns a buffer of n elements with arbitrary contents: from the
// slab below a.MinElems, else a free buffer of that length, with 1 + its
// index among the buffers handed out this step (0 for a slab cut). a.mu is
// held.
func (p *bufs[T]) take(a *Arena, n int) ([]T, int32) {
	if n < a.MinElems {
		return p.cut(a, n), 0
	}
	return p.get(a, n), int32(len(p.used))
}

// cut returns the next n elements of the slab (capacity n, so that an
// append cannot reach a neighbour). A slab too small for a step is kept
// until the next Reset and replaced by one that holds what the step has
// asked for so far, twice over: in steady state one slab serves a whole
// step.
func (p *bufs[T]) cut(a *Arena, n int) []T {
	if p.off+n > len(p.slab) {
		if p.slab != nil {
			p.old = append(p.old, p.slab)
		}
		size := max(2*(p.want+n), 1<<14)
		p.slab, p.off = make([]T, size), 0
		var z T
		a.held += int64(unsafe.Sizeof(z)) * int64(size)
		a.misses++
	}
	b := p.slab[p.off : p.off+n : p.off+n]
	p.off += n
	p.want += n
	return b
}

func (p *bufs[T]) get(a *Arena, n int) []T {
	var b []T
	if l := p.free[n]; len(l) > 0 {
		b = l[len(l)-1]
		l[len(l)-1] = nil
		p.free[n] = l[:len(l)-1]
	} else {
		b = make([]T, n)
		var z T
		a.held += int64(unsafe.Sizeof(z)) * int64(n)
		a.misses++
	}
	p.used = append(p.used, b)
	return b
}

// A Mark is a point in an arena's Step (Arena.Mark): Served tells whether a
// tensor's storage was handed out after it.
type Mark struct {
	a        *Arena
	n32, n64 int32
}

// Mark returns the present point of a's Step (a may be nil).
func (a *Arena) Mark() Mark {
	if !a.serving() {
		return Mark{}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return Mark{a, int32(len(a.p32.used)), int32(len(a.p64.used))}
}

// Served reports whether t is a tensor whose storage m's arena handed out
// after m, in the same Step, with t's header (not a view such as a
// Reshape of it). Whoever holds the only reference to such a tensor may
// Release it.
func (m Mark) Served(t *Tensor) bool {
	if m.a == nil || t.arena != m.a || t.served == 0 {
		return false
	}
	if t.dtype == Float32 {
		return t.served > m.n32
	}
	return t.served > m.n64
}

// Release gives t's storage back to t's arena before the Step ends, so
// that the next request of its size is served from it while it is still
// in the cache. Neither t nor any tensor sharing its storage may be used
// afterwards. Tensors that the arena did not serve in the running Step
// (heap storage, views, small tensors cut from a slab) are left alone.
// With Poison set the storage is filled with NaN and stays unused until
// the next Step.
func Release(t *Tensor) {
	a := t.arena
	if t.served == 0 || !a.serving() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if t.dtype == Float32 {
		a.p32.release(t.f32, int(t.served)-1, a.Poison)
	} else {
		a.p64.release(t.f64, int(t.served)-1, a.Poison)
	}
	t.served = 0
}

// ReleaseSince gives back the storage of every tensor that m's arena has
// served since m, as Release does for one: none of them may be used
// afterwards, whoever made them (the arena must have had no other user
// since m). A loop inside a Step whose iterations leave nothing behind
// (the inner optimisation steps of a bi-level step) releases each
// iteration's tensors, so that the next iteration reuses storage that is
// still in the cache.
func ReleaseSince(m Mark) {
	a := m.a
	if !a.serving() {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.p32.releaseSince(int(m.n32), a.Poison)
	a.p64.releaseSince(int(m.n64), a.Poison)
}

// releaseSince frees the buffers handed out as used[i:]. a.mu is held.
func (p *bufs[T]) releaseSince(i int, poison bool) {
	if poison {
		nan := T(math.NaN())
		for _, b := range p.used[i:] {
			for j := range b {
				b[j] = nan
			}
		}
		return
	}
	for j, b := range p.used[i:] {
		if b != nil {
			p.free[len(b)] = append(p.free[len(b)], b)
		}
		p.used[i+j] = nil
	}
	p.used = p.used[:i]
}

// SameStorage reports whether a and b share their storage (one is a view of
// the other, as a Reshape is).
func SameStorage(a, b *Tensor) bool {
	switch {
	case a.dtype != b.dtype:
		return false
	case a.dtype == Float32:
		return len(a.f32) > 0 && len(b.f32) > 0 && &a.f32[0] == &b.f32[0]
	default:
		return len(a.f64) > 0 && len(b.f64) > 0 && &a.f64[0] == &b.f64[0]
	}
}

// release frees b, handed out as used[i], for the next request of its
// length. a.mu is held.
func (p *bufs[T]) release(b []T, i int, poison bool) {
	if i >= len(p.used) || len(p.used[i]) == 0 || &p.used[i][0] != &b[0] {
		panic("tensor.Release: the tensor's storage is not one this Step of its arena served")
	}
	if poison {
		nan := T(math.NaN())
		for j := range b {
			b[j] = nan
		}
		return
	}
	p.used[i] = nil
	p.free[len(b)] = append(p.free[len(b)], b)
}

// serving reports whether a request is served from a (a may be nil): a is
// in a Step.
func (a *Arena) serving() bool {
	return a != nil && a.active.Load()
}

// A Slab serves values of one type T that live as long as an arena's
// tensors: a value it hands out during a Step is handed out again by the
// next Step. A package whose values follow a step's tensors keeps them in
// one (autodiff keeps the graph's nodes there), so that a steady training
// step does not allocate them.
type Slab[T any] struct{ key int }

// NewSlab returns a Slab of values of type T, usable with every arena.
// Packages create their slabs once, as package variables.
func NewSlab[T any]() Slab[T] { return Slab[T]{int(slabKeys.Add(1)) - 1} }

var slabKeys atomic.Int32

// TensorList returns a zeroed list of n tensors that lives as long as a's
// tensors while a serves a Step (else a heap slice; a may be nil): the
// lists a step builds anew each time, a backward pass's gradients or a
// model's parameters.
func (a *Arena) TensorList(n int) []*Tensor { return tensorLists.Make(a, n) }

var tensorLists = NewSlices[*Tensor]()

// New returns Get(a), or a new zeroed *T on the heap when a does not serve
// the request.
func (s Slab[T]) New(a *Arena) *T {
	if v := s.Get(a); v != nil {
		return v
	}
	return new(T)
}

// Get returns a zeroed *T from a's share of the slab, or nil when a does
// not serve the request (a is nil, not in a Step, or poisoned: then the
// caller allocates on the heap).
func (s Slab[T]) Get(a *Arena) *T {
	if !a.serving() || a.Poison {
		return nil
	}
	v := &takeSlab[T](a, s.key, 1)[0]
	var zero T
	*v = zero
	return v
}

// A Slices serves slices of one element type that live as long as an
// arena's tensors, as a Slab serves values: lists a step builds anew each
// time (a backward pass's gradients, a model's parameters bound as values).
type Slices[T any] struct{ key int }

// NewSlices returns a Slices of element type T, usable with every arena.
// Packages create theirs once, as package variables.
func NewSlices[T any]() Slices[T] { return Slices[T]{int(slabKeys.Add(1)) - 1} }

// Make returns a zeroed []T of length and capacity n: from a's share
// while a serves a Step (so that it lives as long as the step's tensors,
// and the next Step hands it out again), else from the heap (a is nil, not
// in a Step, or poisoned, or n is more than a chunk holds).
func (s Slices[T]) Make(a *Arena, n int) []T {
	if !a.serving() || a.Poison || n > headerChunk {
		return make([]T, n)
	}
	v := takeSlab[T](a, s.key, n)
	clear(v)
	return v
}

// takeSlab cuts n (at most a chunk's) consecutive elements from a's share
// of the slab keyed key, under a's lock.
func takeSlab[T any](a *Arena, key, n int) []T {
	a.mu.Lock()
	for len(a.slabs) <= key {
		a.slabs = append(a.slabs, nil)
	}
	st, _ := a.slabs[key].(*slabState[T])
	if st == nil {
		st = new(slabState[T])
		a.slabs[key] = st
	}
	if st.off+n > headerChunk {
		st.c, st.off = st.c+1, 0
	}
	if st.c == len(st.chunks) {
		st.chunks = append(st.chunks, make([]T, headerChunk))
	}
	v := st.chunks[st.c][st.off : st.off+n : st.off+n]
	if st.off += n; st.off == headerChunk {
		st.c, st.off = st.c+1, 0
	}
	a.mu.Unlock()
	return v
}

type slabReset interface{ reset() }

// slabState is one arena's chunks of a Slab or Slices, handed out in order
// from the first since the last Reset.
type slabState[T any] struct {
	chunks [][]T
	c, off int
}

func (st *slabState[T]) reset() { st.c, st.off = 0, 0 }
