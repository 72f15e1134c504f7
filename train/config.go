package train

import (
	"bytes"
	"cmp"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
)

// Config is a fully resolved experiment: what the YAML files under configs/
// describe. It is parsed and validated at the edge (see package config) and
// passed down as typed values.
type Config struct {
	Seed   uint64       `yaml:"seed" json:"seed"`
	Data   DataConfig   `yaml:"data" json:"data"`
	Model  ModelConfig  `yaml:"model" json:"model"`
	Method MethodConfig `yaml:"method" json:"method"`
	Train  TrainConfig  `yaml:"train" json:"train"`
	Eval   EvalConfig   `yaml:"eval" json:"eval"`
}

// DataConfig names the data set.
type DataConfig struct {
	Name string `yaml:"name" json:"name"` // checkerboard, frey, mnist, fashion-mnist, cifar10
	Dir  string `yaml:"dir" json:"dir"`   // data root; "" means $BISM_DATA or ../shared/datasets
}

// ModelConfig describes the model: the GRBM, or a deep model on images
// (deep_eblvm, the deep EBLVM of Sec. 5.2; resnet_ebm, its fully visible
// MDSM baseline).
type ModelConfig struct {
	Kind        string `yaml:"kind" json:"kind"`                 // grbm, deep_eblvm, resnet_ebm
	Hidden      int    `yaml:"hidden" json:"hidden"`             // H
	ScalarSigma bool   `yaml:"scalar_sigma" json:"scalar_sigma"` // the paper's parameterisation
	// Deep models only (0 selects the spec's value): the ResNet width Ch
	// (64 on MNIST, 128 on CIFAR-10), the width F of the last linear layer
	// (OutDim/2) and the CNN posterior's first-layer channels (64).
	Ch          int `yaml:"ch" json:"ch"`
	Features    int `yaml:"features" json:"features"`
	PosteriorCh int `yaml:"posterior_ch" json:"posterior_ch"`
	// Bottleneck (resnet_ebm only; 0: none) inserts a linear layer to this
	// many features between the ResNet and the output layer, the deep
	// EBLVM's g1 width: an ablation, not the spec's baseline.
	Bottleneck int `yaml:"bottleneck" json:"bottleneck"`
}

// Deep reports whether the model is one of the deep image models.
func (m ModelConfig) Deep() bool { return m.Kind == "deep_eblvm" || m.Kind == "resnet_ebm" }

// IsImageData reports whether a data set name is one of the image sets the
// deep models train on.
func IsImageData(name string) bool {
	return name == "mnist" || name == "fashion-mnist" || name == "cifar10"
}

// MethodConfig selects the learning method and its settings.
type MethodConfig struct {
	// Name: bissm, bidsm, bimdsm, bism (exact trace), sm, ssm, dsm, mdsm,
	// cd, pcd, nce, vnce.
	Name string `yaml:"name" json:"name"`
	K    int    `yaml:"k" json:"k"` // inner steps (BiSM, VNCE) or Gibbs steps (CD, PCD)
	N    int    `yaml:"n" json:"n"` // unrolled steps (BiSM)
	// Unroll is the differentiable inner optimizer: adam (continuing from
	// the real optimizer's state, the reference's behaviour) or sgd (the
	// paper's Eqs. 12-13).
	Unroll         string  `yaml:"unroll" json:"unroll"`
	Sigma          float64 `yaml:"sigma" json:"sigma"` // DSM noise
	SigmaBegin     float64 `yaml:"sigma_begin" json:"sigma_begin"`
	SigmaEnd       float64 `yaml:"sigma_end" json:"sigma_end"`
	Sigma0         float64 `yaml:"sigma0" json:"sigma0"`
	Geometric      bool    `yaml:"geometric" json:"geometric"`
	GaussianSlices bool    `yaml:"gaussian_slices" json:"gaussian_slices"`
	Chains         int     `yaml:"chains" json:"chains"`       // PCD persistent chains
	Particles      int     `yaml:"particles" json:"particles"` // VNCE importance particles
}

// TrainConfig sets the optimisation.
type TrainConfig struct {
	Iterations int     `yaml:"iterations" json:"iterations"`
	BatchSize  int     `yaml:"batch_size" json:"batch_size"`
	LR         float64 `yaml:"lr" json:"lr"`
	InnerLR    float64 `yaml:"inner_lr" json:"inner_lr"` // 0 means lr
	Beta1      float64 `yaml:"beta1" json:"beta1"`
	Beta2      float64 `yaml:"beta2" json:"beta2"`
	Schedule   string  `yaml:"schedule" json:"schedule"` // constant, cosine
	// InnerSchedule gives the inner optimizer's learning rate (q's; for NCE
	// and VNCE also the log-normaliser's, as inner_lr) a schedule of its
	// own, from inner_lr (or lr), after the same warm-up: constant or cosine.
	// "" (the default) keeps it at inner_lr/lr times θ's, so that it anneals
	// with θ's.
	InnerSchedule string `yaml:"inner_schedule" json:"inner_schedule"`
	// Warmup scales the learning rate linearly up over the first Warmup
	// iterations, at most the whole run (0: none, as the reference code).
	Warmup          int `yaml:"warmup" json:"warmup"`
	EvalEvery       int `yaml:"eval_every" json:"eval_every"`
	CheckpointEvery int `yaml:"checkpoint_every" json:"checkpoint_every"`
}

// EvalConfig sets what is measured during and after training.
type EvalConfig struct {
	// LL: exact (enumerate h; small H), ais, or none.
	LL        string `yaml:"ll" json:"ll"`
	AISChains int    `yaml:"ais_chains" json:"ais_chains"`
	AISBetas  int    `yaml:"ais_betas" json:"ais_betas"`
	// LLDuringTraining computes the log-likelihood at every evaluation
	// (cheap when exact; AIS is normally left to `bism eval`).
	LLDuringTraining bool `yaml:"ll_during_training" json:"ll_during_training"`
	// Fisher computes the SSM metric on the test (and validation) set.
	Fisher bool `yaml:"fisher" json:"fisher"`
	// Grid is the resolution of 2-D density plots.
	Grid int `yaml:"grid" json:"grid"`
	// Sampler is the marginal sampler `bism sample` uses on a deep model
	// when -marginal-sampler is not given: "" or joint (the spec's) or
	// bilevel (deep_eblvm only; docs/DEEP.md).
	Sampler string `yaml:"sampler" json:"sampler"`
}

// Defaults returns the defaults every config starts from (batch 100, Adam
// betas (0.9, 0.95), constant schedule).
func Defaults() Config {
	return Config{
		Seed:   1234,
		Data:   DataConfig{Name: "checkerboard"},
		Model:  ModelConfig{Kind: "grbm", Hidden: 4},
		Method: MethodConfig{Name: "bissm", K: 5, N: 5, Unroll: "adam", Sigma: 0.05, Sigma0: 0.1, Chains: 100, Particles: 5},
		Train: TrainConfig{Iterations: 100000, BatchSize: 100, LR: 1e-3, Beta1: 0.9, Beta2: 0.95,
			Schedule: "constant", EvalEvery: 1000, CheckpointEvery: 0},
		Eval: EvalConfig{LL: "exact", AISChains: 2000, AISBetas: 2000, LLDuringTraining: true, Fisher: true, Grid: 200},
	}
}

// Bilevel reports whether the method is a bi-level score-matching method.
func (m MethodConfig) Bilevel() bool { return strings.HasPrefix(m.Name, "bi") }

// Outer returns the score-matching objective the method uses (for BiSM,
// its upper level).
func (m MethodConfig) Outer() (objective.Outer, error) {
	name := strings.TrimPrefix(m.Name, "bi")
	if name == "sm" || name == "ism" { // "bism" is BiSM with the exact trace
		name = "sm"
	}
	k, err := objective.ParseKind(name)
	if err != nil {
		return objective.Outer{}, err
	}
	return objective.Outer{Kind: k, Sigma: m.Sigma, SigmaBegin: m.SigmaBegin, SigmaEnd: m.SigmaEnd,
		Sigma0: m.Sigma0, Geometric: m.Geometric, GaussianSlices: m.GaussianSlices}, nil
}

var methods = map[string]bool{"bism": true, "bissm": true, "bidsm": true, "bimdsm": true, "sm": true, "ssm": true,
	"dsm": true, "mdsm": true, "cd": true, "pcd": true, "nce": true, "vnce": true}

// innerLR is the inner optimizer's base learning rate: inner_lr, else lr.
func (t TrainConfig) innerLR() float64 { return cmp.Or(t.InnerLR, t.LR) }

// Validate checks every field and returns an error naming the first bad one.
func (c *Config) Validate() error {
	bad := func(key string, format string, args ...any) error {
		return fmt.Errorf("config: %s: %s", key, fmt.Sprintf(format, args...))
	}
	switch c.Data.Name {
	case "checkerboard", "frey", "mnist", "fashion-mnist", "cifar10":
	default:
		return bad("data.name", "unknown data set %q (want checkerboard, frey, mnist, fashion-mnist or cifar10)", c.Data.Name)
	}
	switch c.Model.Kind {
	case "grbm":
	case "deep_eblvm", "resnet_ebm":
		if err := c.validateDeep(bad); err != nil {
			return err
		}
	default:
		return bad("model.kind", "unknown model %q (want grbm, deep_eblvm or resnet_ebm)", c.Model.Kind)
	}
	if c.Model.Hidden < 1 {
		return bad("model.hidden", "must be at least 1, got %d", c.Model.Hidden)
	}
	if c.Model.Bottleneck < 0 || (c.Model.Bottleneck > 0 && c.Model.Kind != "resnet_ebm") {
		return bad("model.bottleneck", "is a resnet_ebm option and must be non-negative, got %d for %s", c.Model.Bottleneck, c.Model.Kind)
	}
	m := c.Method
	if !methods[m.Name] {
		return bad("method.name", "unknown method %q (want one of bissm, bidsm, bimdsm, bism, sm, ssm, dsm, mdsm, cd, pcd, nce, vnce)", m.Name)
	}
	if m.K < 0 || m.N < 0 {
		return bad("method.k/method.n", "must be non-negative, got k=%d n=%d", m.K, m.N)
	}
	if (m.Name == "cd" || m.Name == "pcd") && m.K < 1 {
		return bad("method.k", "CD and PCD need at least one Gibbs step, got %d", m.K)
	}
	if m.Unroll != "adam" && m.Unroll != "sgd" {
		return bad("method.unroll", "unknown unrolled optimizer %q (want adam or sgd)", m.Unroll)
	}
	if strings.HasSuffix(m.Name, "dsm") && !strings.HasSuffix(m.Name, "mdsm") && !(m.Sigma > 0) {
		return bad("method.sigma", "DSM needs a positive noise level, got %v", m.Sigma)
	}
	if strings.HasSuffix(m.Name, "mdsm") && !(m.SigmaBegin > 0 && m.SigmaEnd > 0 && m.Sigma0 > 0) {
		return bad("method.sigma_begin/sigma_end/sigma0", "MDSM needs positive noise levels")
	}
	if m.Name == "pcd" && m.Chains < 1 {
		return bad("method.chains", "PCD needs at least one chain, got %d", m.Chains)
	}
	if m.Name == "vnce" && m.Particles < 1 {
		return bad("method.particles", "VNCE needs at least one particle, got %d", m.Particles)
	}
	t := c.Train
	if t.Iterations < 1 {
		return bad("train.iterations", "must be at least 1, got %d", t.Iterations)
	}
	if t.BatchSize < 1 {
		return bad("train.batch_size", "must be at least 1, got %d", t.BatchSize)
	}
	if !(t.LR > 0) || t.InnerLR < 0 {
		return bad("train.lr", "learning rates must be positive, got lr=%v inner_lr=%v", t.LR, t.InnerLR)
	}
	if !(t.Beta1 >= 0 && t.Beta1 < 1 && t.Beta2 >= 0 && t.Beta2 < 1) {
		return bad("train.beta1/beta2", "must lie in [0, 1), got %v, %v", t.Beta1, t.Beta2)
	}
	if t.Schedule != "constant" && t.Schedule != "cosine" {
		return bad("train.schedule", "unknown schedule %q (want constant or cosine)", t.Schedule)
	}
	if t.InnerSchedule != "" {
		if _, err := optim.ScheduleByName(t.InnerSchedule); err != nil {
			return bad("train.inner_schedule", "%v, or leave it unset to follow train.schedule", err)
		}
	}
	if t.Warmup < 0 {
		return bad("train.warmup", "must be non-negative, got %d", t.Warmup)
	}
	if t.EvalEvery < 0 || t.CheckpointEvery < 0 {
		return bad("train.eval_every/checkpoint_every", "must be non-negative")
	}
	if err := CheckSampler(c.Eval.Sampler, c.Model.Kind); err != nil {
		return bad("eval.sampler", "%v", err)
	}
	if c.Model.Deep() {
		return nil // eval.ll and eval.fisher are GRBM metrics; deep runs are evaluated by sampling
	}
	switch c.Eval.LL {
	case "exact":
		if c.Model.Hidden > 20 {
			return bad("eval.ll", "exact log-likelihood enumerates 2^H states; H=%d is too large, use ais", c.Model.Hidden)
		}
	case "ais":
		if c.Eval.AISChains < 1 || c.Eval.AISBetas < 2 {
			return bad("eval.ais_chains/ais_betas", "need at least 1 chain and 2 temperatures")
		}
	case "none":
	default:
		return bad("eval.ll", "unknown log-likelihood method %q (want exact, ais or none)", c.Eval.LL)
	}
	return nil
}

// validateDeep checks the combinations the deep image models accept.
func (c *Config) validateDeep(bad func(string, string, ...any) error) error {
	if !IsImageData(c.Data.Name) {
		return bad("data.name", "model %s needs 32x32 images (mnist, fashion-mnist or cifar10), got %q", c.Model.Kind, c.Data.Name)
	}
	if c.Model.Ch < 0 || c.Model.Features < 0 || c.Model.PosteriorCh < 0 {
		return bad("model.ch/features/posterior_ch", "must be non-negative (0 selects the spec's value), got %d, %d, %d",
			c.Model.Ch, c.Model.Features, c.Model.PosteriorCh)
	}
	if c.Model.ScalarSigma {
		return bad("model.scalar_sigma", "is a GRBM option; model %s has no sigma", c.Model.Kind)
	}
	m := c.Method.Name
	switch c.Model.Kind {
	case "deep_eblvm":
		if m != "bimdsm" && m != "bidsm" && m != "bissm" {
			return bad("method.name", "model deep_eblvm trains with bimdsm, bidsm or bissm, got %q (%s)", m, deepMethodHint(m))
		}
	case "resnet_ebm":
		if m != "mdsm" && m != "dsm" && m != "ssm" {
			return bad("method.name", "model resnet_ebm (fully visible) trains with mdsm, dsm or ssm, got %q (%s)", m, deepMethodHint(m))
		}
	}
	if c.Method.Unroll != "adam" && c.Method.Unroll != "sgd" {
		return bad("method.unroll", "unknown unrolled optimizer %q (want adam or sgd)", c.Method.Unroll)
	}
	return nil
}

func deepMethodHint(m string) string {
	switch m {
	case "cd", "pcd", "nce", "vnce":
		return m + " needs a GRBM (Gibbs sampling or a tractable normaliser)"
	case "sm", "bism":
		return "exact score matching needs a D x D Hessian trace, too costly on images"
	case "mdsm", "dsm", "ssm":
		return "marginal score matching needs a free energy: use model.kind resnet_ebm"
	case "bimdsm", "bidsm", "bissm":
		return "bi-level methods need latent variables: use model.kind deep_eblvm"
	}
	return "unknown method"
}

// MarshalConfig renders a config as YAML (the resolved config of a run).
func MarshalConfig(c Config) ([]byte, error) { return yaml.Marshal(c) }

// UnmarshalConfig parses a resolved config written by MarshalConfig, strictly.
func UnmarshalConfig(b []byte) (Config, error) {
	c := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("config: %v", err)
	}
	return c, c.Validate()
}
