package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
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
// fall back to goroutines, so every call completes with the right result.
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
