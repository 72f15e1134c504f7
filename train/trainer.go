package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"

	"github.com/bism-ml/bism/internal/atomicfile"
)

var nan = math.NaN()

// Options controls a run's side effects.
type Options struct {
	Progress io.Writer // progress lines (nil: none)
	Resume   bool      // continue from DIR/checkpoint.safetensors
}

// Run is a training run bound to its directory.
type Run struct {
	Cfg   Config
	Dir   string
	Split *data.Split
	Model *model.GRBM
	Post  *model.BernoulliPosterior // nil for methods without a posterior

	opts     Options
	thetaOpt *optim.Adam
	method   stepper
	progress
}

// ErrDiverged is returned (wrapped) when the loss or a gradient stops being finite.
var ErrDiverged = errors.New("training diverged")

// New builds a run: loads the data, initialises the model and method, and,
// with opts.Resume, restores the last checkpoint in dir.
func New(cfg Config, dir string, opts Options) (*Run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Model.Kind != "grbm" {
		return nil, fmt.Errorf("train.New: model.kind %q is a deep model; use train.NewDeep", cfg.Model.Kind)
	}
	split, err := data.Loader{Dir: cfg.Data.Dir}.Load(cfg.Data.Name, cfg.Seed)
	if err != nil {
		return nil, err
	}
	r := &Run{Cfg: cfg, Dir: dir, Split: split, opts: opts, progress: progress{rng: tensor.NewRNG(cfg.Seed)}}
	if err := setUp(cfg, dir, opts, &r.progress, r.build, r.loadCheckpoint); err != nil {
		return nil, err
	}
	return r, nil
}

// Build constructs the model and the method from the config (no data needed).
func (r *Run) build() error {
	cfg := r.Cfg
	d := r.Split.Train.Dim()
	initRNG := tensor.NewRNG(cfg.Seed ^ 0x5eed)
	r.Model = model.NewGRBM(d, cfg.Model.Hidden, cfg.Model.ScalarSigma, initRNG, tensor.Float32)
	t := cfg.Train
	r.thetaOpt = optim.NewAdam(t.LR, t.Beta1, t.Beta2)
	m := cfg.Method
	innerLR := t.innerLR()
	switch {
	case m.Bilevel():
		outer, err := m.Outer()
		if err != nil {
			return err
		}
		r.Post = model.NewBernoulliPosterior(d, cfg.Model.Hidden, initRNG, tensor.Float32)
		qopt := optim.NewAdam(innerLR, t.Beta1, t.Beta2)
		b := &objective.BiLevel{Model: r.Model, Posterior: r.Post, Outer: outer, K: m.K, N: m.N, InnerOpt: qopt}
		if m.Unroll == "sgd" {
			b.Unroll = func() optim.Unrolled { return optim.NewSGD(qopt.LR()).Unroll() }
		}
		r.method = &bilevelStepper{b: b, q: r.Post}
	case m.Name == "sm" || m.Name == "ssm" || m.Name == "dsm" || m.Name == "mdsm":
		outer, err := m.Outer()
		if err != nil {
			return err
		}
		r.method = &marginalStepper{m: r.Model, o: outer}
	default:
		s, post, err := newBaseline(cfg, r.Model, initRNG, innerLR)
		if err != nil {
			return err
		}
		r.Post = post
		r.method = s
	}
	return nil
}

// nextBatch gathers the next minibatch, reshuffling at each epoch.
func (r *Run) nextBatch(dst []float32) *tensor.Tensor {
	set := r.Split.Train
	b := r.Cfg.Train.BatchSize
	idx := r.nextIndices(set.N, b)
	return tensor.FromFloat32(set.Batch(idx, dst), b, set.Dim())
}

// Train runs until cfg.Train.Iterations. Every train.eval_every iterations
// (and at the end) it evaluates the model (Evaluate) and appends a record to
// metrics.jsonl with iter, elapsed_s, lr, train_loss (and inner_loss for
// bi-level methods) averaged over the interval, and saves
// checkpoint.safetensors; every train.checkpoint_every iterations it also
// keeps a snapshot under checkpoints/.
func (r *Run) Train() error {
	buf := make([]float32, r.Cfg.Train.BatchSize*r.Split.Train.Dim())
	l := loop{
		dir: r.Dir, cfg: r.Cfg, opts: r.opts, state: &r.progress,
		step:     func() (stepStats, error) { return r.trainStep(buf) },
		hasInner: r.Post != nil,
		record: func(rec map[string]any, _ stepStats) error {
			ev, err := Evaluate(r, EvalOptions{LL: r.Cfg.Eval.LLDuringTraining})
			for k, v := range ev {
				rec[k] = v
			}
			return err
		},
		summaryKeys: []string{"train_loss", "test_ll", "test_fisher", "val_loss", "val_ll"},
		logLabel:    "eval",
		saveAtLog:   true,
		save:        r.SaveCheckpoint,
	}
	return l.run()
}

// trainStep applies the schedule, draws a minibatch, computes θ's gradient
// with the method and steps θ's optimizer.
func (r *Run) trainStep(buf []float32) (stepStats, error) {
	st := stepStats{lr: r.thetaLR(r.iter)}
	r.thetaOpt.SetLR(st.lr)
	r.method.setLR(r.innerLR(r.iter))
	v := r.nextBatch(buf)
	var err error
	r.inStep(func() {
		var grads []*tensor.Tensor
		st.loss, st.inner, grads = r.method.step(v, r.rng)
		if err = checkFinite(st.loss, grads); err == nil {
			r.thetaOpt.Step(r.Model.Params(), grads)
		}
	})
	if err != nil {
		return st, divergedAt(r.Dir, r.iter, err)
	}
	r.iter++
	return st, nil
}

// Bench times training iterations only (no evaluation, no files): warmup
// untimed iterations, then iters timed ones; it returns ms per iteration.
func Bench(cfg Config, warmup, iters int) (float64, error) {
	cfg.Train.Iterations = warmup + iters
	r, err := New(cfg, "", Options{})
	if err != nil {
		return 0, err
	}
	buf := make([]float32, cfg.Train.BatchSize*r.Split.Train.Dim())
	return timeSteps(func() error { _, err := r.trainStep(buf); return err }, warmup, iters)
}

func checkFinite(loss float64, grads []*tensor.Tensor) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("loss is %v", loss)
	}
	for i, g := range grads {
		if g.HasNaNOrInf() {
			return fmt.Errorf("gradient %d has non-finite values", i)
		}
	}
	return nil
}

func eta(left int, rate float64) string {
	if rate <= 0 {
		return "?"
	}
	return (time.Duration(float64(left)/rate) * time.Second).Round(time.Second).String()
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

// writeAtomic writes a file via a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// Files in a run directory.
const (
	ConfigFile     = "config.yaml"
	MetricsFile    = "metrics.jsonl"
	CheckpointFile = "checkpoint.safetensors"
	SnapshotDir    = "checkpoints"
)
