package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// A Method is one learning method bound to a model: it turns a minibatch
// into θ's gradient, updating whatever else it owns (a posterior and its
// optimizer, persistent chains, a log-normaliser) on the way.
type Method interface {
	// Step returns the training loss, the inner loss (NaN for methods
	// without one) and θ's gradient, in the order of θ's parameters.
	Step(v *tensor.Tensor, rng *tensor.RNG) (loss, inner float64, grads []*tensor.Tensor)
	// State lists the method's own parameters and optimizers, each under
	// its checkpoint prefix.
	State() []State
	// SetInnerLR sets the learning rate of the method's own optimizers.
	SetInnerLR(lr float64)
}

// State is a parameter set a method owns, with its optimizer (nil when
// the parameters are not optimized, e.g. persistent chains).
type State struct {
	Name   string // checkpoint prefix: "posterior", "pcd", "nce", "vnce"
	Params *nn.Params
	Opt    optim.Optimizer
}

// Committer is implemented by methods that step state of their own from
// the same minibatch (NCE's log-normaliser): Commit applies that update
// once the loss and θ's gradient are known to be finite, and refuses
// gradients of its own that are not.
type Committer interface{ Commit() error }

// Restorer is implemented by methods that must act after their state was
// read from a checkpoint (PCD installs its restored chains).
type Restorer interface{ Restored() }

// Record is one line of metrics.jsonl.
type Record map[string]any

// ErrDiverged is returned (wrapped) when the loss, a gradient or a
// parameter stops being finite.
var ErrDiverged = errors.New("training diverged")

// ErrInterrupted is returned (wrapped) when the context given to Train is
// cancelled (Ctrl-C): the run saved its checkpoint at the step boundary.
var ErrInterrupted = errors.New("training interrupted")

// Run is a training run bound to its directory: θ, the method, θ's Adam,
// and where the run stands. The run builder (package experiment) makes one
// from a config; the loop itself knows nothing of models.
type Run struct {
	Config config.Config
	Dir    string // "" for a run that writes nothing (benchmarks)
	Data   *data.Split
	Theta  *nn.Params
	Method Method
	Layout Layout

	// Record adds the model's own entries to a metrics record (an
	// evaluation, the posterior's accuracy); v is the last step's batch.
	Record func(rec Record, v *tensor.Tensor) error
	// SummaryKeys are the record entries shown on the progress line.
	SummaryKeys []string
	// SaveEveryRecord saves the checkpoint at every metrics record (and
	// writes a record at every snapshot), for runs whose checkpoints are
	// small; otherwise it is saved at snapshots and at the end only.
	SaveEveryRecord bool
	// Progress receives progress lines (nil: none).
	Progress io.Writer

	// FlatInput gives the method minibatches of shape [B, D] rather than
	// [B, example shape...] (the GRBM sees vectors, the deep models images).
	FlatInput bool

	// Arena holds the storage of one training step's tensors, reused by
	// the next step (tensor.Arena; created on the first step when nil).
	// NoArena computes every step on the heap instead (a check of the
	// arena).
	Arena   *tensor.Arena
	NoArena bool

	// FixedCores splits every step's loops over the workers as they allow.
	// By default a run times a few steps on one core against as many on
	// all now and then and keeps the faster (where handing work to another
	// core costs more than it saves, a step runs on one); the run's
	// results are the same bits either way.
	FixedCores bool
	cores      coreChoice

	// Shard, in data-parallel training, is this process's rows of every
	// global minibatch (train.batch_size stays the global batch): the
	// method steps on those rows, with the random stream drawing the global
	// batch's noise for them (tensor.RNG.ShardRows); losses and θ's
	// gradient are averaged across processes, so every process takes the
	// same step; only rank 0 writes files and progress. nil: one process.
	Shard *dist.Shard

	thetaOpt *optim.Adam
	progress

	attached     *tensor.Arena // the arena θ and the method's state belong to
	attachedOnce bool

	// The minibatch as a tensor over the loop's buffer, and the same in
	// the attached arena: made once per buffer, so that a step makes no
	// header for them.
	batch, batchIn *tensor.Tensor
	buf            []float32 // the minibatch's values (batchBuffer)
}

// New returns a run at iteration 0 of cfg that trains theta with method
// on split's training set, writing to dir.
func New(cfg config.Config, dir string, split *data.Split, theta *nn.Params, method Method, layout Layout) *Run {
	t := cfg.Train
	r := &Run{Config: cfg, Dir: dir, Data: split, Theta: theta, Method: method, Layout: layout,
		thetaOpt: optim.NewAdam(t.LR, t.Beta1, t.Beta2), progress: progress{rng: tensor.NewRNG(cfg.Seed)}}
	r.thetaLR, r.innerLR = lrSchedules(t)
	return r
}

// ThetaOptimizer is θ's Adam.
func (r *Run) ThetaOptimizer() optim.Optimizer { return r.thetaOpt }

// OneCore reports whether the run's steps now keep their loops on one core
// because the last probe found that faster (FixedCores).
func (r *Run) OneCore() bool { return r.cores.onOne }

// SettleCores runs training steps until the run has first timed one core
// against all and chosen (nothing with FixedCores or one worker), and
// returns how many it ran: a benchmark's warm-up, so that its timed steps
// are the run's steady ones.
func (r *Run) SettleCores() (int, error) {
	n := 0
	for !r.FixedCores && !r.cores.settled() {
		if err := r.Steps(1); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// nextBatch gathers the next minibatch, reshuffling at each epoch.
func (r *Run) nextBatch(dst []float32) *tensor.Tensor {
	set := r.Data.Train
	b := r.Config.Train.BatchSize
	data := set.Batch(r.nextIndices(set.N, b), dst)
	if t := r.batch; t == nil || len(t.F32()) != len(data) || &t.F32()[0] != &data[0] {
		shape := append([]int{b}, set.Shape...)
		if r.FlatInput {
			shape = []int{b, set.Dim()}
		}
		r.batch, r.batchIn = tensor.FromFloat32(data, shape...), nil
	}
	return r.batch
}

// batchBuffer returns the buffer the minibatches are gathered into, made
// once for the run.
func (r *Run) batchBuffer() []float32 {
	if n := r.Config.Train.BatchSize * r.Data.Train.Dim(); len(r.buf) != n {
		r.buf = make([]float32, n)
	}
	return r.buf
}

// batchInArena returns the minibatch v, which nextBatch made, in the
// attached arena.
func (r *Run) batchInArena(v *tensor.Tensor) *tensor.Tensor {
	if r.batchIn == nil || r.batchIn.Arena() != r.attached {
		r.batchIn = v.InArena(r.attached)
	}
	return r.batchIn
}

// inStep runs one training step's computation f with step-scoped tensor
// storage: the run's parameters, its random stream and the minibatch
// belong to its arena, so everything computed from them during f takes its
// storage from it, released when the next step begins. Parameters and
// optimizer state are updated in place or created on the heap.
func (r *Run) inStep(f func()) {
	if r.NoArena {
		r.attach(nil)
		f()
		return
	}
	if r.Arena == nil {
		r.Arena = tensor.NewArena()
	}
	r.attach(r.Arena)
	r.Arena.Step(f)
}

// attach makes θ, the method's parameters, their optimizers' moments and
// the random stream belong to a (once per arena; moments created later
// take their parameter's arena).
func (r *Run) attach(a *tensor.Arena) {
	if r.attached == a && r.attachedOnce {
		return
	}
	r.attached, r.attachedOnce = a, true
	for _, t := range r.Theta.Tensors() {
		t.SetArena(a)
	}
	for _, t := range r.thetaOpt.State() {
		t.SetArena(a)
	}
	for _, s := range r.Method.State() {
		for _, t := range s.Params.Tensors() {
			t.SetArena(a)
		}
		if s.Opt != nil {
			for _, t := range s.Opt.State() {
				t.SetArena(a)
			}
		}
	}
	r.rng.SetArena(a)
}

// stepStats is what one training step reports to the loop.
type stepStats struct {
	lr, loss, inner float64
	v               *tensor.Tensor // the clean batch
}

// step applies the schedules, draws a minibatch, computes θ's gradient
// with the method and steps θ's optimizer.
func (r *Run) step() (stepStats, error) {
	st := stepStats{lr: r.thetaLR(r.iter)}
	r.thetaOpt.SetLR(st.lr)
	r.Method.SetInnerLR(r.innerLR(r.iter))
	st.v = r.nextBatch(r.batchBuffer())
	var err error
	if !r.FixedCores {
		r.cores.before()
		defer r.cores.after()
	}
	r.inStep(func() {
		var grads []*tensor.Tensor
		v := r.batchInArena(st.v)
		if s := r.Shard; s != nil {
			r.rng.ShardRows(s.Lo, s.Hi, s.N)
			v = tensor.Slice(v, 0, s.Lo, s.Hi)
		}
		st.loss, st.inner, grads = r.Method.Step(v, r.rng)
		r.Shard.MeanScalars(&st.loss, &st.inner)
		grads = r.Shard.MeanTensors(grads)
		if err = r.checkFinite(st.loss, grads); err != nil {
			return
		}
		if c, ok := r.Method.(Committer); ok {
			if err = c.Commit(); err != nil {
				return
			}
		}
		r.thetaOpt.Step(r.Theta, grads)
	})
	if err != nil {
		return st, r.Diverged(err)
	}
	r.iter++
	return st, nil
}

// checkFinite refuses a step whose loss, θ-gradient or method parameters
// (a posterior stepped during it) are not finite.
func (r *Run) checkFinite(loss float64, grads []*tensor.Tensor) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("loss is %v", loss)
	}
	names := r.Theta.Names()
	for i, g := range grads {
		if g.HasNaNOrInf() {
			return fmt.Errorf("the gradient of %s has non-finite values", names[i])
		}
	}
	for _, s := range r.Method.State() {
		if s.Opt == nil {
			continue
		}
		for j, p := range s.Params.Tensors() {
			if p.HasNaNOrInf() {
				return fmt.Errorf("%s parameter %s is not finite", s.Name, s.Params.Names()[j])
			}
		}
	}
	return nil
}

// Diverged wraps err, the cause of a step after the current iteration
// going non-finite, as ErrDiverged, naming the checkpoint that is left if
// there is one.
func (r *Run) Diverged(err error) error {
	left := "no checkpoint was saved before it"
	if r.Dir != "" {
		p := filepath.Join(r.Dir, CheckpointFile)
		if _, serr := os.Stat(p); serr == nil {
			it := "?"
			if _, meta, lerr := readMeta(p); lerr == nil {
				it = meta["iter"]
			}
			left = fmt.Sprintf("the last good checkpoint is %s (iteration %s)", p, it)
		}
	} else {
		left = "the run writes no files"
	}
	return fmt.Errorf("%w at iteration %d: %v; nothing was saved after it, %s", ErrDiverged, r.iter+1, err, left)
}

// Train runs until train.iterations. Every train.eval_every iterations
// and at the end it appends a record to metrics.jsonl: iter, elapsed_s
// (training time, evaluation excluded), lr, train_loss (and inner_loss
// for methods with one) averaged over the interval, and what Record adds.
// Every train.checkpoint_every iterations it saves checkpoint.safetensors
// and a snapshot under checkpoints/ (with SaveEveryRecord, the checkpoint
// at every record too). When ctx is cancelled it saves the checkpoint at
// the next step boundary and returns ErrInterrupted.
func (r *Run) Train(ctx context.Context) error {
	if r.Dir == "" {
		return fmt.Errorf("train: a run without a directory cannot train (use Bench)")
	}
	if !r.Lead() {
		return r.follow(ctx)
	}
	if err := os.MkdirAll(r.Dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	b, err := config.Marshal(r.Config)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(r.Dir, ConfigFile), b); err != nil {
		return err
	}
	mpath := filepath.Join(r.Dir, MetricsFile)
	if err := truncateMetrics(mpath, r.iter); err != nil {
		return err
	}
	mf, err := os.OpenFile(mpath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	metrics := newRecordWriter(mf)

	t := r.Config.Train
	lastPrint := time.Now()
	startIter, startElapsed := r.iter, r.elapsed
	segment := time.Now()
	every := func(n int) bool { return n > 0 && r.iter%n == 0 }
	for r.iter < t.Iterations {
		if r.stopping(ctx) {
			r.elapsed += time.Since(segment).Seconds()
			return r.interrupt()
		}
		st, err := r.step()
		if err != nil {
			return err
		}
		r.acc.add(st.loss, st.inner)
		it := r.iter
		end := it == t.Iterations
		if r.Progress != nil && (time.Since(lastPrint) > 2*time.Second || end) {
			el := r.elapsed + time.Since(segment).Seconds()
			rate := float64(it-startIter) / math.Max(el-startElapsed, 1e-9)
			inner := ""
			if !math.IsNaN(r.acc.inner) {
				inner = fmt.Sprintf("  inner %.5g", r.acc.inner/float64(r.acc.count))
			}
			fmt.Fprintf(r.Progress, "iter %d/%d  loss %.5g%s  %.2f it/s  ETA %s\n", it, t.Iterations,
				r.acc.loss/float64(r.acc.count), inner, rate, eta(t.Iterations-it, rate))
			lastPrint = time.Now()
		}
		logNow := end || every(t.EvalEvery)
		snapNow := every(t.CheckpointEvery) || (end && !r.SaveEveryRecord)
		saveNow := snapNow
		if r.SaveEveryRecord {
			logNow = logNow || snapNow
			saveNow = logNow
		}
		if !logNow && !saveNow {
			continue
		}
		r.elapsed += time.Since(segment).Seconds()
		if logNow {
			rec := Record{"iter": it, "elapsed_s": round(r.elapsed, 3), "lr": st.lr,
				"train_loss": r.acc.loss / float64(r.acc.count)}
			if !math.IsNaN(r.acc.inner) {
				rec["inner_loss"] = r.acc.inner / float64(r.acc.count)
			}
			r.acc = accumulator{}
			if r.Record != nil {
				if err := r.Record(rec, st.v); err != nil {
					return err
				}
			}
			if err := metrics.write(rec); err != nil {
				return fmt.Errorf("train: writing %s: %w", mpath, err)
			}
			if r.Progress != nil {
				fmt.Fprintf(r.Progress, "record @ %d: %s\n", it, summary(rec, r.SummaryKeys))
			}
		}
		if saveNow {
			if err := r.Save(filepath.Join(r.Dir, CheckpointFile)); err != nil {
				return err
			}
			if snapNow {
				if err := r.Save(SnapshotPath(r.Dir, it)); err != nil {
					return err
				}
			}
		}
		segment = time.Now()
	}
	return nil
}

// Lead reports whether this process writes the run's files: always, but
// for the ranks other than 0 of a data-parallel run.
func (r *Run) Lead() bool { return r.Shard == nil || r.Shard.Group.Lead() }

// stopping reports whether the run stops at this step boundary (ctx
// cancelled); in data-parallel training every rank stops at the same
// boundary, the first at which any rank was cancelled.
func (r *Run) stopping(ctx context.Context) bool {
	stop := ctx.Err() != nil
	if r.Shard == nil {
		return stop
	}
	return r.Shard.Group.Flag(stop)
}

// follow is Train on a rank other than 0 of a data-parallel run: the same
// steps, and nothing written.
func (r *Run) follow(ctx context.Context) error {
	for r.iter < r.Config.Train.Iterations {
		if r.stopping(ctx) {
			return fmt.Errorf("%w at iteration %d of %d (rank 0 saved the checkpoint)", ErrInterrupted, r.iter, r.Config.Train.Iterations)
		}
		if _, err := r.step(); err != nil {
			return err
		}
	}
	return nil
}

// interrupt saves the checkpoint where the run stands and returns
// ErrInterrupted.
func (r *Run) interrupt() error {
	p := filepath.Join(r.Dir, CheckpointFile)
	if err := r.Save(p); err != nil {
		return fmt.Errorf("%w at iteration %d, and saving the checkpoint failed: %v", ErrInterrupted, r.iter, err)
	}
	return fmt.Errorf("%w at iteration %d of %d; saved %s", ErrInterrupted, r.iter, r.Config.Train.Iterations, p)
}

// SnapshotPath is the snapshot of iteration it under dir/checkpoints.
func SnapshotPath(dir string, it int) string {
	return filepath.Join(dir, SnapshotDir, fmt.Sprintf("iter_%08d.safetensors", it))
}

// Bench times training iterations only (no evaluation, no files): warmup
// untimed steps, then iters timed ones; it returns ms per iteration.
func (r *Run) Bench(warmup, iters int) (float64, error) {
	if err := r.Steps(warmup); err != nil {
		return 0, err
	}
	start := time.Now()
	if err := r.Steps(iters); err != nil {
		return 0, err
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(iters), nil
}

// Steps runs n training steps without recording or saving anything (tests
// and studies that need a partly trained model).
func (r *Run) Steps(n int) error {
	for i := 0; i < n; i++ {
		if _, err := r.step(); err != nil {
			return err
		}
	}
	return nil
}

// lrSchedules returns θ's learning rate and the inner (posterior) one as
// functions of the iteration. θ's follows train.schedule after the warm-up.
// The inner one is by default inner_lr/lr times θ's, so that q anneals with
// θ; with train.inner_schedule it follows that schedule from inner_lr (or lr)
// after the same warm-up, so that q's steps need not shrink while the energy
// is still moving.
func lrSchedules(t config.TrainConfig) (theta, inner func(it int) float64) {
	warmed := func(name config.Schedule, base float64) func(it int) float64 {
		s, _ := optim.ScheduleByName(string(name)) // config.Validate rejected unknown names
		s = optim.WithWarmup(s, t.Warmup)
		return func(it int) float64 { return s(base, it, t.Iterations) }
	}
	theta = warmed(t.Schedule, t.LR)
	if t.InnerSchedule == "" {
		ratio := t.InnerLRBase() / t.LR
		return theta, func(it int) float64 { return theta(it) * ratio }
	}
	return theta, warmed(t.InnerSchedule, t.InnerLRBase())
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

func summary(rec Record, keys []string) string {
	s := ""
	for _, k := range keys {
		if v, ok := rec[k]; ok {
			s += fmt.Sprintf("%s %.5g  ", k, v)
		}
	}
	return s
}
