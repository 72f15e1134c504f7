// Package parallel splits loops over the machine's cores.
//
// bism's kernels are small enough that goroutine start-up matters, so work is
// only split when each chunk is at least a caller-chosen grain.
package parallel

import (
	"runtime"
	"sync"
)

// Workers is the number of goroutines a loop is split into at most. It
// defaults to GOMAXPROCS at start-up; tests and benchmarks may lower it.
var Workers = runtime.GOMAXPROCS(0)

// For calls body(lo, hi) over disjoint ranges covering [0, n). It runs
// serially when n < 2*grain or when only one worker is available; otherwise
// it splits [0, n) into at most Workers contiguous chunks of at least grain.
func For(n, grain int, body func(lo, hi int)) {
	if grain < 1 {
		grain = 1
	}
	w := Workers
	if maxw := n / grain; maxw < w {
		w = maxw
	}
	if w <= 1 {
		if n > 0 {
			body(0, n)
		}
		return
	}
	chunk := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := chunk; lo < n; lo += chunk {
		hi := lo + chunk
		if hi > n {
			hi = n
		}
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			body(lo, hi)
		}(lo, hi)
	}
	hi := chunk
	if hi > n {
		hi = n
	}
	body(0, hi)
	wg.Wait()
}
