package train

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// A checkpoint is one safetensors file. The GRBM's parameters sit at the top
// level as float32 tensors W [D,H], b [D], c [H], log_sigma [D] (or [1]),
// so other tools can read a trained model directly. Everything else has a
// prefix: "posterior/" (q's parameters), "optim/theta/" and
// "optim/<aux>/" (optimizer moments and step counts), "<aux>/" for other
// method state (PCD chains, NCE's log-normaliser), and "data/order" (the
// epoch's permutation). The metadata holds the iteration, the training time
// and the random generator's state, so -resume continues exactly.

// SaveCheckpoint writes the run's full state to path atomically.
func (r *Run) SaveCheckpoint(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	ts := map[string]checkpoint.Tensor{}
	putParams(ts, "", r.Model.Params())
	putOptim(ts, "optim/theta/", r.thetaOpt)
	for name, a := range r.method.aux() {
		putParams(ts, name+"/", a.params)
		if a.opt != nil {
			putOptim(ts, "optim/"+name+"/", a.opt)
		}
	}
	meta := map[string]string{
		"format": "bism-grbm-v1",
		"method": r.Cfg.Method.Name,
		"data":   r.Cfg.Data.Name,
	}
	if err := r.saveProgress(ts, meta); err != nil {
		return err
	}
	if err := checkpoint.Save(path, ts, meta); err != nil {
		return fmt.Errorf("checkpoint: saving %s: %w", path, err)
	}
	return nil
}

func putParams(ts map[string]checkpoint.Tensor, prefix string, p *nn.Params) {
	for _, n := range p.Names() {
		t := p.Get(n)
		ts[prefix+n] = checkpoint.F32(t.Shape(), t.As(tensor.Float32).F32())
	}
}

func putOptim(ts map[string]checkpoint.Tensor, prefix string, o optim.Optimizer) {
	for k, t := range o.State() {
		if t.DType() == tensor.Float32 {
			ts[prefix+k] = checkpoint.F32(t.Shape(), t.F32())
		} else {
			ts[prefix+k] = checkpoint.F64(t.Shape(), t.F64())
		}
	}
}

// loadCheckpoint restores a state saved by SaveCheckpoint into a run built
// from the same config. Every mismatch is an error naming the tensor.
func (r *Run) loadCheckpoint(path string) error {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if meta["format"] != "bism-grbm-v1" {
		return fmt.Errorf("resume: %s is not a bism GRBM checkpoint (format %q)", path, meta["format"])
	}
	if err := getParams(ts, "", r.Model.Params(), path); err != nil {
		return err
	}
	if err := getOptim(ts, "optim/theta/", r.thetaOpt, path); err != nil {
		return err
	}
	for name, a := range r.method.aux() {
		if err := getParams(ts, name+"/", a.params, path); err != nil {
			return err
		}
		if a.opt != nil {
			if err := getOptim(ts, "optim/"+name+"/", a.opt, path); err != nil {
				return err
			}
		}
	}
	if a, ok := r.method.(interface{ afterRestore() }); ok {
		a.afterRestore()
	}
	return r.restoreProgress(ts, meta, path, r.Split.Train.N)
}

// LoadModel reads only the model (and posterior) parameters, for evaluation and sampling.
func (r *Run) LoadModel(path string) (iter int, err error) {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return 0, err
	}
	if err := getParams(ts, "", r.Model.Params(), path); err != nil {
		return 0, err
	}
	for name, a := range r.method.aux() {
		if err := getParams(ts, name+"/", a.params, path); err != nil {
			return 0, err
		}
	}
	iter, _ = strconv.Atoi(meta["iter"])
	return iter, nil
}

func getParams(ts map[string]checkpoint.Tensor, prefix string, p *nn.Params, path string) error {
	for _, n := range p.Names() {
		t, ok := ts[prefix+n]
		if !ok {
			return fmt.Errorf("checkpoint %s has no tensor %q (was it written by a different config?)", path, prefix+n)
		}
		dst := p.Get(n)
		if !tensor.SameShape(t.Shape, dst.Shape()) {
			return fmt.Errorf("checkpoint %s: tensor %q has shape %v, the model needs %v", path, prefix+n, t.Shape, dst.Shape())
		}
		src, err := toTensor(t)
		if err != nil {
			return fmt.Errorf("checkpoint %s: tensor %q: %v", path, prefix+n, err)
		}
		dst.CopyFrom(src.As(dst.DType()))
	}
	return nil
}

func getOptim(ts map[string]checkpoint.Tensor, prefix string, o optim.Optimizer, path string) error {
	st := map[string]*tensor.Tensor{}
	var keys []string
	for k := range ts {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		t, err := toTensor(ts[k])
		if err != nil {
			return fmt.Errorf("checkpoint %s: tensor %q: %v", path, k, err)
		}
		st[k[len(prefix):]] = t
	}
	if err := o.LoadState(st); err != nil {
		return fmt.Errorf("checkpoint %s: %s: %v", path, prefix, err)
	}
	return nil
}

func toTensor(t checkpoint.Tensor) (*tensor.Tensor, error) {
	switch t.DType {
	case checkpoint.DTypeF32:
		return tensor.FromFloat32(append([]float32(nil), t.F32...), t.Shape...), nil
	case checkpoint.DTypeF64:
		return tensor.FromFloat64(append([]float64(nil), t.F64...), t.Shape...), nil
	}
	return nil, fmt.Errorf("unexpected dtype %s", t.DType)
}
