package train

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/tensor"
)

// progress is where a run stands, beyond its parameters and optimizer
// state: what a checkpoint must also hold for -resume to continue exactly
// (the same minibatches, the same random draws). GRBM and deep runs embed it.
type progress struct {
	rng     *tensor.RNG
	iter    int
	elapsed float64 // training seconds, evaluation excluded
	order   []int   // the current epoch's permutation of training rows
	pos     int     // next position in order

	// arena holds the storage of one training step's tensors, reused by the
	// next step (tensor.Arena); noArena turns it off and poison makes
	// released storage NaN (tests).
	arena   *tensor.Arena
	noArena bool
	poison  bool

	// thetaLR and innerLR are the learning rates at iteration it
	// (lrSchedules), set by setUp.
	thetaLR, innerLR func(it int) float64
}

// inStep runs one training step's computation f with step-scoped tensor
// storage: the previous step's tensors are released first, so nothing f
// returns may be kept past the next call (parameters and optimizer state are
// updated in place or created under tensor.Persist).
func (p *progress) inStep(f func()) {
	if p.noArena {
		f()
		return
	}
	if p.arena == nil {
		p.arena = tensor.NewArena()
		p.arena.Poison = p.poison
	}
	p.arena.Step(f)
}

// saveProgress adds the epoch's order as "data/order" and the iteration,
// training time, data position and random state to the metadata.
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
	meta["iter"] = strconv.Itoa(p.iter)
	meta["elapsed_s"] = strconv.FormatFloat(p.elapsed, 'g', -1, 64)
	meta["data_pos"] = strconv.Itoa(p.pos)
	meta["rng"] = base64.StdEncoding.EncodeToString(rngState)
	return nil
}

// restoreProgress reads what saveProgress wrote, checking it against a
// training set of rows examples.
func (p *progress) restoreProgress(ts map[string]checkpoint.Tensor, meta map[string]string, path string, rows int) error {
	var err error
	if p.iter, err = strconv.Atoi(meta["iter"]); err != nil {
		return fmt.Errorf("resume: %s: bad iteration %q", path, meta["iter"])
	}
	if p.pos, err = strconv.Atoi(meta["data_pos"]); err != nil {
		return fmt.Errorf("resume: %s: bad data position %q", path, meta["data_pos"])
	}
	p.elapsed, _ = strconv.ParseFloat(meta["elapsed_s"], 64)
	if o, ok := ts["data/order"]; ok {
		p.order = make([]int, len(o.I64))
		for i, v := range o.I64 {
			if v < 0 || int(v) >= rows {
				return fmt.Errorf("resume: %s: data order refers to row %d of %d", path, v, rows)
			}
			p.order[i] = int(v)
		}
	}
	if p.pos > len(p.order) {
		return fmt.Errorf("resume: %s: data position %d beyond the epoch of %d", path, p.pos, len(p.order))
	}
	st, err := base64.StdEncoding.DecodeString(meta["rng"])
	if err == nil {
		err = p.rng.UnmarshalBinary(st)
	}
	if err != nil {
		return fmt.Errorf("resume: %s: bad random generator state: %v", path, err)
	}
	return nil
}

// setUp finishes constructing a run: the learning-rate schedules, the model
// and method (build), and with opts.Resume the state of DIR's checkpoint.
func setUp(cfg Config, dir string, opts Options, p *progress, build func() error, load func(path string) error) error {
	p.thetaLR, p.innerLR = lrSchedules(cfg.Train)
	if err := build(); err != nil {
		return err
	}
	if opts.Resume {
		return load(filepath.Join(dir, CheckpointFile))
	}
	return nil
}

// Iter is the number of training iterations done.
func (p *progress) Iter() int { return p.iter }

// nextIndices returns the rows of the next minibatch of size b from a
// training set of n rows, reshuffling at each epoch.
func (p *progress) nextIndices(n, b int) []int {
	idx := make([]int, b)
	for i := range idx {
		if p.pos >= len(p.order) {
			p.order = p.rng.Rand().Perm(n)
			p.pos = 0
		}
		idx[i] = p.order[p.pos]
		p.pos++
	}
	return idx
}
