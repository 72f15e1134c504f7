// Package freelist keeps a few objects of one type for reuse: the scratch
// of a training step's backward passes and split loops, which a steady
// step takes and gives back every time. A sync.Pool drops its objects at
// every garbage collection, so that the next step would allocate them
// again; a List holds on to them.
package freelist

import (
	"fmt"
	"sync/atomic"
)

// A List holds up to Size objects of type T for reuse. Its zero value is
// empty and ready; it is safe for concurrent use.
type List[T any] struct {
	slots [Size]atomic.Pointer[T]
}

// Size is how many objects a List holds: more than the goroutines that
// take objects of one kind at once in a training step (the callers of
// split loops and the workers under them).
const Size = 8

// Get returns an object that Put gave back, or a new zero one.
func (l *List[T]) Get() *T {
	for i := range l.slots {
		if p := l.slots[i].Swap(nil); p != nil {
			return p
		}
	}
	return new(T)
}

// Put gives p back for a later Get (dropping it when the list is full).
// The caller must not use p afterwards.
func (l *List[T]) Put(p *T) {
	for i := range l.slots {
		if l.slots[i].CompareAndSwap(nil, p) {
			return
		}
	}
}

// Pick returns the one of lists whose objects are of type T: lists hold a
// List per instantiation of a generic type (float32's and float64's, say),
// and generic code picks its own.
func Pick[T any](lists ...any) *List[T] {
	for _, l := range lists {
		if p, ok := l.(*List[T]); ok {
			return p
		}
	}
	panic(fmt.Sprintf("freelist.Pick: no list of %T among %d", *new(T), len(lists)))
}
