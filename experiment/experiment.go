package experiment

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// Experiment is one config made into a run: the data, the model and its
// posterior, the learning method, all wired into a train.Run, and what
// evaluation, sampling and figures need of them.
type Experiment struct {
	Config config.Config
	Dir    string
	Data   *data.Split
	Run    *train.Run

	// Model is the energy model: a *model.GRBM, *model.DeepEBLVM or
	// *model.ResNetEBM. Posterior is q(h|v; φ) for methods that learn one
	// (nil otherwise).
	Model     interface{ Params() *nn.Params }
	Posterior model.Posterior

	kind kind
}

// kind is what a model kind adds to the generic run.
type kind interface {
	// build makes the model, the method and the checkpoint layout.
	build(e *Experiment) (train.Method, train.Layout, error)
	// record adds the model's entries to a training metrics record; v is
	// the last step's batch.
	record(e *Experiment, rec train.Record, v *tensor.Tensor) error
	// figures draws the run's figures from its metrics and model.
	figures(e *Experiment) ([]string, error)
}

// Options adjust how an experiment is built.
type Options struct {
	// Data replaces the config's data set (tests, subsets); its examples
	// must have the data set's shape.
	Data *data.Split
	// Progress receives progress lines (nil: none).
	Progress io.Writer
	// FullState makes Open restore the whole training state (optimizers,
	// data order, random streams), not only the parameters: for studies
	// that continue from where training stood.
	FullState bool
	// Group, when it has several ranks, makes the run data-parallel: this
	// process trains on its rows of every global minibatch (train.Run's
	// Shard).
	Group *dist.Group
}

// New builds the experiment of cfg at iteration 0, writing to dir ("" for
// a run that writes nothing): it loads the data, initialises the model
// and method from the seed, and checks that the run fits in memory.
func New(cfg config.Config, dir string, o Options) (*Experiment, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	split := o.Data
	if split == nil {
		var err error
		if split, err = (data.Loader{Dir: cfg.Data.Dir}).Load(string(cfg.Data.Name), cfg.Seed); err != nil {
			return nil, err
		}
	}
	e := &Experiment{Config: cfg, Dir: dir, Data: split}
	if cfg.Model.Kind.Deep() {
		s := split.Train.Shape
		if len(s) != 3 || s[1] != 32 || s[2] != 32 {
			return nil, fmt.Errorf("experiment: %s needs [C 32 32] images, the data have shape %v", cfg.Model.Kind, s)
		}
		e.kind = &deep{}
	} else {
		e.kind = &grbm{}
	}
	method, layout, err := e.kind.build(e)
	if err != nil {
		return nil, err
	}
	e.Run = train.New(cfg, dir, split, e.Model.Params(), method, layout)
	if err := e.shard(o.Group); err != nil {
		return nil, err
	}
	// A GRBM's checkpoint is small: it is saved at every metrics record
	// (and a record is written at every snapshot). A deep model's is saved
	// at snapshots and at the end.
	e.Run.FlatInput, e.Run.SaveEveryRecord = !cfg.Model.Kind.Deep(), !cfg.Model.Kind.Deep()
	e.Run.Record = func(rec train.Record, v *tensor.Tensor) error {
		if b, ok := e.Run.Method.(*bilevel); ok {
			b.record(rec)
		}
		return e.kind.record(e, rec, v)
	}
	e.Run.Progress = o.Progress
	return e, nil
}

// Open rebuilds the experiment of the run in dir from its config.yaml
// (with overrides of keys that do not change the experiment, such as
// eval.*) and loads the parameters of checkpoint (dir's own when "").
// It returns the checkpoint's iteration.
func Open(dir, checkpoint string, overrides []string, o Options) (*Experiment, int, error) {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, 0, err
	}
	next := cfg
	if err := config.Override(&next, overrides); err != nil {
		return nil, 0, err
	}
	if err := config.CheckResume(cfg, next); err != nil {
		return nil, 0, fmt.Errorf("%s: %w", dir, err)
	}
	if err := next.Validate(); err != nil {
		return nil, 0, fmt.Errorf("config: %w", err)
	}
	e, err := New(next, dir, o)
	if err != nil {
		return nil, 0, err
	}
	if checkpoint == "" {
		checkpoint = filepath.Join(dir, train.CheckpointFile)
	}
	if o.FullState {
		if err := e.Run.Restore(checkpoint); err != nil {
			return nil, 0, err
		}
		return e, e.Run.Iter(), nil
	}
	iter, err := e.Run.LoadParams(checkpoint)
	if err != nil {
		return nil, 0, err
	}
	return e, iter, nil
}

// shard makes the run data-parallel over g's ranks (nothing for one
// rank). The methods that can be split by rows of the minibatch are those
// whose noise is drawn per example and whose gradient is a mean over
// examples: score matching on the marginal, CD, and the bi-level methods
// with unrolled inner steps.
func (e *Experiment) shard(g *dist.Group) error {
	s := dist.NewShard(g, e.Config.Train.BatchSize)
	if s == nil {
		return nil
	}
	m := e.Config.Method
	switch {
	case m.Name == config.PCD || m.Name == config.NCE || m.Name == config.VNCE:
		return fmt.Errorf("data-parallel training: %s is not supported (its chains or noise samples are not rows of the minibatch); run it as one process", m.Name)
	case m.Gradient == config.GradientImplicit:
		return fmt.Errorf("data-parallel training: the implicit gradient (method.gradient: implicit) is not supported; use the unrolled one or one process")
	case s.N < g.Size():
		return fmt.Errorf("data-parallel training: a batch of %d cannot be split across %d ranks", s.N, g.Size())
	}
	e.Run.Shard = s
	if b, ok := e.Run.Method.(*bilevel); ok {
		b.b.Shard = s
	}
	return nil
}

// ReadConfig reads the resolved config of the run in dir.
func ReadConfig(dir string) (config.Config, error) {
	p := filepath.Join(dir, train.ConfigFile)
	src, _, err := config.Read(p)
	if err != nil {
		if !train.HoldsRun(dir) {
			return config.Config{}, fmt.Errorf("%s holds no run (no %s): train one with bism train -out %s", dir, train.ConfigFile, dir)
		}
		return config.Config{}, err
	}
	return config.Parse(src, p, nil)
}

// outer is the method's score-matching objective with the config's noise
// settings; ok is false for methods without one.
func outer(m config.MethodConfig) (o objective.Outer, ok bool) {
	k, ok := m.Name.Score()
	return objective.Outer{Kind: k, Sigma: m.Sigma, SigmaBegin: m.SigmaBegin, SigmaEnd: m.SigmaEnd,
		Sigma0: m.Sigma0, Geometric: m.Geometric, GaussianSlices: m.GaussianSlices}, ok
}

// newBiLevel is Algorithm 1 for model m and posterior q with the config's
// K, N, unrolled optimizer (or implicit gradient) and inner Adam.
func newBiLevel(cfg config.Config, m model.EBLVM, q model.Posterior) *bilevel {
	o, _ := outer(cfg.Method)
	t := cfg.Train
	qopt := optim.NewAdam(t.InnerLRBase(), t.Beta1, t.Beta2)
	b := &objective.BiLevel{Model: m, Posterior: q, Outer: o, K: cfg.Method.K, N: cfg.Method.N, InnerOpt: qopt}
	m0 := cfg.Method
	switch {
	case m0.Gradient == config.GradientImplicit:
		im := ImplicitOf(m0)
		b.Implicit = &im
	case m0.Unroll == config.UnrollSGD:
		b.Unroll = func() optim.Unrolled { return optim.NewSGD(qopt.LR()).Unroll() }
	}
	return &bilevel{b: b, q: q}
}

// ImplicitOf returns the implicit gradient's settings of method m
// (method.draws, solver, solver_iters, solver_tol, damping).
func ImplicitOf(m config.MethodConfig) objective.Implicit {
	return objective.Implicit{Draws: m.Draws, Solver: objective.Solver(m.Solver), Iters: m.SolverIters, Tol: m.SolverTol, Damping: m.Damping}
}

// initRNG is the stream that initialises the model and posterior.
func initRNG(cfg config.Config) *tensor.RNG { return tensor.NewRNG(cfg.Seed ^ 0x5eed) }

// InnerOptimizer returns the posterior's optimizer of a bi-level run (nil
// otherwise).
func (e *Experiment) InnerOptimizer() optim.Optimizer {
	if b, ok := e.Run.Method.(*bilevel); ok {
		return b.b.InnerOpt
	}
	return nil
}

// BiLevel returns Algorithm 1 of a bi-level run (nil otherwise).
func (e *Experiment) BiLevel() *objective.BiLevel {
	if b, ok := e.Run.Method.(*bilevel); ok {
		return b.b
	}
	return nil
}

// Outer is the run's score-matching objective; ok is false for CD, PCD,
// NCE and VNCE.
func (e *Experiment) Outer() (objective.Outer, bool) { return outer(e.Config.Method) }

// Figures draws the run's figures from its metrics.jsonl and current
// parameters and returns the files written.
func (e *Experiment) Figures() ([]string, error) { return e.kind.figures(e) }
