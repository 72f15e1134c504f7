package train

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

// LangevinConfig returns the reference sampler (sample.Default: 500 + 2000
// + 200 steps) with every step count multiplied by scale (each at least 1),
// for quick looks at a shorter anneal; scale 1 is the reference schedule.
func LangevinConfig(scale float64) sample.Config {
	c := sample.Default()
	if scale == 1 {
		return c
	}
	s := func(n int) int { return max(1, int(math.Round(float64(n)*scale))) }
	c.HoldSteps, c.DecaySteps, c.FinalSteps = s(c.HoldSteps), s(c.DecaySteps), s(c.FinalSteps)
	return c
}

// samplerConfig is LangevinConfig(scale) with the final denoising step's σ0
// taken from the run's method.sigma0 (the noise level whose score the energy
// matches at T = 1), when set.
func (r *DeepRun) samplerConfig(scale float64) sample.Config {
	c := LangevinConfig(scale)
	if s0 := r.Cfg.Method.Sigma0; s0 > 0 {
		c.Sigma0 = s0
	}
	return c
}

// sampleChunk bounds the chains (or images) run through the net at once
// (memory).
const sampleChunk = 100

// inChunks applies f to rows [lo, hi) of n in chunks of at most sampleChunk
// and concatenates the results along the first axis.
func inChunks(n int, f func(lo, hi int) *tensor.Tensor) *tensor.Tensor {
	return inChunksOf(n, sampleChunk, f)
}

// inChunksOf is inChunks with chunks of at most size rows.
func inChunksOf(n, size int, f func(lo, hi int) *tensor.Tensor) *tensor.Tensor {
	var parts []*tensor.Tensor
	for lo := 0; lo < n; lo += size {
		parts = append(parts, f(lo, min(lo+size, n)))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return tensor.Concat(0, parts...)
}

// SampleMarginal draws n samples v ~ p(v) [n,C,H,W] by annealed Langevin
// dynamics: on E(v) for the fully visible ResNet EBM; for the deep EBLVM on
// the joint energy E(v,h) over (v, h) together (SampleJoint), keeping v,
// which samples the marginal p(v) without needing the free energy.
func (r *DeepRun) SampleMarginal(n int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	shape := r.ImageShape()
	if r.EBLVM != nil {
		d := shape[0] * shape[1] * shape[2]
		return tensor.Slice(r.SampleJoint(n, cfg, rng), 1, 0, d).Reshape(append([]int{n}, shape...)...) // Slice copies
	}
	e := r.ebmEnergy()
	return chainsFromNoise(n, shape, func(int) sample.EnergyFn { return e }, cfg, rng)
}

// chainsFromNoise runs n annealed-Langevin chains in chunks (inChunks): a
// chunk of k chains starts at InitMean + InitStd·N(0,1) of shape [k, rest...]
// drawn from rng, which also gives the Langevin noise, and moves on
// energy(k). It returns where the chains end.
func chainsFromNoise(n int, rest []int, energy func(k int) sample.EnergyFn, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	return inChunks(n, func(lo, hi int) *tensor.Tensor {
		x0 := rng.Normal(tensor.Float32, cfg.InitMean, cfg.InitStd, append([]int{hi - lo}, rest...)...)
		return sample.LangevinFrom(energy(hi-lo), x0, cfg, rng)
	})
}

// ebmEnergy is the fully visible ResNet EBM's E(v), parameters held constant.
func (r *DeepRun) ebmEnergy() sample.EnergyFn {
	th := r.EBM.Params().Consts()
	return func(v *ad.Value) *ad.Value { return r.EBM.FreeEnergy(th, v) }
}

// Marginal samplers of the deep EBLVM (DeepSampleOptions.Sampler,
// DeepEvalOptions.Sampler).
const (
	// SamplerJoint is the spec's: annealed Langevin on E(v,h) over v and
	// h together (SampleMarginal). The default ("" means it too).
	SamplerJoint = "joint"
	// SamplerBiLevel runs the same anneal on v alone, driven by the
	// bi-level score (SampleMarginalBiLevel). Not in the spec.
	SamplerBiLevel = "bilevel"
)

// marginalLabel names the marginal chains in progress lines.
func marginalLabel(sampler string) string {
	if sampler == SamplerBiLevel {
		return "marginal, bilevel sampler"
	}
	return "marginal"
}

// qSeedOffset separates the bi-level sampler's draws of h from the chains'
// own stream: for seed s, the chains use s and q's draws s + qSeedOffset.
const qSeedOffset = 1000

// CheckSampler rejects an unknown marginal sampler, or the bi-level one on
// a model kind without latents (anything but deep_eblvm). Config
// validation (eval.sampler) and the samplers share it.
func CheckSampler(name, kind string) error {
	switch name {
	case "", SamplerJoint:
		return nil
	case SamplerBiLevel:
		if kind != "deep_eblvm" {
			return fmt.Errorf("the %s sampler needs latents (model.kind deep_eblvm); model %s has none (use %s)", SamplerBiLevel, kind, SamplerJoint)
		}
		return nil
	}
	return fmt.Errorf("unknown marginal sampler %q (want %s or %s)", name, SamplerJoint, SamplerBiLevel)
}

func (r *DeepRun) checkSampler(name string) error {
	if err := CheckSampler(name, r.Cfg.Model.Kind); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

// sampleMarginalWith draws n marginal samples with the named sampler
// (checked by checkSampler); seed seeds the bi-level sampler's draws of h.
func (r *DeepRun) sampleMarginalWith(name string, n int, cfg sample.Config, rng *tensor.RNG, seed uint64) *tensor.Tensor {
	if name == SamplerBiLevel {
		return r.SampleMarginalBiLevel(n, cfg, rng, tensor.NewRNG(seed+qSeedOffset))
	}
	return r.SampleMarginal(n, cfg, rng)
}

// SampleMarginalBiLevel draws n samples v ~ p(v) [n,C,H,W] of the deep
// EBLVM by annealed Langevin on v alone, driven by the score BiMDSM
// matched: -∇_v[E(v,h) + log q(h|v)] with a fresh h ~ q(h|v) (from qrng)
// at every step and at the final denoising step (objective.BiEnergy). When
// q is the true posterior this is the marginal score ∇_v log p(v) for
// every h, so the chains target p(v) as the joint sampler's do, without
// moving latents; with an approximate q they follow the score the model
// was trained to match. Chains start at InitMean + InitStd·N(0,1) from
// rng, which also gives the Langevin noise. Not in the spec (a sampler
// added in session 12: docs/DEEP.md).
func (r *DeepRun) SampleMarginalBiLevel(n int, cfg sample.Config, rng, qrng *tensor.RNG) *tensor.Tensor {
	if r.EBLVM == nil {
		panic("train.SampleMarginalBiLevel: " + r.Cfg.Model.Kind + " has no latents")
	}
	e := sample.EnergyFn(objective.BiEnergy(r.EBLVM, r.Post, r.EBLVM.Params().Consts(), r.Post.Params().Consts(), qrng))
	return chainsFromNoise(n, r.ImageShape(), func(int) sample.EnergyFn { return e }, cfg, rng)
}

// SampleJoint runs n chains of the deep EBLVM's marginal sampler on the
// joint energy E(v,h) (JointEnergy), v and h both initialised at
// InitMean + InitStd·N(0,1), and returns where they end: rows [v flattened,
// h], [n, D+H]. SampleMarginal keeps the v columns; the h columns show where
// the sampler's latents go (scripts/latentnorm).
func (r *DeepRun) SampleJoint(n int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	if r.EBLVM == nil {
		panic("train.SampleJoint: " + r.Cfg.Model.Kind + " has no latents")
	}
	s := r.ImageShape()
	return chainsFromNoise(n, []int{s[0]*s[1]*s[2] + r.Cfg.Model.Hidden}, r.JointEnergy, cfg, rng)
}

// chainsFrom runs the sampler from x0 and returns the images [B,C,H,W]
// (shape img): x0 is a batch of images for the ResNet EBM, whose chains run
// on E(v); for the deep EBLVM it is rows [v flattened, h], whose chains run
// on E(v,h) over both.
func (r *DeepRun) chainsFrom(x0 *tensor.Tensor, img []int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	if r.EBM != nil {
		return sample.LangevinFrom(r.ebmEnergy(), x0, cfg, rng)
	}
	d := img[1] * img[2] * img[3]
	return tensor.Slice(sample.LangevinFrom(r.JointEnergy(img[0]), x0, cfg, rng), 1, 0, d).Reshape(img...) // Slice copies
}

// JointEnergy is the deep EBLVM's energy E(v, h) of n chains stored as rows
// [v flattened, h] (D + H columns), the state the marginal sampler moves.
func (r *DeepRun) JointEnergy(n int) sample.EnergyFn {
	img := append([]int{n}, r.ImageShape()...)
	d := img[1] * img[2] * img[3]
	th := r.EBLVM.Params().Consts()
	return func(x *ad.Value) *ad.Value {
		v := ad.Reshape(ad.Slice(x, 1, 0, d), img...)
		return r.EBLVM.Energy(th, v, ad.Slice(x, 1, d, d+r.Cfg.Model.Hidden))
	}
}

// DenoiseConfig is the sampler for chains started from images noised with
// σ: the reference anneal entered at T0 = (σ/σ0)², the temperature at which
// an MDSM-trained energy matches σ-noise (E/T scores data smoothed with
// σ0·√T), decaying to 1 at the reference rate (2000 steps per factor 100)
// and then falling to 0 in the reference's final steps, all scaled by
// scale. It is a diagnostic: where the energy is well learned between σ0
// and σ, the chains return to the digits they started from.
func DenoiseConfig(sigma, scale float64) sample.Config {
	return denoiseFrom(LangevinConfig(scale), sigma)
}

// denoiseFrom replaces c's temperatures by DenoiseConfig's, entering at
// T0 = (σ/c.Sigma0)².
func denoiseFrom(c sample.Config, sigma float64) sample.Config {
	t0 := math.Pow(sigma/c.Sigma0, 2)
	var temps []float64
	if t0 > c.DecayTo {
		rate := math.Log(c.HoldTemp/c.DecayTo) / float64(c.DecaySteps)
		n := max(1, int(math.Ceil(math.Log(t0/c.DecayTo)/rate)))
		for i := 0; i < n; i++ {
			temps = append(temps, t0*math.Exp(-float64(i)*math.Log(t0/c.DecayTo)/float64(n)))
		}
	}
	for _, t := range c.Temperatures()[c.HoldSteps+c.DecaySteps:] {
		temps = append(temps, min(t, t0))
	}
	c.Temps = temps
	return c
}

// SampleDenoise draws n random test images, adds N(0, σ²) noise and runs
// cfg (DenoiseConfig) from there: on E(v) for the ResNet EBM, on E(v,h)
// with h started at q's posterior mean of the noisy image for the deep
// EBLVM. It returns the clean images, the noisy ones and the results.
func (r *DeepRun) SampleDenoise(n int, sigma float64, cfg sample.Config, rng *tensor.RNG) (clean, noisy, out *tensor.Tensor) {
	set := r.Split.Test
	idx := rng.Rand().Perm(set.N)[:min(n, set.N)]
	clean = tensor.FromFloat32(set.Batch(idx, nil), append([]int{len(idx)}, set.Shape...)...)
	noisy = clean.Clone()
	tensor.AxpyInPlace(noisy, sigma, rng.Normal(noisy.DType(), 0, 1, noisy.Shape()...))
	out = inChunks(len(idx), func(lo, hi int) *tensor.Tensor {
		x0 := tensor.Slice(noisy, 0, lo, hi)
		if r.EBLVM != nil {
			x0 = tensor.Concat(1, x0.Reshape(hi-lo, -1), sample.PosteriorMean(r.Post, x0, 0))
		}
		return r.chainsFrom(x0, append([]int{hi - lo}, set.Shape...), cfg, rng)
	})
	return clean, noisy, out
}

// SampleViaQ draws n samples of the deep EBLVM "via q" (spec section 6):
// for n random training images it fixes h at the mean of q(h|v) and runs
// Langevin on v. It returns the samples and the training images used.
func (r *DeepRun) SampleViaQ(n int, cfg sample.Config, rng *tensor.RNG) (samples, sources *tensor.Tensor, err error) {
	if r.EBLVM == nil {
		return nil, nil, fmt.Errorf("sample: %s has no posterior; sampling via q needs deep_eblvm", r.Cfg.Model.Kind)
	}
	set := r.Split.Train
	idx := rng.Rand().Perm(set.N)[:min(n, set.N)]
	src := tensor.FromFloat32(set.Batch(idx, nil), append([]int{len(idx)}, set.Shape...)...)
	samples = inChunks(len(idx), func(lo, hi int) *tensor.Tensor {
		s, _ := sample.ViaPosterior(r.EBLVM, r.Post, tensor.Slice(src, 0, lo, hi), cfg, rng)
		return s
	})
	return samples, src, nil
}

// DeepSampleOptions controls SampleDeep.
type DeepSampleOptions struct {
	N        int     // samples per grid (64)
	Scale    float64 // Langevin step-count scale (1: the reference 2700 steps)
	Seed     uint64
	Prefix   string    // output path prefix (DIR/samples)
	Progress io.Writer // sampler progress (nil: none)
	Sampler  string    // marginal sampler: SamplerJoint ("" too) or SamplerBiLevel
}

// SampleDeep writes PNG grids: PREFIX.png (marginal samples) and, for the
// deep EBLVM, PREFIX_via_q.png (samples via q) and PREFIX_via_q_source.png
// (the training images whose posterior means were used). It returns the
// paths written.
func SampleDeep(r *DeepRun, o DeepSampleOptions) ([]string, error) {
	if o.N < 1 {
		o.N = 64
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if err := r.checkSampler(o.Sampler); err != nil {
		return nil, err
	}
	cfg := r.samplerConfig(o.Scale)
	cfg.Progress = langevinProgress(o.Progress, marginalLabel(o.Sampler))
	rng := tensor.NewRNG(o.Seed)
	var files []string
	save := func(path string, x *tensor.Tensor) error {
		err := r.saveGrid(path, x, o.N)
		if err == nil {
			files = append(files, path)
		}
		return err
	}
	if err := save(o.Prefix+".png", r.sampleMarginalWith(o.Sampler, o.N, cfg, rng, o.Seed)); err != nil {
		return files, err
	}
	if r.EBLVM != nil {
		cfg.Progress = langevinProgress(o.Progress, "via q")
		s, src, err := r.SampleViaQ(o.N, cfg, rng)
		if err != nil {
			return files, err
		}
		if err := save(o.Prefix+"_via_q.png", s); err != nil {
			return files, err
		}
		if err := save(o.Prefix+"_via_q_source.png", src); err != nil {
			return files, err
		}
	}
	return files, nil
}

// GridFiles are the PNG grids SampleDeep (and EvaluateDeep with a
// GridPrefix) writes for prefix: the marginal samples and, for the deep
// EBLVM, the samples via q and their source images.
func (r *DeepRun) GridFiles(prefix string) []string {
	if r.EBLVM == nil {
		return []string{prefix + ".png"}
	}
	return []string{prefix + ".png", prefix + "_via_q.png", prefix + "_via_q_source.png"}
}

// saveGrid writes the first n images of x as a PNG grid.
func (r *DeepRun) saveGrid(path string, x *tensor.Tensor, n int) error {
	if n < x.Dim(0) {
		x = tensor.Slice(x, 0, 0, n)
	}
	s := r.ImageShape()
	img := plot.ImageGrid(x.As(tensor.Float32).F32(), x.Dim(0), s[0], s[1], s[2], 0, 2)
	return plot.SavePNG(path, img)
}

// energyProbe records where the model puts low energy (eval.json keys
// energy_*): the mean energy of the test images, of the samples and of
// the blank image, and the lowest test-image energy. Annealed Langevin
// ends where the energy is low, so a blank image below the data explains
// eroded or empty samples. For the deep EBLVM, whose free energy is
// intractable, these are joint energies E(v, μ_q(v)) at q's posterior mean.
func (r *DeepRun) energyProbe(res map[string]float64, samples, test *tensor.Tensor) {
	energies := func(v *tensor.Tensor) *tensor.Tensor {
		return inChunks(v.Dim(0), func(lo, hi int) *tensor.Tensor {
			x := tensor.Slice(v, 0, lo, hi)
			if r.EBM != nil {
				return r.EBM.FreeEnergy(r.EBM.Params().Consts(), ad.Const(x)).Tensor()
			}
			h := sample.PosteriorMean(r.Post, x, 0)
			return r.EBLVM.Energy(r.EBLVM.Params().Consts(), ad.Const(x), ad.Const(h)).Tensor()
		})
	}
	et := energies(test)
	res["energy_test_mean"], res["energy_test_min"] = tensor.Mean(et, false).Item(), slices.Min(et.Values())
	res["energy_samples_mean"] = tensor.Mean(energies(samples), false).Item()
	blank := tensor.Zeros(samples.DType(), append([]int{1}, samples.Shape()[1:]...)...)
	res["energy_blank"] = energies(blank).Item()
}

// DenoiseGrid writes PREFIX.png for SampleDenoise: o.N test images (rounded
// up to a multiple of 8) in the top block, with N(0, σ²) noise in the
// middle, and the chains run from the noisy ones by DenoiseConfig(σ,
// o.Scale) at the bottom, 8 per row. It returns the path written.
func DenoiseGrid(r *DeepRun, sigma float64, o DeepSampleOptions) (string, error) {
	cols := 8
	if !(sigma > 0) {
		return "", fmt.Errorf("sample: denoising needs a positive noise level, not %g", sigma)
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	n := (max(o.N, 1) + cols - 1) / cols * cols
	cfg := denoiseFrom(r.samplerConfig(o.Scale), sigma)
	cfg.Progress = langevinProgress(o.Progress, fmt.Sprintf("from test images + %g noise", sigma))
	clean, noisy, out := r.SampleDenoise(n, sigma, cfg, tensor.NewRNG(o.Seed))
	if k := clean.Dim(0); k%cols != 0 { // a test set smaller than n: one row per block
		cols = k
	}
	all := tensor.Concat(0, clean, noisy, out).As(tensor.Float32)
	s := r.ImageShape()
	path := o.Prefix + ".png"
	return path, plot.SavePNG(path, plot.ImageGrid(all.F32(), all.Dim(0), s[0], s[1], s[2], cols, 2))
}

func langevinProgress(w io.Writer, what string) func(step, total int, meanEnergy float64) {
	if w == nil {
		return nil
	}
	last := time.Now()
	return func(step, total int, e float64) {
		if step == total || time.Since(last) > 5*time.Second {
			fmt.Fprintf(w, "langevin (%s) step %d/%d  mean energy %.5g\n", what, step, total, e)
			last = time.Now()
		}
	}
}

// DeepEvalOptions controls EvaluateDeep.
type DeepEvalOptions struct {
	N        int     // samples for FID/KID (1000)
	Scale    float64 // Langevin step-count scale
	Seed     uint64
	ProbeN   int // training and test images for the linear probe (10000 each; deep_eblvm)
	Progress io.Writer
	// Inception, when set, adds FID and KID with Inception-v3 pool3
	// features (fid_inception_NAME, kid_inception_NAME[_std]) for any data
	// set, against the first InceptionRef test images (all when 0).
	Inception    *eval.InceptionV3
	InceptionRef int
	// GridPrefix, when set, writes PNG grids of the first GridN (64)
	// samples, named as SampleDeep names them (GridFiles). Both draw their
	// chains from the same seeded stream, so with N = GridN these are the
	// grids SampleDeep writes for the same Scale and Seed, without
	// sampling them again.
	GridPrefix string
	GridN      int
	// Sampler is the marginal sampler: SamplerJoint ("" too) or
	// SamplerBiLevel (recorded as bilevel_sampler = 1).
	Sampler string
}

// inceptionChunk is how many images EvaluateDeep passes to Inception-v3
// between progress lines (about a minute at the 9 images/s measured on 2
// cores, docs/PERFORMANCE.md).
const inceptionChunk = 500

// inceptionFeatures is o.Inception.Features of x with progress lines.
func (o DeepEvalOptions) inceptionFeatures(what string, x *tensor.Tensor) *tensor.Tensor {
	return inChunksOf(x.Dim(0), inceptionChunk, func(lo, hi int) *tensor.Tensor {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "Inception-v3 features (%s): images %d-%d of %d\n", what, lo+1, hi, x.Dim(0))
		}
		return o.Inception.Features(tensor.Slice(x, 0, lo, hi))
	})
}

// EvaluateDeep measures a deep run: FID and KID (eval.FIDTensors,
// eval.KIDTensors on the features of eval.DefaultMNISTNet) of N marginal
// samples, and for the deep EBLVM of N samples via q, against the MNIST
// test set (MNIST only), with the share of via-q samples the classifier puts
// in their source image's class; the same with Inception-v3 features when
// o.Inception is set (any data set); for the deep EBLVM also the linear-probe accuracy
// of q's posterior means (eval.LinearProbe trained on ProbeN training
// images, tested on ProbeN test images) and the posterior Fisher
// divergence on 500 test images. It returns the numbers by name, with the
// sample count (fid_samples), the Langevin steps per chain (langevin_steps)
// and the probe's image count (probe_images) they were measured with.
func EvaluateDeep(r *DeepRun, o DeepEvalOptions) (map[string]float64, error) {
	if o.N < 2 {
		o.N = 1000
	}
	if o.Scale <= 0 {
		o.Scale = 1
	}
	if o.ProbeN < 1 {
		o.ProbeN = 10000
	}
	if o.GridN < 1 {
		o.GridN = 64
	}
	if err := r.checkSampler(o.Sampler); err != nil {
		return nil, err
	}
	res := map[string]float64{}
	if o.Sampler == SamplerBiLevel {
		res["bilevel_sampler"] = 1
	}
	grids := r.GridFiles(o.GridPrefix)
	grid := func(i int, x *tensor.Tensor) error {
		if o.GridPrefix == "" {
			return nil
		}
		return r.saveGrid(grids[i], x, o.GridN)
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	mnist := r.Cfg.Data.Name == "mnist"
	if !mnist {
		say("MNIST-classifier FID/KID skipped: the data are %s (Inception-v3 weights give FID/KID on any data)", r.Cfg.Data.Name)
	}
	if mnist || o.Inception != nil {
		var net *eval.MNISTNet
		var ref, incRef *tensor.Tensor
		if mnist {
			var err error
			if net, err = eval.DefaultMNISTNet(); err != nil {
				return nil, err
			}
			ref = net.Features(eval.SetImages(r.Split.Test))
		}
		if o.Inception != nil {
			m := r.Split.Test.N
			if o.InceptionRef > 0 {
				m = min(m, o.InceptionRef)
			}
			incRef = o.inceptionFeatures("test images", eval.SetImages(r.Split.Test.Slice(0, m)))
			res["inception_ref_images"] = float64(m)
		}
		rng := tensor.NewRNG(o.Seed)
		cfg := r.samplerConfig(o.Scale)
		cfg.Progress = langevinProgress(o.Progress, marginalLabel(o.Sampler))
		kidOpts := eval.KIDOptions{Subsets: 100, SubsetSize: min(1000, o.N), Seed: o.Seed}
		// fidKID records FID and KID of features f against ref under
		// fid_PREFIXNAME, kid_PREFIXNAME(_std).
		fidKID := func(name, prefix, feats string, f, ref *tensor.Tensor) error {
			fid, err := eval.FIDTensors(f, ref)
			if err != nil {
				return fmt.Errorf("FID (%s, %s): %w", name, feats, err)
			}
			kid, err := eval.KIDTensors(f, ref, kidOpts)
			if err != nil {
				return fmt.Errorf("KID (%s, %s): %w", name, feats, err)
			}
			key := prefix + name
			res["fid_"+key], res["kid_"+key], res["kid_"+key+"_std"] = fid, kid.Mean, kid.Std
			say("%s: FID %.4g  KID %.4g ± %.2g (%d samples, %s features)", name, fid, kid.Mean, kid.Std, f.Dim(0), feats)
			return nil
		}
		score := func(name string, x *tensor.Tensor) (cs eval.ClassScore, err error) {
			if net != nil {
				var f *tensor.Tensor
				f, cs = net.FeaturesAndScores(x)
				if err := fidKID(name, "", "MNIST classifier", f, ref); err != nil {
					return cs, err
				}
				res["confident_"+name], res["class_score_"+name], res["top_class_"+name] = cs.Confident, cs.Score, cs.TopClass
				say("%s: confident %.3f, class score %.3g, top class %.3f", name, cs.Confident, cs.Score, cs.TopClass)
			}
			if o.Inception != nil {
				err = fidKID(name, "inception_", "Inception-v3", o.inceptionFeatures(name, x), incRef)
			}
			return cs, err
		}
		res["fid_samples"], res["langevin_steps"] = float64(o.N), float64(len(cfg.Temperatures()))
		say("sampling %d marginal samples (%d Langevin steps)", o.N, len(cfg.Temperatures()))
		marginal := r.sampleMarginalWith(o.Sampler, o.N, cfg, rng, o.Seed)
		if err := grid(0, marginal); err != nil {
			return res, err
		}
		if _, err := score("marginal", marginal); err != nil {
			return res, err
		}
		r.energyProbe(res, marginal, eval.SetImages(r.Split.Test.Slice(0, min(500, r.Split.Test.N))))
		if r.EBLVM != nil {
			cfg.Progress = langevinProgress(o.Progress, "via q")
			s, src, err := r.SampleViaQ(o.N, cfg, rng)
			if err != nil {
				return res, err
			}
			if err := grid(1, s); err != nil {
				return res, err
			}
			if err := grid(2, src); err != nil {
				return res, err
			}
			cs, err := score("via_q", s)
			if err != nil {
				return res, err
			}
			if net != nil {
				res["same_class_via_q"] = eval.SameClass(cs.Pred, net.Predict(src))
				say("via q: %.3f of the samples in the same class as their source image", res["same_class_via_q"])
			}
		}
		// A reference floor: N real training images against the test set.
		m := min(o.N, r.Split.Train.N)
		if _, err := score("train_data", eval.SetImages(r.Split.Train.Slice(0, m))); err != nil {
			return res, err
		}
	}
	if r.EBLVM != nil {
		ntr, nte := min(o.ProbeN, r.Split.Train.N), min(o.ProbeN, r.Split.Test.N)
		say("linear probe on posterior means: %d training, %d test images", ntr, nte)
		tr, te := r.Split.Train.Slice(0, ntr), r.Split.Test.Slice(0, nte)
		if tr.Labels != nil && te.Labels != nil {
			hTr := sample.PosteriorMean(r.Post, eval.SetImages(tr), 500)
			hTe := sample.PosteriorMean(r.Post, eval.SetImages(te), 500)
			p, err := eval.LinearProbe(hTr, tr.Labels, hTe, te.Labels, eval.ProbeConfig{Seed: o.Seed})
			if err != nil {
				return res, err
			}
			res["probe_train_acc"], res["probe_test_acc"], res["probe_images"] = p.TrainAcc, p.TestAcc, float64(ntr)
			say("probe: train accuracy %.4f, test accuracy %.4f", p.TrainAcc, p.TestAcc)
		}
		nf := min(500, r.Split.Test.N)
		res["test_posterior_fisher"] = r.PosteriorFisher(eval.SetImages(r.Split.Test.Slice(0, nf)), o.Seed)
	}
	return res, nil
}

// WriteJSON writes results to DIR/name atomically.
func WriteJSON(dir, name string, v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, writeAtomic(p, append(b, '\n'))
}
