package train

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// Deep EBLVMs on images (Sec. 5.2): the deep EBLVM trained by BiMDSM (or
// BiDSM/BiSSM) with a Gaussian CNN posterior, and the fully visible ResNet
// EBM trained by MDSM (or DSM/SSM). A DeepRun is the image counterpart of
// Run: same run directory layout (config.yaml, metrics.jsonl,
// checkpoint.safetensors, checkpoints/iter_*.safetensors), same -resume.

// IsDeep reports whether a config describes a deep image model (DeepRun)
// rather than a GRBM (Run).
func IsDeep(cfg Config) bool { return cfg.Model.Deep() }

// DeepRun is a training run of a deep image model bound to its directory.
type DeepRun struct {
	Cfg   Config
	Dir   string
	Split *data.Split
	// Exactly one of EBLVM (deep_eblvm) and EBM (resnet_ebm) is set; Post
	// is the posterior of the deep EBLVM.
	EBLVM *model.DeepEBLVM
	EBM   *model.ResNetEBM
	Post  *model.CNNPosterior

	opts     Options
	thetaOpt *optim.Adam
	bilevel  *objective.BiLevel // deep_eblvm
	outer    objective.Outer
	progress
}

// NewDeep builds a deep run: loads the data, initialises model, posterior
// and optimizers, and with opts.Resume restores DIR/checkpoint.safetensors.
func NewDeep(cfg Config, dir string, opts Options) (*DeepRun, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !IsDeep(cfg) {
		return nil, fmt.Errorf("train: model %q is not a deep image model (use train.New)", cfg.Model.Kind)
	}
	split, err := data.Loader{Dir: cfg.Data.Dir}.Load(cfg.Data.Name, cfg.Seed)
	if err != nil {
		return nil, err
	}
	return NewDeepWithData(cfg, dir, opts, split)
}

// NewDeepWithData is NewDeep on a split already in memory (tests,
// subsets). Images must be [C,32,32].
func NewDeepWithData(cfg Config, dir string, opts Options, split *data.Split) (*DeepRun, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if !IsDeep(cfg) {
		return nil, fmt.Errorf("train: model %q is not a deep image model", cfg.Model.Kind)
	}
	s := split.Train.Shape
	if len(s) != 3 || s[1] != 32 || s[2] != 32 {
		return nil, fmt.Errorf("train: %s needs [C 32 32] images, the data have shape %v", cfg.Model.Kind, s)
	}
	r := &DeepRun{Cfg: cfg, Dir: dir, Split: split, opts: opts, progress: progress{rng: tensor.NewRNG(cfg.Seed)}}
	if err := setUp(cfg, dir, opts, &r.progress, r.build, r.loadCheckpoint); err != nil {
		return nil, err
	}
	return r, nil
}

// ResNetConfig returns the ResNet the config describes: MNISTResNet for one
// channel, CIFARResNet for three, at width model.ch (0: 64 and 128).
func (c Config) ResNetConfig(channels int) model.ResNetConfig {
	ch := c.Model.Ch
	if channels == 3 {
		if ch == 0 {
			ch = 128
		}
		return model.CIFARResNet(ch)
	}
	if ch == 0 {
		ch = 64
	}
	return model.MNISTResNet(ch)
}

func (r *DeepRun) build() error {
	cfg := r.Cfg
	shape := r.Split.Train.Shape
	initRNG := tensor.NewRNG(cfg.Seed ^ 0x5eed)
	res := cfg.ResNetConfig(shape[0])
	if err := res.Validate(); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	outer, err := cfg.Method.Outer()
	if err != nil {
		return err
	}
	r.outer = outer
	t := cfg.Train
	r.thetaOpt = optim.NewAdam(t.LR, t.Beta1, t.Beta2)
	switch cfg.Model.Kind {
	case "deep_eblvm":
		r.EBLVM = model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: res, H: cfg.Model.Hidden, F: cfg.Model.Features}, initRNG, tensor.Float32)
		r.Post = model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: shape[0], Height: shape[1], Width: shape[2],
			H: cfg.Model.Hidden, Ch: cfg.Model.PosteriorCh}, initRNG, tensor.Float32)
		qopt := optim.NewAdam(t.innerLR(), t.Beta1, t.Beta2)
		r.bilevel = &objective.BiLevel{Model: r.EBLVM, Posterior: r.Post, Outer: outer, K: cfg.Method.K, N: cfg.Method.N, InnerOpt: qopt}
		if cfg.Method.Unroll == "sgd" {
			r.bilevel.Unroll = func() optim.Unrolled { return optim.NewSGD(qopt.LR()).Unroll() }
		}
	case "resnet_ebm":
		r.EBM = model.NewResNetEBM(model.ResNetEBMConfig{ResNet: res, F: cfg.Model.Features, Bottleneck: cfg.Model.Bottleneck}, initRNG, tensor.Float32)
	default:
		return fmt.Errorf("train: unknown deep model %q", cfg.Model.Kind)
	}
	return nil
}

// ModelParams returns θ.
func (r *DeepRun) ModelParams() *nn.Params {
	if r.EBLVM != nil {
		return r.EBLVM.Params()
	}
	return r.EBM.Params()
}

// ImageShape is [C, H, W] of the training images.
func (r *DeepRun) ImageShape() []int { return r.Split.Train.Shape }

func (r *DeepRun) nextBatch(dst []float32) *tensor.Tensor {
	set := r.Split.Train
	b := r.Cfg.Train.BatchSize
	idx := r.nextIndices(set.N, b)
	return tensor.FromFloat32(set.Batch(idx, dst), append([]int{b}, set.Shape...)...)
}

// trainStep applies the schedule, draws a minibatch, computes θ's gradient
// (and for BiMDSM runs the posterior's K inner steps) and steps θ's
// optimizer.
func (r *DeepRun) trainStep(buf []float32) (stepStats, error) {
	lr := r.thetaLR(r.iter)
	r.thetaOpt.SetLR(lr)
	v := r.nextBatch(buf)
	st := stepStats{lr: lr, inner: nan, v: v}
	var err error
	r.inStep(func() {
		var grads []*tensor.Tensor
		if r.bilevel != nil {
			r.bilevel.InnerOpt.SetLR(r.innerLR(r.iter))
			res := r.bilevel.Step(v, r.rng)
			st.loss, st.inner, grads = res.Loss, res.InnerLoss, res.Grads
		} else {
			st.loss, grads = objective.MarginalStep(r.EBM, r.outer, v, r.rng)
		}
		err = checkFinite(st.loss, grads)
		if err == nil && r.Post != nil {
			for _, p := range r.Post.Params().Tensors() {
				if p.HasNaNOrInf() {
					err = fmt.Errorf("the posterior's parameters are not finite")
					break
				}
			}
		}
		if err == nil {
			r.thetaOpt.Step(r.ModelParams(), grads)
		}
	})
	if err != nil {
		return st, r.diverged(err)
	}
	r.iter++
	return st, nil
}

func (r *DeepRun) diverged(err error) error { return divergedAt(r.Dir, r.iter, err) }

// PosteriorFisher returns D_F(q(h|v) || p(h|v)) of Eq. 11 averaged over the
// images v [B,C,H,W] (one reparameterised h per image, noise from seed):
// the posterior's accuracy, the paper's Fig. 5 c-d. Unlike the inner loss
// BiMDSM optimises, it is unweighted and taken at clean images.
func (r *DeepRun) PosteriorFisher(v *tensor.Tensor, seed uint64) float64 {
	if r.EBLVM == nil {
		return nan
	}
	rng := tensor.NewRNG(seed)
	th, phi := r.EBLVM.Params().Consts(), r.Post.Params().Consts()
	x := ad.Const(v)
	var h *ad.Value
	ad.NoGrad(func() { h = ad.Const(r.Post.Sample(phi, x, rng).Tensor()) })
	per := objective.PosteriorFisher(model.EnergyGivenV(r.EBLVM, th, x), r.Post, phi, x, h)
	return ad.Mean(per, false).Item()
}

// Train runs until cfg.Train.Iterations. Every train.eval_every iterations
// (and at the end) it appends a record to metrics.jsonl: iter, elapsed_s
// (training time only), lr, train_loss and, for the deep EBLVM, inner_loss
// (the lower-level loss at φ^0 after the K real steps, as BiLevel.Step
// reports it: the Fisher form of Eq. 11 on the perturbed batch, weighted by
// 1/σ_i for BiMDSM) averaged over the interval, and posterior_fisher
// (PosteriorFisher on the current batch). Every train.checkpoint_every
// iterations and at the end it saves checkpoint.safetensors and a snapshot
// under checkpoints/.
func (r *DeepRun) Train() error {
	buf := make([]float32, r.Cfg.Train.BatchSize*r.Split.Train.Dim())
	l := loop{
		dir: r.Dir, cfg: r.Cfg, opts: r.opts, state: &r.progress,
		step:     func() (stepStats, error) { return r.trainStep(buf) },
		hasInner: r.bilevel != nil,
		record: func(rec map[string]any, last stepStats) error {
			if r.bilevel == nil {
				return nil
			}
			pf := r.PosteriorFisher(last.v, r.Cfg.Seed+uint64(r.iter))
			if math.IsNaN(pf) || math.IsInf(pf, 0) {
				return r.diverged(fmt.Errorf("posterior Fisher divergence is %v", pf))
			}
			rec["posterior_fisher"] = pf
			return nil
		},
		summaryKeys: []string{"train_loss", "inner_loss", "posterior_fisher"},
		logLabel:    "log",
		save:        r.SaveCheckpoint,
	}
	return l.run()
}

// BenchDeep times deep training iterations (no logging, no files) and
// returns ms per iteration.
func BenchDeep(cfg Config, warmup, iters int) (float64, error) {
	cfg.Train.Iterations = warmup + iters
	r, err := NewDeep(cfg, "", Options{})
	if err != nil {
		return 0, err
	}
	return r.bench(warmup, iters)
}

func (r *DeepRun) bench(warmup, iters int) (float64, error) {
	buf := make([]float32, r.Cfg.Train.BatchSize*r.Split.Train.Dim())
	return timeSteps(func() error { _, err := r.trainStep(buf); return err }, warmup, iters)
}

// ---- checkpoints ----

// A deep checkpoint is one safetensors file: θ under "model/", φ under
// "posterior/" (deep_eblvm), Adam's state under "optim/theta/" and
// "optim/posterior/", the epoch's permutation as "data/order"; the metadata
// holds format "bism-deep-v1", the model kind, the iteration, the training
// time, the data position and the random generator's state.

const deepFormat = "bism-deep-v1"

// SaveCheckpoint writes the run's full state to path atomically.
func (r *DeepRun) SaveCheckpoint(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	ts := map[string]checkpoint.Tensor{}
	putParams(ts, "model/", r.ModelParams())
	putOptim(ts, "optim/theta/", r.thetaOpt)
	if r.Post != nil {
		putParams(ts, "posterior/", r.Post.Params())
		putOptim(ts, "optim/posterior/", r.bilevel.InnerOpt)
	}
	meta := map[string]string{
		"format": deepFormat,
		"model":  r.Cfg.Model.Kind,
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

func checkDeepMeta(path string, meta map[string]string, kind string) error {
	if meta["format"] != deepFormat {
		return fmt.Errorf("%s is not a bism deep-model checkpoint (format %q)", path, meta["format"])
	}
	if meta["model"] != kind {
		return fmt.Errorf("%s holds a %s, the config describes a %s", path, meta["model"], kind)
	}
	return nil
}

func (r *DeepRun) loadCheckpoint(path string) error {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := checkDeepMeta(path, meta, r.Cfg.Model.Kind); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := getParams(ts, "model/", r.ModelParams(), path); err != nil {
		return err
	}
	if err := getOptim(ts, "optim/theta/", r.thetaOpt, path); err != nil {
		return err
	}
	if r.Post != nil {
		if err := getParams(ts, "posterior/", r.Post.Params(), path); err != nil {
			return err
		}
		if err := getOptim(ts, "optim/posterior/", r.bilevel.InnerOpt, path); err != nil {
			return err
		}
	}
	return r.restoreProgress(ts, meta, path, r.Split.Train.N)
}

// LoadModel reads only θ (and φ) from a checkpoint, for sampling and
// evaluation, and returns its iteration.
func (r *DeepRun) LoadModel(path string) (int, error) {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return 0, err
	}
	if err := checkDeepMeta(path, meta, r.Cfg.Model.Kind); err != nil {
		return 0, err
	}
	if err := getParams(ts, "model/", r.ModelParams(), path); err != nil {
		return 0, err
	}
	if r.Post != nil {
		if err := getParams(ts, "posterior/", r.Post.Params(), path); err != nil {
			return 0, err
		}
	}
	it, _ := strconv.Atoi(meta["iter"])
	return it, nil
}
