package tensor

import (
	"math"
	"sync"
	"testing"
)

// TestArenaReusesStorage: during a Step, the results of operations on a
// tensor of the arena take their storage from it, and the next Step
// reuses that storage.
func TestArenaReusesStorage(t *testing.T) {
	a := NewArena()
	a.MinElems = 1
	src := Full(Float32, 2, 4, 5)
	src.SetArena(a)
	first := map[*float32]bool{}
	for step := 0; step < 3; step++ {
		a.Step(func() {
			x := Scale(src, 1)
			y := Add(x, x)
			z := ZerosLike(Full(Float64, 1, 7).InArena(a))
			zero := ZerosLike(src)
			for _, s := range []*Tensor{x, y, zero} {
				if step == 0 {
					first[&s.f32[0]] = true
				} else if !first[&s.f32[0]] {
					t.Fatalf("step %d: storage not reused", step)
				}
			}
			if y.At(3, 4) != 4 || z.At(6) != 0 || z.Arena() != a {
				t.Fatalf("step %d: wrong values %v %v", step, y.At(3, 4), z.At(6))
			}
			if zero.At(1, 1) != 0 {
				t.Fatal("ZerosLike from the arena is not zero")
			}
		})
	}
	if a.Misses() != 4 { // x, y, z and the zero tensor, allocated in the first step only
		t.Fatalf("%d misses, want 4", a.Misses())
	}
	if want := int64(3*4*20 + 8*7); a.HeldBytes() != want {
		t.Fatalf("held %d bytes, want %d", a.HeldBytes(), want)
	}
	// Outside a Step, and for tensors of no arena, storage is the heap's.
	if _ = Add(src, src); a.Misses() != 4 {
		t.Fatal("an operation outside a Step used the arena")
	}
	a.Step(func() {
		if _ = Add(Full(Float32, 1, 4, 5), Full(Float32, 1, 4, 5)); a.Misses() != 4 || len(a.p32.used) != 0 {
			t.Fatal("an operation on tensors of no arena used the arena")
		}
	})
}

func TestArenaKeepAndPoison(t *testing.T) {
	a := NewArena()
	a.MinElems, a.Poison = 1, true
	src := Full(Float32, 3, 2, 2).InArena(a)
	var kept, stale *Tensor
	a.Step(func() {
		stale = Scale(src, 1)
		kept = Keep(stale)
	})
	a.Step(func() {
		if !math.IsNaN(stale.At(0, 0)) {
			t.Fatal("released storage was not poisoned")
		}
		_ = Scale(src, 3) // takes the released buffer
	})
	if kept.At(1, 1) != 3 || kept.Arena() != nil {
		t.Fatalf("Keep's storage was recycled: %v", kept.At(1, 1))
	}
	if Keep(kept) != kept {
		t.Fatal("Keep copies a tensor of no arena")
	}
}

// TestArenaSmallTensorsShareASlab checks that tensors below MinElems are
// cut from one slab without overlapping, that a step which outgrows the
// slab gets a large enough one for the next identical step, and that large
// tensors get buffers of their own.
func TestArenaSmallTensorsShareASlab(t *testing.T) {
	a := NewArena()
	step := func(sizes []int) []*Tensor {
		var ts []*Tensor
		a.Step(func() {
			for i, n := range sizes {
				x := ZerosLike(New(Float32, n).InArena(a))
				x.Fill(float64(i + 1))
				ts = append(ts, x)
			}
		})
		for i, x := range ts {
			for _, v := range x.F32() {
				if v != float32(i+1) {
					t.Fatalf("tensor %d of %d elements was overwritten by another: %v", i, x.Size(), v)
				}
			}
		}
		return ts
	}
	small := []int{10, 20, 1, 1000}
	step(small)
	if a.Misses() != 1 {
		t.Fatalf("small tensors took %d slabs, want 1", a.Misses())
	}
	step(small)
	if a.Misses() != 1 {
		t.Fatal("an identical step allocated again")
	}
	step([]int{2048})
	if a.Misses() != 2 {
		t.Fatal("a 2048-element tensor did not get a buffer of its own")
	}
	many := make([]int, 100)
	for i := range many {
		many[i] = 1000
	}
	step(many)
	m := a.Misses()
	step(many)
	if a.Misses() != m {
		t.Fatalf("after a step that outgrew the slab, the same step allocated %d times more", a.Misses()-m)
	}
	if h := a.HeldBytes(); h > 4*100*1000*4+3*2048*4 {
		t.Fatalf("arena holds %d bytes for steps of 400 kB", h)
	}
}

// TestArenasAreIndependent runs two computations with arenas of their own
// on two goroutines at once: neither sees the other's storage, and each
// gets the values it would get alone.
func TestArenasAreIndependent(t *testing.T) {
	run := func(seed uint64) []float64 {
		a := NewArena()
		a.MinElems, a.Poison = 1, true
		rng := NewRNG(seed)
		rng.SetArena(a)
		acc := New(Float64, 64, 64)
		for step := 0; step < 50; step++ {
			a.Step(func() {
				x := rng.Normal(Float64, 0, 1, 64, 64)
				AddInPlace(acc, Sigmoid(MatMul(x, x, false, true)))
			})
		}
		return acc.Values()
	}
	want := [2][]float64{run(1), run(2)}
	var got [2][]float64
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = run(uint64(i + 1)) }()
	}
	wg.Wait()
	for i := range got {
		for j := range got[i] {
			if got[i][j] != want[i][j] {
				t.Fatalf("computation %d, element %d: %v concurrently, %v alone", i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestSlab: a Slab hands out zeroed values that the next Step of the same
// arena hands out again, per arena, and nothing (nil) outside a Step or
// under Poison.
func TestSlab(t *testing.T) {
	type rec struct {
		x int
		p *Tensor
	}
	s, other := NewSlab[rec](), NewSlab[int]()
	a, b := NewArena(), NewArena()
	if s.Get(a) != nil || s.Get(nil) != nil {
		t.Fatal("a value outside a Step")
	}
	var first []*rec
	for step := range 3 {
		a.Step(func() {
			for i := range 300 { // more than one chunk
				v := s.Get(a)
				if v.x != 0 || v.p != nil {
					t.Fatalf("step %d, value %d: not zeroed: %+v", step, i, *v)
				}
				v.x, v.p = i+1, Full(Float32, 1, 1)
				if step == 0 {
					first = append(first, v)
				} else if first[i] != v {
					t.Fatalf("step %d, value %d: not reused", step, i)
				}
				if i == 0 {
					*other.Get(a) = 7 // another slab, its own values
					b.Step(func() {
						if w := s.Get(b); w == v {
							t.Fatal("two arenas share a value")
						}
					})
				}
			}
		})
	}
	a.Poison = true
	a.Step(func() {
		if s.Get(a) != nil {
			t.Fatal("a slab value under Poison")
		}
	})
}

// TestSlices: a Slices hands out zeroed slices of the asked length and
// capacity, which the next Step of the same arena hands out again, none
// overlapping another in a Step (lengths that straddle a chunk start a new
// one); outside a Step, under Poison and for lengths over a chunk, slices
// come from the heap.
func TestSlices(t *testing.T) {
	s := NewSlices[int]()
	a := NewArena()
	lens := []int{3, 100, 1, 200, 256, 7, 300}
	var first [][]int
	for step := range 3 {
		a.Step(func() {
			var got [][]int
			for i, n := range lens {
				v := s.Make(a, n)
				if len(v) != n || cap(v) != n {
					t.Fatalf("step %d: len %d cap %d, want %d", step, len(v), cap(v), n)
				}
				for j := range v {
					if v[j] != 0 {
						t.Fatalf("step %d, slice %d: not zeroed", step, i)
					}
					v[j] = i + 1
				}
				got = append(got, v)
			}
			for i, v := range got { // no slice overwrote another
				for j := range v {
					if v[j] != i+1 {
						t.Fatalf("step %d: slice %d overlaps another", step, i)
					}
				}
			}
			if step == 0 {
				first = got
				return
			}
			for i := range got {
				if lens[i] <= 256 && &got[i][0] != &first[i][0] {
					t.Fatalf("step %d, slice %d: not reused", step, i)
				}
				if lens[i] > 256 && &got[i][0] == &first[i][0] {
					t.Fatalf("step %d, slice %d longer than a chunk reused", step, i)
				}
			}
		})
	}
	out := s.Make(a, 4)
	a.Poison = true
	a.Step(func() {
		if v := s.Make(a, 4); len(v) != 4 || &v[0] == &first[0][0] || &v[0] == &out[0] {
			t.Fatal("a slice from the arena outside a Step or under Poison")
		}
	})
}

// TestStackAndTileRows: Stack and TileRows copy as Concat of reshapes and
// of slices does, in both element types.
func TestStackAndTileRows(t *testing.T) {
	rng := NewRNG(3)
	for _, dt := range []DType{Float32, Float64} {
		m, v := rng.Normal(dt, 0, 1, 3, 4), rng.Normal(dt, 0, 1, 3, 4)
		sameBits(t, "Stack", Stack(m, v), Concat(0, m.Reshape(1, 3, 4), v.Reshape(1, 3, 4)))
		x := rng.Normal(dt, 0, 1, 3, 2)
		for _, n := range []int{0, 2, 3, 7} {
			var parts []*Tensor
			for got := 0; got < n; got += 3 {
				parts = append(parts, Slice(x, 0, 0, min(3, n-got)))
			}
			got := TileRows(x, n)
			if n == 0 {
				if !SameShape(got.Shape(), []int{0, 2}) {
					t.Fatalf("%v: TileRows(0) has shape %v", dt, got.Shape())
				}
				continue
			}
			sameBits(t, "TileRows", got, Concat(0, parts...))
		}
	}
}

// TestReleaseWithinAStep: a released tensor's storage serves the next
// request of its size in the same Step, views and tensors of no arena are
// left alone, ReleaseSince frees what was served after its mark, and a
// later Step hands every buffer out once: two live tensors never share
// storage.
func TestReleaseWithinAStep(t *testing.T) {
	a := NewArena()
	a.MinElems = 1
	src := Full(Float32, 2, 4, 5).InArena(a)
	for step := 0; step < 3; step++ {
		a.Step(func() {
			m := a.Mark()
			x := Scale(src, 1)
			view := x.Reshape(20)
			if !m.Served(x) || m.Served(view) || m.Served(src) || a.Mark().Served(x) {
				t.Fatal("Served is wrong")
			}
			if !SameStorage(x, view) || SameStorage(x, src) {
				t.Fatal("SameStorage is wrong")
			}
			Release(view) // a view: nothing happens
			Release(src)  // not served by the arena
			if y := Scale(src, 3); SameStorage(y, x) || SameStorage(y, src) {
				t.Fatal("storage handed out twice")
			}
			p := &x.f32[0]
			Release(x)
			Release(x) // a second release does nothing
			y := Scale(src, 5)
			if &y.f32[0] != p || y.At(3, 4) != 10 {
				t.Fatal("the released storage did not serve the next request")
			}
			if z := Scale(src, 7); &z.f32[0] == p {
				t.Fatal("the released storage was handed out twice")
			}
			m = a.Mark()
			u, w := Scale(src, 2), Scale(src, 4)
			pu, pw := &u.f32[0], &w.f32[0]
			ReleaseSince(m)
			r1, r2 := Scale(src, 1), Scale(src, 1)
			if got := map[*float32]bool{&r1.f32[0]: true, &r2.f32[0]: true}; !got[pu] || !got[pw] {
				t.Fatal("ReleaseSince did not free what was served after the mark")
			}
		})
	}
	// Five buffers of 20 float32 were live at once; the releases reused the
	// rest. A Step that holds every buffer at once shows that each went back
	// to the free lists exactly once.
	if want := int64(5 * 20 * 4); a.HeldBytes() != want {
		t.Fatalf("held %d bytes, want %d", a.HeldBytes(), want)
	}
	a.Step(func() {
		seen := map[*float32]bool{}
		for i := 0; i < 8; i++ {
			x := Scale(src, 1)
			if seen[&x.f32[0]] {
				t.Fatal("a buffer handed out twice in one Step")
			}
			seen[&x.f32[0]] = true
		}
	})
	// Under Poison a released tensor reads NaN and its storage is not reused.
	a.Poison = true
	a.Step(func() {
		x := Scale(src, 1)
		p := &x.f32[0]
		Release(x)
		if !math.IsNaN(float64(*p)) {
			t.Fatal("released storage not poisoned")
		}
		if y := Scale(src, 1); &y.f32[0] == p {
			t.Fatal("poisoned storage reused")
		}
	})
}

// TestViewHeaders: a reshape of storage the current Step served takes its
// header from the step's (no allocation in a steady step), while a reshape
// of storage that outlives the step keeps a header of its own, intact after
// later steps have reused the step's headers.
func TestViewHeaders(t *testing.T) {
	a := NewArena()
	a.MinElems = 1
	kept := Full(Float32, 3, 4, 6) // storage of its own, of the arena
	kept.SetArena(a)
	var view *Tensor
	a.Step(func() { view = kept.Reshape(24) })
	for range 3 {
		a.Step(func() {
			for range 2 * headerChunk { // every header of the step's first chunks, and more
				x := Scale(kept, 2)
				if y := x.Reshape(6, 4); !SameShape(y.Shape(), []int{6, 4}) || y.At(5, 3) != 6 {
					t.Fatalf("step view: shape %v, value %v", y.Shape(), y.At(5, 3))
				}
			}
		})
	}
	if !SameShape(view.Shape(), []int{24}) || &view.F32()[0] != &kept.F32()[0] || view.Arena() != a {
		t.Fatalf("view of lasting storage: shape %v, arena %p (want [24], %p), shares storage %v", view.Shape(), view.Arena(), a, &view.F32()[0] == &kept.F32()[0])
	}
	var x *Tensor
	a.Step(func() { x = Scale(kept, 2) }) // the steady step's storage and header
	allocs := testing.AllocsPerRun(20, func() {
		a.Step(func() {
			x = Scale(kept, 2)
			_ = x.Reshape(24)
		})
	})
	if allocs != 0 {
		t.Errorf("a step with a reshape made %v allocations, want 0", allocs)
	}
}
