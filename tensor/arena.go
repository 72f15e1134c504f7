package tensor

import (
	"math"
	"sync"
	"sync/atomic"
	"unsafe"
)

// An Arena recycles tensor storage across the iterations of a loop whose
// allocations repeat, such as a training step: the same operations on the
// same shapes, every iteration. While an arena is in use (UseArena), every
// tensor this package creates takes its storage from the arena; Reset makes
// all storage handed out since the previous Reset available again. After
// the first iteration a step therefore allocates no new storage: each
// request is served from a buffer of exactly that size freed by the previous
// Reset. (Tensor headers and shape slices, tens of bytes, are still
// allocated; the storage is what costs: page faults, zeroing and garbage
// collection of megabytes per step.)
//
// The contract is the caller's: no tensor created while the arena is in use
// may be read or written after the next Reset. Values that must outlive a
// step (optimizer moments, persistent Markov chains) are created inside
// Persist, or copied out with Keep; parameters are updated in place.
// Arenas are safe for concurrent use, but the active arena is global to the
// process: while one is in use, tensors created on any goroutine come from it.
type Arena struct {
	mu     sync.Mutex
	p32    bufs[float32]
	p64    bufs[float64]
	held   int64 // bytes owned, handed out or free
	misses int64 // requests that had to allocate

	// Poison fills released storage with NaN on Reset, so that a tensor
	// used after its step shows up as NaN instead of silently reading
	// another step's values. For tests.
	Poison bool
	// MinElems: tensors with fewer elements stay on the heap, where small
	// allocations cost less than the arena's bookkeeping (NewArena: 1024).
	MinElems int
}

// bufs is one element type's storage: free buffers by length, and those
// handed out since the last Reset.
type bufs[T Float] struct {
	free map[int][][]T
	used [][]T
}

// NewArena returns an empty arena.
func NewArena() *Arena {
	return &Arena{p32: bufs[float32]{free: map[int][][]float32{}}, p64: bufs[float64]{free: map[int][][]float64{}}, MinElems: 1024}
}

var activeArena atomic.Pointer[Arena]

// persistDepth counts nested Persist calls; while positive, New ignores the
// active arena.
var persistDepth atomic.Int32

// UseArena makes a the source of storage for new tensors (nil: the heap)
// and returns the previously active arena, so that callers can restore it.
func UseArena(a *Arena) (prev *Arena) { return activeArena.Swap(a) }

// ActiveArena returns the arena in use, or nil.
func ActiveArena() *Arena { return activeArena.Load() }

// Persist runs f with new tensors allocated on the heap even while an arena
// is in use: for state created during a step that outlives it.
func Persist(f func()) {
	persistDepth.Add(1)
	defer persistDepth.Add(-1)
	f()
}

// Keep returns t itself when no arena is in use, and otherwise a heap copy
// of t that stays valid after the arena's next Reset.
func Keep(t *Tensor) *Tensor {
	if activeArena.Load() == nil {
		return t
	}
	var c *Tensor
	Persist(func() { c = t.Clone() })
	return c
}

// Step runs one iteration f of a loop under the arena: it releases the
// previous iteration's storage, makes the arena active for f and restores
// the previously active arena afterwards (also if f panics).
func (a *Arena) Step(f func()) {
	a.Reset()
	prev := UseArena(a)
	defer UseArena(prev)
	f()
}

// Reset releases every buffer handed out since the previous Reset for reuse.
func (a *Arena) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	release(&a.p32, a.Poison)
	release(&a.p64, a.Poison)
}

func release[T Float](p *bufs[T], poison bool) {
	nan := T(math.NaN())
	for _, b := range p.used {
		if poison {
			for i := range b {
				b[i] = nan
			}
		}
		p.free[len(b)] = append(p.free[len(b)], b)
	}
	clear(p.used)
	p.used = p.used[:0]
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

// get32 returns a buffer of n float32s; zeroed when zero is set, otherwise
// with arbitrary contents (the caller overwrites every element).
func (a *Arena) get32(n int, zero bool) []float32 { return get(a, &a.p32, n, zero) }

func (a *Arena) get64(n int, zero bool) []float64 { return get(a, &a.p64, n, zero) }

func get[T Float](a *Arena, p *bufs[T], n int, zero bool) []T {
	a.mu.Lock()
	defer a.mu.Unlock()
	var b []T
	if l := p.free[n]; len(l) > 0 {
		b = l[len(l)-1]
		l[len(l)-1] = nil
		p.free[n] = l[:len(l)-1]
		if zero {
			clear(b)
		}
	} else {
		b = make([]T, n)
		var z T
		a.held += int64(unsafe.Sizeof(z)) * int64(n)
		a.misses++
	}
	p.used = append(p.used, b)
	return b
}

// arenaForAlloc returns the arena new storage should come from, or nil.
// Tiny tensors (scalars, biases) stay on the heap, where they are cheap.
func arenaForAlloc(n int) *Arena {
	a := activeArena.Load()
	if a == nil || n < a.MinElems || persistDepth.Load() > 0 {
		return nil
	}
	return a
}
