package train

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/tensor"
)

// progress is where a run stands, beyond its parameters and optimizer
// state: what a checkpoint must also hold for a resumed run to continue
// exactly (the same minibatches, the same random draws, the same interval
// averages in the next metrics record).
type progress struct {
	rng     *tensor.RNG
	iter    int
	elapsed float64 // training seconds, evaluation excluded
	order   []int   // the current epoch's permutation of training rows
	pos     int     // next position in order
	idx     []int   // nextIndices' result, reused
	acc     accumulator

	// thetaLR and innerLR are the learning rates at iteration it
	// (lrSchedules).
	thetaLR, innerLR func(it int) float64
}

// accumulator sums the losses of the steps since the last metrics record.
type accumulator struct {
	loss, inner float64
	count       int
}

func (a *accumulator) add(loss, inner float64) {
	a.loss += loss
	a.inner += inner
	a.count++
}

// Iter is the number of training iterations done.
func (p *progress) Iter() int { return p.iter }

// RNG is the run's random stream (minibatch order and every draw of noise).
func (p *progress) RNG() *tensor.RNG { return p.rng }

// nextIndices returns the rows of the next minibatch of size b from a
// training set of n rows, reshuffling at each epoch. The result is valid
// until the next call.
func (p *progress) nextIndices(n, b int) []int {
	if cap(p.idx) < b {
		p.idx = make([]int, b)
	}
	idx := p.idx[:b]
	for i := range idx {
		if p.pos >= len(p.order) {
			p.shuffle(n)
		}
		idx[i] = p.order[p.pos]
		p.pos++
	}
	return idx
}

// shuffle starts an epoch: order becomes rand.Perm(n) of the run's stream
// (the same draws and permutation), in order's storage when it fits.
func (p *progress) shuffle(n int) {
	if cap(p.order) < n {
		p.order = make([]int, n)
	}
	o := p.order[:n]
	for i := range o {
		o[i] = i
	}
	p.rng.Rand().Shuffle(n, func(i, j int) { o[i], o[j] = o[j], o[i] })
	p.order, p.pos = o, 0
}

// saveProgress adds the epoch's order as "data/order" and the iteration,
// training time, data position, interval sums and random state to the
// metadata.
func (p *progress) saveProgress(ts map[string]checkpoint.Tensor, meta map[string]string) error {
	order := make([]int64, len(p.order))
	for i, v := range p.order {
		order[i] = int64(v)
	}
	ts["data/order"] = checkpoint.I64([]int{len(order)}, order)
	rngState, err := p.rng.MarshalBinary()
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	meta["iter"] = strconv.Itoa(p.iter)
	meta["elapsed_s"] = f(p.elapsed)
	meta["data_pos"] = strconv.Itoa(p.pos)
	meta["rng"] = base64.StdEncoding.EncodeToString(rngState)
	meta["interval_loss"] = f(p.acc.loss)
	meta["interval_inner"] = f(p.acc.inner)
	meta["interval_steps"] = strconv.Itoa(p.acc.count)
	return nil
}

// restoreProgress reads what saveProgress wrote, checking every field: a
// training set of rows examples, counters in range, finite sums, a valid
// random state. Checkpoints written before the interval sums were kept
// (saved at a metrics record, where they are zero) read as zero.
func (p *progress) restoreProgress(ts map[string]checkpoint.Tensor, meta map[string]string, rows int) error {
	atoi := func(key, what string, lo int) (int, error) {
		n, err := strconv.Atoi(meta[key])
		if err != nil || n < lo {
			return 0, fmt.Errorf("bad %s %q in metadata %q", what, meta[key], key)
		}
		return n, nil
	}
	var err error
	if p.iter, err = atoi("iter", "iteration", 0); err != nil {
		return err
	}
	if p.pos, err = atoi("data_pos", "data position", 0); err != nil {
		return err
	}
	if p.elapsed, err = strconv.ParseFloat(meta["elapsed_s"], 64); err != nil || p.elapsed < 0 || math.IsInf(p.elapsed, 0) || math.IsNaN(p.elapsed) {
		return fmt.Errorf("bad training time %q in metadata \"elapsed_s\"", meta["elapsed_s"])
	}
	p.acc = accumulator{}
	if _, ok := meta["interval_steps"]; ok {
		if p.acc.count, err = atoi("interval_steps", "step count", 0); err != nil {
			return err
		}
		for _, k := range []struct {
			key string
			dst *float64
		}{{"interval_loss", &p.acc.loss}, {"interval_inner", &p.acc.inner}} {
			x, err := strconv.ParseFloat(meta[k.key], 64)
			if err != nil || math.IsInf(x, 0) || (math.IsNaN(x) && k.key == "interval_loss") {
				return fmt.Errorf("bad interval sum %q in metadata %q", meta[k.key], k.key)
			}
			*k.dst = x
		}
	}
	p.order = nil
	if o, ok := ts["data/order"]; ok {
		if o.DType != checkpoint.DTypeI64 || len(o.Shape) != 1 {
			return fmt.Errorf("tensor \"data/order\" is %s %v, want a vector of int64", o.DType, o.Shape)
		}
		if len(o.I64) != 0 && len(o.I64) != rows {
			return fmt.Errorf("tensor \"data/order\" orders %d rows; the training set has %d (was it written for other data?)", len(o.I64), rows)
		}
		seen := make([]bool, rows)
		p.order = make([]int, len(o.I64))
		for i, v := range o.I64 {
			if v < 0 || int(v) >= rows || seen[v] {
				return fmt.Errorf("tensor \"data/order\" is not a permutation of the %d training rows (entry %d is %d)", rows, i, v)
			}
			seen[v] = true
			p.order[i] = int(v)
		}
	}
	if p.pos > len(p.order) {
		return fmt.Errorf("data position %d is beyond the epoch of %d rows", p.pos, len(p.order))
	}
	st, err := base64.StdEncoding.DecodeString(meta["rng"])
	if err == nil {
		err = p.rng.UnmarshalBinary(st)
	}
	if err != nil {
		return fmt.Errorf("bad random generator state: %v", err)
	}
	return nil
}
