package train

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// A checkpoint is one safetensors file (package checkpoint). θ's tensors
// sit under Layout.ThetaPrefix: at the top level for the GRBM (W [D,H],
// b [D], c [H], log_sigma [D] or [1], float32), so that any safetensors
// reader loads a trained model directly, and under "model/" for the deep
// models. Each method state has its prefix ("posterior/", "pcd/", "nce/",
// "vnce/"), optimizer state sits under "optim/theta/" and
// "optim/<state>/" (moments m.i, v.i and the step count), and "data/order"
// holds the epoch's permutation. The metadata holds the format, the model,
// method and data set, and where the run stands: iter, elapsed_s,
// data_pos, the random generator's state (rng, base64) and the sums of the
// interval since the last metrics record (interval_loss, interval_inner,
// interval_steps), so that a resumed run continues exactly.

// Layout is how a run's checkpoints are written: the format tag, the
// prefix of θ's tensors and metadata that must match on loading.
type Layout struct {
	Format      string            // "bism-grbm-v1" or "bism-deep-v1"
	ThetaPrefix string            // "" or "model/"
	Meta        map[string]string // e.g. model, method and data set names
}

// Save writes the run's full state to path atomically.
func (r *Run) Save(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	ts := map[string]checkpoint.Tensor{}
	putParams(ts, r.Layout.ThetaPrefix, r.Theta)
	putOptim(ts, "optim/theta/", r.thetaOpt)
	for _, s := range r.Method.State() {
		putParams(ts, s.Name+"/", s.Params)
		if s.Opt != nil {
			putOptim(ts, "optim/"+s.Name+"/", s.Opt)
		}
	}
	meta := maps.Clone(r.Layout.Meta)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["format"] = r.Layout.Format
	if err := r.saveProgress(ts, meta); err != nil {
		return err
	}
	if err := checkpoint.Save(path, ts, meta); err != nil {
		return fmt.Errorf("checkpoint: saving %s: %w", path, err)
	}
	return nil
}

// Restore reads the full state saved by Save into a run built from the
// same config, so that training continues exactly. Every field is checked:
// a checkpoint of another experiment, a damaged one or one with
// non-finite parameters is an error naming the file and the cause.
func (r *Run) Restore(path string) error {
	ts, meta, err := r.open(path)
	if err != nil {
		return err
	}
	fail := func(err error) error { return fmt.Errorf("checkpoint %s: %w", path, err) }
	if err := getParams(ts, r.Layout.ThetaPrefix, r.Theta); err != nil {
		return fail(err)
	}
	if err := getOptim(ts, "optim/theta/", r.thetaOpt, r.Theta); err != nil {
		return fail(err)
	}
	for _, s := range r.Method.State() {
		if err := getParams(ts, s.Name+"/", s.Params); err != nil {
			return fail(err)
		}
		if s.Opt != nil {
			if err := getOptim(ts, "optim/"+s.Name+"/", s.Opt, s.Params); err != nil {
				return fail(err)
			}
		}
	}
	if rs, ok := r.Method.(Restorer); ok {
		rs.Restored()
	}
	if err := r.restoreProgress(ts, meta, r.Data.Train.N); err != nil {
		return fail(err)
	}
	return nil
}

// LoadParams reads only θ and the method's parameters (the posterior) from
// a checkpoint, for evaluation and sampling, and returns its iteration.
func (r *Run) LoadParams(path string) (iter int, err error) {
	ts, meta, err := r.open(path)
	if err != nil {
		return 0, err
	}
	if err := getParams(ts, r.Layout.ThetaPrefix, r.Theta); err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", path, err)
	}
	for _, s := range r.Method.State() {
		if err := getParams(ts, s.Name+"/", s.Params); err != nil {
			return 0, fmt.Errorf("checkpoint %s: %w", path, err)
		}
	}
	it, err := strconv.Atoi(meta["iter"])
	if err != nil || it < 0 {
		return 0, fmt.Errorf("checkpoint %s: bad iteration %q", path, meta["iter"])
	}
	return it, nil
}

// open loads a checkpoint and checks that it is one of this run's kind:
// its format, and the model, method and data set where it records them.
func (r *Run) open(path string) (map[string]checkpoint.Tensor, map[string]string, error) {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return nil, nil, err
	}
	if meta["format"] != r.Layout.Format {
		return nil, nil, fmt.Errorf("%s is not a %s checkpoint (format %q)", path, r.Layout.Format, meta["format"])
	}
	for _, k := range slices.Sorted(maps.Keys(r.Layout.Meta)) {
		if got, ok := meta[k]; ok && got != r.Layout.Meta[k] {
			return nil, nil, fmt.Errorf("%s holds a checkpoint of %s %q; the run's config has %s %q", path, k, got, k, r.Layout.Meta[k])
		}
	}
	return ts, meta, nil
}

// readMeta reads a checkpoint's metadata.
func readMeta(path string) (map[string]checkpoint.Tensor, map[string]string, error) {
	return checkpoint.Load(path)
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

// getParams copies the tensors prefix+name into p, checking that each is
// there, has the parameter's shape and is finite.
func getParams(ts map[string]checkpoint.Tensor, prefix string, p *nn.Params) error {
	for _, n := range p.Names() {
		t, ok := ts[prefix+n]
		if !ok {
			return fmt.Errorf("no tensor %q (was it written for a different config?)", prefix+n)
		}
		dst := p.Get(n)
		if !tensor.SameShape(t.Shape, dst.Shape()) {
			return fmt.Errorf("tensor %q has shape %v, the model needs %v", prefix+n, t.Shape, dst.Shape())
		}
		src, err := toTensor(t)
		if err != nil {
			return fmt.Errorf("tensor %q: %v", prefix+n, err)
		}
		if src.HasNaNOrInf() {
			return fmt.Errorf("tensor %q holds non-finite values", prefix+n)
		}
		dst.CopyFrom(src.As(dst.DType()))
	}
	return nil
}

// getOptim restores the optimizer state under prefix for the parameters p.
func getOptim(ts map[string]checkpoint.Tensor, prefix string, o optim.Optimizer, p *nn.Params) error {
	st := map[string]*tensor.Tensor{}
	for k, t := range ts {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		x, err := toTensor(t)
		if err != nil {
			return fmt.Errorf("tensor %q: %v", k, err)
		}
		st[k[len(prefix):]] = x
	}
	if err := o.LoadState(st, p); err != nil {
		return fmt.Errorf("optimizer state %q: %v", prefix, err)
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
	return nil, fmt.Errorf("dtype %s, want F32 or F64", t.DType)
}
