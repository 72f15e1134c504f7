package config

import (
	"cmp"

	"gopkg.in/yaml.v3"
)

// Config is a fully resolved experiment: what the YAML files under configs/
// describe. Every field is a key (its dotted yaml path, e.g.
// train.batch_size); the doc tag is the key's one-line description in
// `bism keys`, and unset marks a text key whose empty value means "not
// set".
type Config struct {
	Seed   uint64       `yaml:"seed" json:"seed" doc:"seed of every random draw: initialisation, minibatches, noise"`
	Data   DataConfig   `yaml:"data" json:"data"`
	Model  ModelConfig  `yaml:"model" json:"model"`
	Method MethodConfig `yaml:"method" json:"method"`
	Train  TrainConfig  `yaml:"train" json:"train"`
	Eval   EvalConfig   `yaml:"eval" json:"eval"`
}

// DataConfig names the data set.
type DataConfig struct {
	Name DataSet `yaml:"name" json:"name" doc:"data set"`
	Dir  string  `yaml:"dir" json:"dir" doc:"data root folder" unset:"-data, else $BISM_DATA, else the user data folder"`
}

// ModelConfig describes the model.
type ModelConfig struct {
	Kind        ModelKind `yaml:"kind" json:"kind" doc:"model"`
	Hidden      int       `yaml:"hidden" json:"hidden" doc:"latent units H"`
	ScalarSigma bool      `yaml:"scalar_sigma" json:"scalar_sigma" doc:"GRBM: one σ for every visible unit (the paper's parameterisation)"`
	Ch          int       `yaml:"ch" json:"ch" doc:"deep models: ResNet width (0: 64 on MNIST, 128 on CIFAR-10)"`
	Features    int       `yaml:"features" json:"features" doc:"deep models: width of the last linear layer (0: half the flattened ResNet output)"`
	PosteriorCh int       `yaml:"posterior_ch" json:"posterior_ch" doc:"deep_eblvm: channels of the CNN posterior's first layer (0: 64)"`
	Bottleneck  int       `yaml:"bottleneck" json:"bottleneck" doc:"resnet_ebm: linear layer of this width before the output (0: none; an ablation)"`
}

// MethodConfig selects the learning method and its settings.
type MethodConfig struct {
	Name           Method   `yaml:"name" json:"name" doc:"learning method"`
	K              int      `yaml:"k" json:"k" doc:"inner steps kept per iteration (BiSM, VNCE) or Gibbs steps (CD, PCD)"`
	N              int      `yaml:"n" json:"n" doc:"BiSM: unrolled differentiable inner steps"`
	Unroll         Unroll   `yaml:"unroll" json:"unroll" doc:"BiSM: optimizer of the unrolled steps" unset:"none (method.gradient implicit)"`
	Gradient       Gradient `yaml:"gradient" json:"gradient" doc:"BiSM: θ's gradient through φ*(θ), by unrolling n steps or by the implicit function theorem" unset:"unroll"`
	Solver         Solver   `yaml:"solver" json:"solver" doc:"BiSM implicit: linear solver of the Hessian system" unset:"minres"`
	SolverIters    int      `yaml:"solver_iters" json:"solver_iters" doc:"BiSM implicit: the solver's iteration limit"`
	SolverTol      float64  `yaml:"solver_tol" json:"solver_tol" doc:"BiSM implicit: the solver's relative tolerance"`
	Draws          int      `yaml:"draws" json:"draws" doc:"BiSM implicit: draws of q's noise averaged in the inner loss's Hessian"`
	Damping        float64  `yaml:"damping" json:"damping" doc:"BiSM implicit: λ added to the Hessian (minres needs none; cg needs λ > 0)"`
	Sigma          float64  `yaml:"sigma" json:"sigma" doc:"DSM: noise level σ"`
	SigmaBegin     float64  `yaml:"sigma_begin" json:"sigma_begin" doc:"MDSM: smallest noise level"`
	SigmaEnd       float64  `yaml:"sigma_end" json:"sigma_end" doc:"MDSM: largest noise level"`
	Sigma0         float64  `yaml:"sigma0" json:"sigma0" doc:"MDSM: the target's fixed noise level σ0"`
	Geometric      bool     `yaml:"geometric" json:"geometric" doc:"MDSM: space the noise levels geometrically"`
	GaussianSlices bool     `yaml:"gaussian_slices" json:"gaussian_slices" doc:"SSM: Gaussian instead of Rademacher projections"`
	Chains         int      `yaml:"chains" json:"chains" doc:"PCD: persistent chains"`
	Particles      int      `yaml:"particles" json:"particles" doc:"VNCE: importance particles"`
}

// TrainConfig sets the optimisation.
type TrainConfig struct {
	Iterations int      `yaml:"iterations" json:"iterations" doc:"training iterations"`
	BatchSize  int      `yaml:"batch_size" json:"batch_size" doc:"minibatch size"`
	LR         float64  `yaml:"lr" json:"lr" doc:"θ's Adam learning rate"`
	InnerLR    float64  `yaml:"inner_lr" json:"inner_lr" doc:"q's (and NCE's log-normaliser's) learning rate (0: lr)"`
	Beta1      float64  `yaml:"beta1" json:"beta1" doc:"Adam β1"`
	Beta2      float64  `yaml:"beta2" json:"beta2" doc:"Adam β2"`
	Schedule   Schedule `yaml:"schedule" json:"schedule" doc:"θ's learning-rate schedule"`
	// InnerSchedule gives the inner learning rate a schedule of its own from
	// inner_lr (or lr) after the same warm-up; unset, it stays inner_lr/lr
	// times θ's, annealing with it.
	InnerSchedule   Schedule `yaml:"inner_schedule" json:"inner_schedule" doc:"the inner learning rate's own schedule" unset:"inner_lr/lr times θ's rate"`
	Warmup          int      `yaml:"warmup" json:"warmup" doc:"iterations of linear learning-rate warm-up (0: none)"`
	EvalEvery       int      `yaml:"eval_every" json:"eval_every" doc:"iterations between metrics records (0: at the end only)"`
	CheckpointEvery int      `yaml:"checkpoint_every" json:"checkpoint_every" doc:"iterations between snapshots under checkpoints/ (0: none)"`
}

// EvalConfig sets what is measured during and after training.
type EvalConfig struct {
	LL               LL      `yaml:"ll" json:"ll" doc:"GRBM log-likelihood estimator"`
	AISChains        int     `yaml:"ais_chains" json:"ais_chains" doc:"AIS: chains"`
	AISBetas         int     `yaml:"ais_betas" json:"ais_betas" doc:"AIS: temperatures"`
	LLDuringTraining bool    `yaml:"ll_during_training" json:"ll_during_training" doc:"GRBM: log-likelihood in every metrics record"`
	Fisher           bool    `yaml:"fisher" json:"fisher" doc:"GRBM: Fisher (SSM) metric on the test and validation sets"`
	Grid             int     `yaml:"grid" json:"grid" doc:"resolution of 2-D density plots"`
	Sampler          Sampler `yaml:"sampler" json:"sampler" doc:"deep models: marginal sampler of bism sample and bism eval" unset:"joint"`
}

// Defaults returns the values every config starts from: batch 100, Adam
// betas (0.9, 0.95), a constant schedule, the checkerboard GRBM with BiSSM.
func Defaults() Config {
	return Config{
		Seed:  1234,
		Data:  DataConfig{Name: Checkerboard},
		Model: ModelConfig{Kind: GRBM, Hidden: 4},
		Method: MethodConfig{Name: BiSSM, K: 5, N: 5, Unroll: UnrollAdam, Gradient: GradientUnroll,
			Solver: SolverMINRES, SolverIters: 10, SolverTol: 1e-3, Draws: 10, Sigma: 0.05, Sigma0: 0.1, Chains: 100, Particles: 5},
		Train: TrainConfig{Iterations: 100000, BatchSize: 100, LR: 1e-3, Beta1: 0.9, Beta2: 0.95,
			Schedule: Constant, EvalEvery: 1000},
		Eval: EvalConfig{LL: LLExact, AISChains: 2000, AISBetas: 2000, LLDuringTraining: true, Fisher: true, Grid: 200},
	}
}

// InnerLRBase is the inner optimizer's base learning rate: inner_lr, else lr.
func (t TrainConfig) InnerLRBase() float64 { return cmp.Or(t.InnerLR, t.LR) }

// Marshal renders a config as YAML (a run's config.yaml).
func Marshal(c Config) ([]byte, error) { return yaml.Marshal(c) }
