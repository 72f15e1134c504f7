//go:build linux

package blas

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestSgemmPerCall prints sgemm GFLOP/s per call rather than per benchmark
// loop, which is what survives on a machine shared with other jobs: a
// benchmark's mean includes every time slice lost to them, the fastest
// calls do not. Single-threaded calls are timed in thread CPU time, two-
// threaded ones in wall time. Skipped unless BLAS_PERCALL=1:
//
//	BLAS_PERCALL=1 go test ./internal/blas -run PerCall -v
//	BLAS_PERCALL=1 OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX \
//	    go test ./internal/blas -tags openblas -run PerCall -v
//
// For OpenBLAS the single-thread row needs OPENBLAS_NUM_THREADS=1 (its own
// threads are not counted in this thread's CPU time).
func TestSgemmPerCall(t *testing.T) {
	if os.Getenv("BLAS_PERCALL") == "" {
		t.Skip("set BLAS_PERCALL=1 to run")
	}
	type shape struct {
		name           string
		m, n, k        int
		transA, transB bool
	}
	shapes := []shape{
		{"128x560x400/AB", 128, 400, 560, false, false},
		{"128x560x400/AtB", 128, 400, 560, true, false},
		{"128x560x400/ABt", 128, 400, 560, false, true},
		{"1024/AB", 1024, 1024, 1024, false, false},
	}
	saved := parallel.Workers
	defer func() { parallel.Workers = saved }()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, s := range shapes {
		a, b, c := make([]float32, s.m*s.k), make([]float32, s.k*s.n), make([]float32, s.m*s.n)
		for i := range a {
			a[i] = float32(i%7) - 3
		}
		for i := range b {
			b[i] = float32(i%5) - 2
		}
		lda, ldb := s.k, s.n
		if s.transA {
			lda = s.m
		}
		if s.transB {
			ldb = s.k
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		for _, impl := range benchImpls() {
			for _, w := range []int{1, saved} {
				parallel.Workers = w
				clock := wallNanos
				if w == 1 {
					clock = threadNanos
				}
				var ns []float64
				for end := time.Now().Add(time.Second); time.Now().Before(end) || len(ns) < 3; {
					t0 := clock()
					impl.fn(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c, s.n)
					ns = append(ns, float64(clock()-t0))
				}
				slices.Sort(ns)
				fmt.Printf("%-16s %-14s threads=%d  best %6.1f  median %6.1f GFLOP/s  (%d calls)\n",
					s.name, impl.name, w, flops/ns[0], flops/ns[len(ns)/2], len(ns))
			}
		}
	}
}

func wallNanos() int64 { return time.Now().UnixNano() }

func threadNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}
