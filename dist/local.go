package dist

import (
	"fmt"
	"sync"
)

// Local returns the communicators of p ranks that are goroutines of this
// process: rank r uses the r-th. Sums are taken in rank order, like a
// reduction to rank 0 followed by a broadcast. It is how the package's users
// test data-parallel code without MPI; Abort makes every rank's next (or
// pending) sum panic.
func Local(p int) []Comm {
	if p < 1 {
		panic(fmt.Sprintf("dist.Local: %d ranks", p))
	}
	h := &hub{size: p, bufs32: make([][]float32, p), bufs64: make([][]float64, p)}
	h.cond = sync.NewCond(&h.mu)
	cs := make([]Comm, p)
	for r := range cs {
		cs[r] = &localComm{hub: h, rank: r}
	}
	return cs
}

type hub struct {
	mu      sync.Mutex
	cond    *sync.Cond
	size    int
	arrived int
	gen     uint64
	aborted int // exit code + 1 once a rank aborted
	bufs32  [][]float32
	bufs64  [][]float64
}

type localComm struct {
	hub  *hub
	rank int
}

func (c *localComm) Rank() int { return c.rank }
func (c *localComm) Size() int { return c.hub.size }
func (c *localComm) Close()    {}

func (c *localComm) Abort(code int) {
	h := c.hub
	h.mu.Lock()
	h.aborted = code + 1
	h.cond.Broadcast()
	h.mu.Unlock()
}

func (c *localComm) SumFloat32(buf []float32) { c.sum(buf, nil) }
func (c *localComm) SumFloat64(buf []float64) { c.sum(nil, buf) }

// sum waits for every rank's buffer; the last to arrive adds them in rank
// order into rank 0's buffer, and every rank copies the result out before
// the next sum can begin.
func (c *localComm) sum(b32 []float32, b64 []float64) {
	h := c.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	c.checkAbort()
	h.bufs32[c.rank], h.bufs64[c.rank] = b32, b64
	gen := h.gen
	h.arrived++
	if h.arrived == h.size {
		for r := 1; r < h.size; r++ {
			if len(h.bufs32[r]) != len(h.bufs32[0]) || len(h.bufs64[r]) != len(h.bufs64[0]) {
				h.aborted = 1
				h.cond.Broadcast()
				panic(fmt.Sprintf("dist: ranks 0 and %d sum buffers of different lengths (%d+%d against %d+%d)",
					r, len(h.bufs32[0]), len(h.bufs64[0]), len(h.bufs32[r]), len(h.bufs64[r])))
			}
			for i, v := range h.bufs32[r] {
				h.bufs32[0][i] += v
			}
			for i, v := range h.bufs64[r] {
				h.bufs64[0][i] += v
			}
		}
		for r := 1; r < h.size; r++ {
			copy(h.bufs32[r], h.bufs32[0])
			copy(h.bufs64[r], h.bufs64[0])
		}
		h.arrived = 0
		h.gen++
		h.cond.Broadcast()
		return
	}
	for h.gen == gen {
		h.cond.Wait()
		c.checkAbort()
	}
}

func (c *localComm) checkAbort() {
	if c.hub.aborted != 0 {
		panic(fmt.Sprintf("dist: rank %d stopped: another rank aborted (exit code %d)", c.rank, c.hub.aborted-1))
	}
}

// RunLocal runs f on p goroutine ranks (Local) and waits for all of them.
// A rank whose f fails or panics aborts the group, so that the others do
// not wait for it in a sum (their pending sums panic, and the panics are
// returned as their errors). It returns each rank's error.
func RunLocal(p int, f func(c Comm) error) []error {
	comms := Local(p)
	errs := make([]error, p)
	var wg sync.WaitGroup
	for r := range comms {
		wg.Add(1)
		go func(r int) {
			defer wg.Done()
			defer func() {
				if v := recover(); v != nil {
					errs[r] = fmt.Errorf("rank %d: panic: %v", r, v)
					comms[r].Abort(1)
				}
			}()
			if errs[r] = f(comms[r]); errs[r] != nil {
				comms[r].Abort(1)
			}
		}(r)
	}
	wg.Wait()
	return errs
}
