package experiment

import (
	"cmp"
	"fmt"
	"io"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/eval"
)

// What a model offers evaluation and sampling. Each model kind implements
// the capabilities it has; Evaluate, Sample and Denoise use them and say
// plainly when the run's model has none.
type (
	// heldOutScorer: a normaliser that can be computed exactly or
	// estimated by AIS, and a tractable free energy, so held-out
	// log-likelihood and the Fisher metric (the GRBM).
	heldOutScorer interface {
		heldOut(e *Experiment, ll bool, progress func(done, total int), across eval.Ranks) (map[string]float64, error)
	}
	// sampleScorer: samples scored against the test set (FID, KID, class
	// scores) and a posterior probed (the deep models).
	sampleScorer interface {
		sampleScores(e *Experiment, o EvalOptions) (map[string]float64, error)
	}
	// sampler: draws samples of p(v) and draws them.
	sampler interface {
		sample(e *Experiment, o SampleOptions) ([]string, error)
	}
	// denoiser: chains started from noisy test images (the deep models).
	denoiser interface {
		denoise(e *Experiment, sigma float64, o SampleOptions) (string, error)
	}
)

// EvalOptions control Evaluate.
type EvalOptions struct {
	Progress io.Writer // progress lines (nil: none)

	// Deep models are scored by their samples:
	N     int    // samples for FID/KID (1000)
	Steps int    // Langevin steps per chain (0: the reference 2,700-step anneal)
	Seed  uint64 // sampling seed
	// ProbeN training and test images train and test the linear probe
	// of q's posterior means (10000; deep_eblvm).
	ProbeN int
	// Inception, when set, adds FID and KID with Inception-v3 pool3
	// features (fid_inception_NAME, kid_inception_NAME[_std]) on any data
	// set, against the first InceptionRef test images (all when 0).
	Inception    *eval.InceptionV3
	InceptionRef int
	// GridPrefix, when set, writes PNG grids of the first GridN (64)
	// scored samples, named as Sample names them; with N = GridN and the
	// same Steps and Seed they are the grids Sample draws.
	GridPrefix string
	GridN      int
	// Sampler is the marginal sampler ("": eval.sampler of the config,
	// else joint); the bi-level one is recorded as bilevel_sampler = 1.
	Sampler config.Sampler

	// Across, when set, splits the work over the processes of a
	// data-parallel group (every process calls Evaluate): AIS's chains, the
	// deep models' Langevin chains (the scores of the samples are then
	// computed by every process).
	Across dist.Comm
}

// Evaluate measures the run's current model. A GRBM gets held-out
// log-likelihood (exact or AIS, per eval.ll: test_ll, val_ll, log_z and
// for AIS log_z_stderr), the Fisher metric (test_fisher, val_fisher) and
// the model-selection loss val_loss. A deep model gets the scores of its
// samples (FID and KID, class scores, energies) and, for the deep EBLVM,
// of its posterior (linear-probe accuracy, test_posterior_fisher).
func (e *Experiment) Evaluate(o EvalOptions) (map[string]float64, error) {
	switch k := e.kind.(type) {
	case heldOutScorer:
		return k.heldOut(e, true, aisProgress(o.Progress), o.Across)
	case sampleScorer:
		o.N = cmp.Or(max(o.N, 0), 1000)
		o.ProbeN = cmp.Or(max(o.ProbeN, 0), 10000)
		o.GridN = cmp.Or(max(o.GridN, 0), 64)
		o.Sampler = cmp.Or(o.Sampler, e.Config.Eval.Sampler, config.SamplerJoint)
		if o.N < 2 {
			return nil, fmt.Errorf("evaluate: FID and KID need at least 2 samples, got %d", o.N)
		}
		return k.sampleScores(e, o)
	}
	return nil, fmt.Errorf("evaluate: model %s offers no evaluation", e.Config.Model.Kind)
}

// SampleOptions control Sample and Denoise.
type SampleOptions struct {
	N int // samples (64)
	// Steps is the length of each chain: Gibbs sweeps for a GRBM (1000
	// when 0), Langevin steps for a deep model (0: the reference 2,700).
	Steps    int
	Seed     uint64
	Prefix   string         // output path prefix (default RUN/samples, RUN/denoise_sSIGMA)
	Sampler  config.Sampler // deep models' marginal sampler ("": eval.sampler, else joint)
	Progress io.Writer
}

func (o SampleOptions) withDefaults(e *Experiment, prefix string) SampleOptions {
	o.N = cmp.Or(max(o.N, 0), 64)
	if o.Steps == 0 && !e.Config.Model.Kind.Deep() {
		o.Steps = 1000
	}
	o.Prefix = cmp.Or(o.Prefix, e.path(prefix))
	o.Sampler = cmp.Or(o.Sampler, e.Config.Eval.Sampler, config.SamplerJoint)
	return o
}

// Sample draws samples of the model's marginal p(v) and writes them as
// PNG figures: image grids (a GRBM by block Gibbs sampling, a deep model
// by annealed Langevin dynamics; the deep EBLVM also "via q"), or for 2-D
// data the samples over the learned density. It returns the files written.
func (e *Experiment) Sample(o SampleOptions) ([]string, error) {
	s, ok := e.kind.(sampler)
	if !ok {
		return nil, fmt.Errorf("sample: model %s cannot be sampled", e.Config.Model.Kind)
	}
	return s.sample(e, o.withDefaults(e, "samples"))
}

// Denoise runs the model's Langevin chains from o.N test images noised
// with N(0, σ²), entering the anneal at the temperature that matches σ (a
// diagnostic of the energy between σ0 and σ), and writes the clean, noisy
// and denoised images as one grid. It returns the file written.
func (e *Experiment) Denoise(sigma float64, o SampleOptions) (string, error) {
	d, ok := e.kind.(denoiser)
	if !ok {
		return "", fmt.Errorf("denoise: model %s has no Langevin sampler (denoising needs a deep model)", e.Config.Model.Kind)
	}
	if !(sigma > 0) {
		return "", fmt.Errorf("denoise: the noise level must be positive, got %g", sigma)
	}
	o.Sampler = config.SamplerJoint
	return d.denoise(e, sigma, o.withDefaults(e, fmt.Sprintf("denoise_s%g", sigma)))
}

// aisProgress prints AIS's progress every tenth of the temperatures.
func aisProgress(w io.Writer) func(done, total int) {
	if w == nil {
		return nil
	}
	last := -1
	return func(done, total int) {
		pct := done * 100 / total
		if pct/10 != last/10 || done == total {
			fmt.Fprintf(w, "AIS %d/%d temperatures\n", done, total)
			last = pct
		}
	}
}
