// Package parallel splits loops over the machine's cores.
//
// bism's kernels are small enough that starting goroutines matters, so work
// is only split when each chunk is at least a caller-chosen grain, and the
// chunks go to a pool of workers that wait for work by polling for a
// millisecond before they sleep: a loop that follows another closely (the
// usual case in a training step) finds them awake, and a chunk that no
// worker has started when the caller finishes its own, the caller runs.
package parallel

import (
	"runtime"
	"sync/atomic"
	"time"
)

// Workers is the number of goroutines a loop is split into at most. It
// defaults to GOMAXPROCS at start-up; tests and benchmarks may lower it.
var Workers = runtime.GOMAXPROCS(0)

// serial, when set, makes every loop run whole on its caller (SetSerial).
var serial atomic.Bool

// SetSerial makes every loop run on its caller alone (on) or split as
// Workers allows (off, the default). It is process-wide and may change at
// any time: a loop's results do not depend on how it is split, only its
// speed does (a training run uses it to keep the faster of one core and
// all, train.Run).
func SetSerial(on bool) { serial.Store(on) }

// Serial reports whether SetSerial(true) is in effect.
func Serial() bool { return serial.Load() }

// For calls body(lo, hi) over disjoint ranges covering [0, n). It runs
// serially when n < 2*grain, when only one worker is available, or when
// another loop holds the workers (a loop inside a split loop's body);
// otherwise it splits [0, n) into at most Workers contiguous chunks of at
// least grain. The caller runs the first chunk.
func For(n, grain int, body func(lo, hi int)) { ForJob(n, grain, funcJob(body)) }

// A Job is a split loop's work: Run(lo, hi) computes its units [lo, hi).
// A job that is a pointer to a record of the loop's operands makes a split
// loop that allocates nothing, where a closure handed to the workers would
// be allocated anew by every call.
type Job interface{ Run(lo, hi int) }

// funcJob is a function used as a Job (For).
type funcJob func(lo, hi int)

func (f funcJob) Run(lo, hi int) { f(lo, hi) }

// ForJob is For for a Job: it calls j.Run(lo, hi) over disjoint ranges
// covering [0, n), split as For splits.
func ForJob(n, grain int, j Job) {
	grain = max(grain, 1)
	// A loop inside a split loop, or a loop while another computation
	// holds the workers, finds busy set: the cores are busy already, so its
	// caller runs it alone rather than adding goroutines for them to share.
	if !Splits(n, grain) || !pool.busy.CompareAndSwap(false, true) {
		if n > 0 {
			j.Run(0, n)
		}
		return
	}
	defer pool.busy.Store(false)
	w := min(Workers, n/grain)
	chunk := (n + w - 1) / w
	ws := pool.get(w - 1)
	k := 0
	for lo := chunk; lo < n; lo += chunk {
		ws[k].give(task{j, lo, min(lo+chunk, n)})
		k++
	}
	j.Run(0, min(chunk, n))
	for _, x := range ws[:k] {
		x.wait()
	}
}

// Splits reports whether For(n, grain, ...) called now would split the
// loop: more than one worker, two chunks of at least grain, no split loop
// holding the workers, and not serial (SetSerial). Kernels check it to
// skip setting up a split (the Job of its operands) they would not get.
func Splits(n, grain int) bool {
	return Workers > 1 && n >= 2*max(grain, 1) && !pool.busy.Load() && !serial.Load()
}

// spin is how long a waiting worker polls for work before it sleeps: long
// enough to span the serial operations between two split ones in a
// training step, so that a split operation rarely pays for a wake-up. While
// it polls, a worker yields its processor now and then to any goroutine
// that is ready to run.
const spin = time.Millisecond

// pollsPerCheck is how many polls a waiting worker makes between looks at
// the clock and yields: some microseconds, each poll taking one pause.
const pollsPerCheck = 1 << 8

type task struct {
	job    Job
	lo, hi int
}

// A worker runs one task at a time, handed over through state. The caller
// that gave it may take a task back that the worker has not started (a
// worker asleep or descheduled), so that a loop never waits for a worker
// to wake up longer than the work takes.
type worker struct {
	state    atomic.Int32
	t        task
	sleeping atomic.Bool
	wake     chan struct{} // buffered: a wake-up is never lost
}

const (
	idle     int32 = iota
	given          // a task is waiting in t
	running        // the worker took it
	finished       // the worker ran it
)

var pool workerPool

type workerPool struct {
	busy    atomic.Bool // held by the For that uses the workers
	workers []*worker
}

// get returns n workers, starting those that do not exist yet. Only the
// holder of busy calls it.
func (p *workerPool) get(n int) []*worker {
	for len(p.workers) < n {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go w.loop()
	}
	return p.workers[:n]
}

func (w *worker) give(t task) {
	w.t = t
	w.state.Store(given)
	if w.sleeping.Load() {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

// take runs the task given to w, unless w started it first.
func (w *worker) take() bool {
	if !w.state.CompareAndSwap(given, idle) {
		return false
	}
	t := w.t
	w.t = task{}
	t.job.Run(t.lo, t.hi)
	return true
}

// wait waits for the worker's task to finish, running it itself if the
// worker has not started it.
func (w *worker) wait() {
	if w.take() {
		return
	}
	for i := 1; w.state.Load() != finished; i++ {
		pause()
		if i%pollsPerCheck == 0 {
			runtime.Gosched()
		}
	}
	w.state.Store(idle)
}

func (w *worker) loop() {
	for {
		w.await()
		if !w.state.CompareAndSwap(given, running) {
			continue // the caller took the task back
		}
		t := w.t
		w.t = task{}
		t.job.Run(t.lo, t.hi)
		w.state.Store(finished)
	}
}

// await returns when a task is given, after polling for spin and then
// sleeping until give wakes it.
func (w *worker) await() {
	start := time.Now()
	for i := 1; w.state.Load() != given; i++ {
		pause()
		if i%pollsPerCheck != 0 {
			continue
		}
		if time.Since(start) < spin {
			runtime.Gosched()
			continue
		}
		// Sleep; give sees sleeping or we see given (atomics are
		// sequentially consistent), so the hand-over is not missed.
		w.sleeping.Store(true)
		if w.state.Load() != given {
			<-w.wake
		}
		w.sleeping.Store(false)
		start = time.Now()
	}
}
