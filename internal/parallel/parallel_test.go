package parallel

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cover runs For over n with the given grain and checks that every index
// is visited exactly once, in chunks that respect the grain.
func cover(t *testing.T, n, grain int) {
	t.Helper()
	seen := make([]int32, n)
	For(n, grain, func(lo, hi int) {
		if hi-lo < grain && !(lo == 0 && hi == n) && hi != n {
			t.Errorf("n=%d grain=%d: chunk [%d,%d) below the grain", n, grain, lo, hi)
		}
		for i := lo; i < hi; i++ {
			atomic.AddInt32(&seen[i], 1)
		}
	})
	for i, c := range seen {
		if c != 1 {
			t.Fatalf("n=%d grain=%d: index %d visited %d times", n, grain, i, c)
		}
	}
}

func TestForCoversEachIndexOnce(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	for _, w := range []int{1, 2, 3, 8} {
		Workers = w
		for _, n := range []int{0, 1, 2, 7, 100, 1001} {
			for _, g := range []int{0, 1, 3, 50} {
				cover(t, n, g)
			}
		}
	}
}

// TestForNestedAndConcurrent runs loops inside loops and loops from several
// goroutines at once: the pool serves one caller at a time and the others
// run their loops alone, so every call completes with the right result.
func TestForNestedAndConcurrent(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	Workers = 3
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rep := 0; rep < 50; rep++ {
				var total atomic.Int64
				For(6, 1, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						For(100, 10, func(a, b int) { total.Add(int64(b - a)) })
					}
				})
				if total.Load() != 600 {
					t.Errorf("nested loops covered %d of 600", total.Load())
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestForNestedRunsAlone: a loop inside a split loop's body runs whole on
// the goroutine that calls it (the cores are busy with the outer loop).
func TestForNestedRunsAlone(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	Workers = 3
	var calls [6]atomic.Int64
	var whole [6]atomic.Bool
	For(6, 1, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			For(100, 10, func(a, b int) {
				calls[i].Add(1)
				whole[i].Store(a == 0 && b == 100)
			})
		}
	})
	for i := range calls {
		if calls[i].Load() != 1 || !whole[i].Load() {
			t.Errorf("outer index %d: the inner loop made %d calls (whole range: %v), want one over [0, 100)", i, calls[i].Load(), whole[i].Load())
		}
	}
}

// ranBy runs For over two chunks, with the caller's chunk lasting d, and
// reports whether the second chunk ran in a worker or was taken back by the
// caller (from the call stack).
func ranBy(d time.Duration) (worker, caller bool) {
	var stack string
	For(2, 1, func(lo, hi int) {
		if lo == 0 {
			time.Sleep(d)
			return
		}
		buf := make([]byte, 4096)
		stack = string(buf[:runtime.Stack(buf, false)])
	})
	return strings.Contains(stack, "(*worker).loop"), strings.Contains(stack, "(*worker).take")
}

// TestForTakesBackUnstartedWork: a chunk given to a sleeping worker that
// has not started it when the caller is done with its own is run by the
// caller, not waited for; a worker that is awake runs its chunk.
func TestForTakesBackUnstartedWork(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	Workers = 2
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two processors")
	}
	took := false
	for try := 0; try < 50 && !took; try++ {
		time.Sleep(3 * spin) // the worker is asleep
		_, took = ranBy(0)
	}
	if !took {
		t.Error("the caller never took back a chunk that a sleeping worker had not started")
	}
	ran := false
	for try := 0; try < 50 && !ran; try++ {
		ran, _ = ranBy(5 * time.Millisecond)
	}
	if !ran {
		t.Error("a worker never ran a chunk while the caller was busy")
	}
}

// BenchmarkHandOver times For over two chunks of a fixed amount of work
// (k steps of an integer loop, about 0.4 ns each) on one and two workers,
// so that its cost beyond half the serial time is the hand-over's; and
// "roundtrip", two goroutines bouncing a counter through two cache lines,
// the least any hand-over between two cores can cost on the machine:
//
//	go test ./internal/parallel -run XXX -bench HandOver -benchtime 200000x
func BenchmarkHandOver(b *testing.B) {
	defer func(w int) { Workers = w }(Workers)
	var sink [2][16]int // one cache line per chunk (and more)
	for _, k := range []int{1000, 4000} {
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("k=%d/workers=%d", k, w), func(b *testing.B) {
				Workers = w
				for range b.N {
					For(2, 1, func(lo, hi int) {
						for j := lo; j < hi; j++ {
							sink[j][0] += spin2(k)
						}
					})
				}
			})
		}
	}
	b.Run("roundtrip", func(b *testing.B) {
		if runtime.GOMAXPROCS(0) < 2 {
			b.Skip("needs two processors")
		}
		var flags [2]struct {
			n atomic.Int64
			_ [56]byte // one cache line each
		}
		n := int64(b.N)
		done := make(chan struct{})
		go func() {
			for i := int64(1); i <= n; i++ {
				for flags[0].n.Load() != i {
				}
				flags[1].n.Store(i)
			}
			close(done)
		}()
		b.ResetTimer()
		for i := int64(1); i <= n; i++ {
			flags[0].n.Store(i)
			for flags[1].n.Load() != i {
			}
		}
		<-done
	})
}

// spin2 is k steps of integer work that the compiler cannot remove.
func spin2(k int) int {
	s := 0
	for i := range k {
		s += i * i >> 3
	}
	return s
}

// TestForJob: ForJob covers [0, n) once with its job, split or not, and a
// split loop whose job is a pointer allocates nothing.
func TestForJob(t *testing.T) {
	defer func(w int) { Workers = w }(Workers)
	for _, w := range []int{1, 2, 3} {
		Workers = w
		xs := make(addOne, 1000)
		ForJob(len(xs), 100, &xs)
		for i, x := range xs {
			if x != 1 {
				t.Fatalf("workers %d: element %d visited %d times", w, i, x)
			}
		}
		if n := testing.AllocsPerRun(100, func() { ForJob(len(xs), 100, &xs) }); n != 0 {
			t.Errorf("workers %d: %v allocations per loop, want 0", w, n)
		}
	}
}

// addOne is a Job that adds one to each element of its units.
type addOne []int

func (xs *addOne) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		(*xs)[i]++
	}
}

// TestSetSerial: under SetSerial(true) a loop runs whole on its caller and
// Splits says so; SetSerial(false) splits again.
func TestSetSerial(t *testing.T) {
	defer func(w int) { Workers = w; SetSerial(false) }(Workers)
	Workers = 2
	calls := 0
	count := func(lo, hi int) { calls++ }
	SetSerial(true)
	if !Serial() || Splits(1000, 10) {
		t.Fatal("Splits under SetSerial(true)")
	}
	For(1000, 10, count)
	if calls != 1 {
		t.Fatalf("%d calls under SetSerial(true), want 1", calls)
	}
	SetSerial(false)
	if Serial() || !Splits(1000, 10) {
		t.Fatal("no split after SetSerial(false)")
	}
	var n atomic.Int32
	For(1000, 10, func(lo, hi int) { n.Add(1) })
	if n.Load() != 2 {
		t.Fatalf("%d chunks, want 2", n.Load())
	}
}
