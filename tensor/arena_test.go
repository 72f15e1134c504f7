package tensor

import (
	"math"
	"testing"
)

func TestArenaReusesStorage(t *testing.T) {
	a := NewArena()
	a.MinElems = 1
	prev := UseArena(a)
	defer UseArena(prev)
	first := map[*float32]bool{}
	for step := 0; step < 3; step++ {
		a.Reset()
		x := Full(Float32, 2, 4, 5)
		y := Add(x, x)
		z := Full(Float64, 1, 7)
		zero := New(Float32, 4, 5)
		for _, s := range []*Tensor{x, y, zero} {
			if step == 0 {
				first[&s.f32[0]] = true
			} else if !first[&s.f32[0]] {
				t.Fatalf("step %d: storage not reused", step)
			}
		}
		if y.At(3, 4) != 4 || z.At(6) != 1 {
			t.Fatalf("step %d: wrong values %v %v", step, y.At(3, 4), z.At(6))
		}
		if zero.At(1, 1) != 0 {
			t.Fatal("New from the arena is not zero")
		}
	}
	if a.Misses() != 4 { // x, y, z and the zero tensor, allocated in the first step only
		t.Fatalf("%d misses, want 4", a.Misses())
	}
	if want := int64(3*4*20 + 8*7); a.HeldBytes() != want {
		t.Fatalf("held %d bytes, want %d", a.HeldBytes(), want)
	}
}

func TestArenaPersistKeepAndPoison(t *testing.T) {
	a := NewArena()
	a.MinElems, a.Poison = 1, true
	prev := UseArena(a)
	defer UseArena(prev)
	var kept, persisted, stale *Tensor
	stale = Full(Float32, 3, 2, 2)
	kept = Keep(stale)
	Persist(func() { persisted = Full(Float32, 5, 2, 2) })
	a.Reset()
	if !math.IsNaN(stale.At(0, 0)) {
		t.Fatal("released storage was not poisoned")
	}
	_ = Full(Float32, 9, 2, 2) // takes the released buffer
	if kept.At(1, 1) != 3 || persisted.At(1, 1) != 5 {
		t.Fatalf("Keep/Persist storage was recycled: %v %v", kept.At(1, 1), persisted.At(1, 1))
	}
	UseArena(nil)
	if Keep(kept) != kept {
		t.Fatal("Keep copies without an arena")
	}
}

func TestArenaSmallTensorsStayOnHeap(t *testing.T) {
	a := NewArena()
	prev := UseArena(a)
	defer UseArena(prev)
	_ = New(Float32, 10)
	if a.Misses() != 0 {
		t.Fatal("a 10-element tensor came from the arena")
	}
	_ = New(Float32, 2048)
	if a.Misses() != 1 {
		t.Fatal("a 2048-element tensor did not come from the arena")
	}
}
