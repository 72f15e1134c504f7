package freelist

import (
	"runtime"
	"sync"
	"testing"
)

// TestList: Get returns what Put gave back, across garbage collections,
// up to Size objects, and new ones after; concurrent use hands no object
// to two goroutines at once.
func TestList(t *testing.T) {
	var l List[[4]int]
	if p := l.Get(); *p != [4]int{} {
		t.Fatalf("a new object is not zero: %v", *p)
	}
	var ps []*[4]int
	for i := range Size + 1 {
		p := new([4]int)
		p[0] = i + 1
		ps = append(ps, p)
		l.Put(p)
	}
	runtime.GC()
	runtime.GC()
	seen := map[*[4]int]bool{}
	for range Size {
		p := l.Get()
		if p[0] == 0 || seen[p] {
			t.Fatalf("Get returned %v, not one of the objects given back once", *p)
		}
		seen[p] = true
	}
	if p := l.Get(); p[0] != 0 {
		t.Fatalf("Get after Size objects returned %v, want a new one", *p)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	held := map[*[4]int]bool{}
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				p := l.Get()
				mu.Lock()
				if held[p] {
					t.Errorf("goroutine %d: an object held twice", g)
				}
				held[p] = true
				mu.Unlock()
				mu.Lock()
				delete(held, p)
				mu.Unlock()
				l.Put(p)
			}
		}()
	}
	wg.Wait()
}

// TestGetPutAllocatesNothing: a Get after a Put allocates nothing.
func TestGetPutAllocatesNothing(t *testing.T) {
	var l List[[16]float64]
	l.Put(l.Get())
	if n := testing.AllocsPerRun(100, func() { l.Put(l.Get()) }); n != 0 {
		t.Fatalf("%v allocations per Get and Put", n)
	}
}

// TestPick: Pick finds the list of its type among others, and panics
// naming the type when none holds it.
func TestPick(t *testing.T) {
	var a List[[2]int]
	var b List[[3]int]
	if Pick[[3]int](&a, &b) != &b || Pick[[2]int](&a, &b) != &a {
		t.Fatal("Pick chose the wrong list")
	}
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("no panic for a type no list holds")
		}
	}()
	Pick[int](&a, &b)
}
