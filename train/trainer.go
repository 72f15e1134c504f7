package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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
	sched    optim.Schedule
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
	if err := setUp(cfg, dir, opts, &r.sched, r.build, r.loadCheckpoint); err != nil {
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
	innerLR := t.InnerLR
	if innerLR == 0 {
		innerLR = t.LR
	}
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

// Train runs until cfg.Train.Iterations, evaluating every EvalEvery
// iterations (and at the end), writing metrics.jsonl and checkpoints.
func (r *Run) Train() error {
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := r.writeResolvedConfig(); err != nil {
		return err
	}
	mf, err := os.OpenFile(filepath.Join(r.Dir, MetricsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	if !r.opts.Resume {
		if err := mf.Truncate(0); err != nil {
			return fmt.Errorf("train: %w", err)
		}
	}
	enc := json.NewEncoder(mf)

	t := r.Cfg.Train
	buf := make([]float32, t.BatchSize*r.Split.Train.Dim())
	var lossSum, innerSum float64
	var count int
	lastPrint := time.Now()
	startIter, startElapsed := r.iter, r.elapsed
	segment := time.Now()
	for r.iter < t.Iterations {
		lr, loss, inner, err := r.trainStep(buf)
		if err != nil {
			return err
		}
		lossSum += loss
		innerSum += inner
		count++

		if r.opts.Progress != nil && (time.Since(lastPrint) > 2*time.Second || r.iter == t.Iterations) {
			el := r.elapsed + time.Since(segment).Seconds()
			rate := float64(r.iter-startIter) / math.Max(el-startElapsed, 1e-9)
			fmt.Fprintf(r.opts.Progress, "iter %d/%d  loss %.5g  %.1f it/s  ETA %s\n", r.iter, t.Iterations,
				lossSum/float64(count), rate, eta(t.Iterations-r.iter, rate))
			lastPrint = time.Now()
		}
		evalNow := r.iter == t.Iterations || (t.EvalEvery > 0 && r.iter%t.EvalEvery == 0)
		snapNow := t.CheckpointEvery > 0 && r.iter%t.CheckpointEvery == 0
		if evalNow || snapNow {
			r.elapsed += time.Since(segment).Seconds()
			rec := map[string]any{"iter": r.iter, "elapsed_s": round(r.elapsed, 3), "lr": lr,
				"train_loss": lossSum / float64(count)}
			if r.Post != nil && !math.IsNaN(innerSum) {
				rec["inner_loss"] = innerSum / float64(count)
			}
			lossSum, innerSum, count = 0, 0, 0
			{
				ev, err := Evaluate(r, EvalOptions{LL: r.Cfg.Eval.LLDuringTraining})
				if err != nil {
					return err
				}
				for k, v := range ev {
					rec[k] = v
				}
			}
			if err := r.SaveCheckpoint(filepath.Join(r.Dir, CheckpointFile)); err != nil {
				return err
			}
			if snapNow {
				if err := r.SaveCheckpoint(filepath.Join(r.Dir, SnapshotDir, fmt.Sprintf("iter_%08d.safetensors", r.iter))); err != nil {
					return err
				}
			}
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("train: writing metrics: %w", err)
			}
			if r.opts.Progress != nil {
				fmt.Fprintf(r.opts.Progress, "eval @ %d: %s\n", r.iter, summary(rec))
			}
			segment = time.Now()
		}
	}
	return nil
}

// trainStep applies the schedule, draws a minibatch, computes θ's gradient
// with the method and steps θ's optimizer.
func (r *Run) trainStep(buf []float32) (lr, loss, inner float64, err error) {
	t := r.Cfg.Train
	lr = r.sched(t.LR, r.iter, t.Iterations)
	r.thetaOpt.SetLR(lr)
	r.method.setLR(lr * r.innerRatio())
	v := r.nextBatch(buf)
	r.inStep(func() {
		var grads []*tensor.Tensor
		loss, inner, grads = r.method.step(v, r.rng)
		if err = checkFinite(loss, grads); err == nil {
			r.thetaOpt.Step(r.Model.Params(), grads)
		}
	})
	if err != nil {
		return lr, loss, inner, fmt.Errorf("%w at iteration %d: %v; the last good checkpoint is %s",
			ErrDiverged, r.iter+1, err, filepath.Join(r.Dir, CheckpointFile))
	}
	r.iter++
	return lr, loss, inner, nil
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
	for i := 0; i < warmup; i++ {
		if _, _, _, err := r.trainStep(buf); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for i := 0; i < iters; i++ {
		if _, _, _, err := r.trainStep(buf); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(iters), nil
}

// innerRatio keeps the inner learning rate's ratio to lr under the schedule.
func (r *Run) innerRatio() float64 {
	if r.Cfg.Train.InnerLR == 0 {
		return 1
	}
	return r.Cfg.Train.InnerLR / r.Cfg.Train.LR
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

func summary(rec map[string]any) string {
	s := ""
	for _, k := range []string{"train_loss", "test_ll", "test_fisher", "val_loss", "val_ll"} {
		if v, ok := rec[k]; ok {
			s += fmt.Sprintf("%s %.5g  ", k, v)
		}
	}
	return s
}

func (r *Run) writeResolvedConfig() error {
	b, err := MarshalConfig(r.Cfg)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(r.Dir, ConfigFile), b)
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
