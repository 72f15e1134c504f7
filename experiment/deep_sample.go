package experiment

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

// LangevinConfig returns the reference sampler (sample.Default: 500 + 2000
// + 200 steps) shortened to about steps steps in all, every phase scaled
// by the same factor (each at least one step), for quicker looks; steps <= 0
// gives the reference schedule.
func LangevinConfig(steps int) sample.Config {
	c := sample.Default()
	total := c.HoldSteps + c.DecaySteps + c.FinalSteps
	if steps <= 0 || steps == total {
		return c
	}
	scale := float64(steps) / float64(total)
	s := func(n int) int { return max(1, int(math.Round(float64(n)*scale))) }
	c.HoldSteps, c.DecaySteps, c.FinalSteps = s(c.HoldSteps), s(c.DecaySteps), s(c.FinalSteps)
	return c
}

// samplerConfig is LangevinConfig(steps) with the final denoising step's σ0
// taken from the run's method.sigma0 (the noise level whose score the energy
// matches at T = 1), when set.
func (dk *deep) samplerConfig(steps int) sample.Config {
	c := LangevinConfig(steps)
	if s0 := dk.e.Config.Method.Sigma0; s0 > 0 {
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
func (dk *deep) sampleMarginal(n int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	shape := dk.imageShape()
	if dk.eblvm != nil {
		d := shape[0] * shape[1] * shape[2]
		return tensor.Slice(dk.sampleJoint(n, cfg, rng), 1, 0, d).Reshape(append([]int{n}, shape...)...) // Slice copies
	}
	e := dk.ebmEnergy()
	return dk.chainsFromNoise(n, shape, func(int) sample.EnergyFn { return e }, cfg, rng)
}

// chainsFromNoise runs n annealed-Langevin chains in chunks (chunks): a
// chunk of k chains starts at InitMean + InitStd·N(0,1) of shape [k, rest...]
// drawn from rng, which also gives the Langevin noise, and moves on
// energy(k). It returns where the chains end. rngs are the other streams
// the energy draws from.
func (dk *deep) chainsFromNoise(n int, rest []int, energy func(k int) sample.EnergyFn, cfg sample.Config, rng *tensor.RNG, rngs ...*tensor.RNG) *tensor.Tensor {
	return dk.chunks(n, append([]*tensor.RNG{rng}, rngs...), func(lo, hi int) *tensor.Tensor {
		x0 := rng.Normal(tensor.Float32, cfg.InitMean, cfg.InitStd, append([]int{hi - lo}, rest...)...)
		return sample.LangevinFrom(energy(hi-lo), x0, cfg, rng)
	})
}

// chunks is inChunks for independent chains whose noise comes from rngs,
// split over the ranks of dk.across when it is set: rank r runs its rows
// of every chunk (dist.Rows), its streams drawing the whole chunk's noise
// for them (tensor.RNG.ShardRows), and every rank gets every row by a sum
// across ranks. The chains are those one process runs, to the round-off by
// which a network's outputs for a row can depend on the batch around it.
func (dk *deep) chunks(n int, rngs []*tensor.RNG, f func(lo, hi int) *tensor.Tensor) *tensor.Tensor {
	a := dk.across
	if a == nil || a.Size() == 1 {
		return inChunks(n, f)
	}
	return inChunks(n, func(lo, hi int) *tensor.Tensor {
		k := hi - lo
		r0, r1 := dist.Rows(k, a.Rank(), a.Size())
		for _, g := range rngs {
			g.ShardRows(r0, r1, k)
		}
		part := f(lo+r0, lo+r1).As(tensor.Float32)
		for _, g := range rngs {
			g.ShardRows(0, 0, 0)
		}
		row := part.Size() / (r1 - r0)
		buf := make([]float32, k*row)
		copy(buf[r0*row:], part.F32())
		a.SumFloat32(buf) // each row is non-zero on one rank only: exact
		return tensor.FromFloat32(buf, append([]int{k}, part.Shape()[1:]...)...)
	})
}

// ebmEnergy is the fully visible ResNet EBM's E(v), parameters held constant.
func (dk *deep) ebmEnergy() sample.EnergyFn {
	th := dk.ebm.Params().Consts()
	return func(v *ad.Value) *ad.Value { return dk.ebm.FreeEnergy(th, v) }
}

// marginalLabel names the marginal chains in progress lines.
func marginalLabel(s config.Sampler) string {
	if s == config.SamplerBiLevel {
		return "marginal, bilevel sampler"
	}
	return "marginal"
}

// qSeedOffset separates the bi-level sampler's draws of h from the chains'
// own stream: for seed s, the chains use s and q's draws s + qSeedOffset.
const qSeedOffset = 1000

func (dk *deep) checkSampler(s config.Sampler) error {
	if err := config.CheckSampler(s, dk.e.Config.Model.Kind); err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	return nil
}

// sampleMarginalWith draws n marginal samples with the named sampler
// (checked by checkSampler); seed seeds the bi-level sampler's draws of h.
func (dk *deep) sampleMarginalWith(name config.Sampler, n int, cfg sample.Config, rng *tensor.RNG, seed uint64) *tensor.Tensor {
	if name == config.SamplerBiLevel {
		return dk.sampleMarginalBiLevel(n, cfg, rng, tensor.NewRNG(seed+qSeedOffset))
	}
	return dk.sampleMarginal(n, cfg, rng)
}

// SampleMarginalBiLevel draws n samples v ~ p(v) [n,C,H,W] of the deep
// EBLVM by annealed Langevin on v alone, driven by the score BiMDSM
// matched: -∇_v[E(v,h) + log q(h|v)] with a fresh h ~ q(h|v) (from qrng)
// at every step and at the final denoising step (objective.BiEnergy). When
// q is the true posterior this is the marginal score ∇_v log p(v) for
// every h, so the chains target p(v) as the joint sampler's do, without
// moving latents; with an approximate q they follow the score the model
// was trained to match. Chains start at InitMean + InitStd·N(0,1) from
// rng, which also gives the Langevin noise. It is not the paper's sampler (docs/DEEP.md).
func (dk *deep) sampleMarginalBiLevel(n int, cfg sample.Config, rng, qrng *tensor.RNG) *tensor.Tensor {
	if dk.eblvm == nil {
		panic("experiment: bi-level sampling: " + string(dk.e.Config.Model.Kind) + " has no latents")
	}
	e := sample.EnergyFn(objective.BiEnergy(dk.eblvm, dk.post, dk.eblvm.Params().Consts(), dk.post.Params().Consts(), qrng))
	return dk.chainsFromNoise(n, dk.imageShape(), func(int) sample.EnergyFn { return e }, cfg, rng, qrng)
}

// SampleJoint runs n chains of the deep EBLVM's marginal sampler on the
// joint energy E(v,h) (JointEnergy), v and h both initialised at
// InitMean + InitStd·N(0,1), and returns where they end: rows [v flattened,
// h], [n, D+H]. SampleMarginal keeps the v columns; the h columns show where
// the sampler's latents go (scripts/latentnorm).
func (dk *deep) sampleJoint(n int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	if dk.eblvm == nil {
		panic("experiment: joint sampling: " + string(dk.e.Config.Model.Kind) + " has no latents")
	}
	s := dk.imageShape()
	return dk.chainsFromNoise(n, []int{s[0]*s[1]*s[2] + dk.e.Config.Model.Hidden}, dk.jointEnergy, cfg, rng)
}

// chainsFrom runs the sampler from x0 and returns the images [B,C,H,W]
// (shape img): x0 is a batch of images for the ResNet EBM, whose chains run
// on E(v); for the deep EBLVM it is rows [v flattened, h], whose chains run
// on E(v,h) over both.
func (dk *deep) chainsFrom(x0 *tensor.Tensor, img []int, cfg sample.Config, rng *tensor.RNG) *tensor.Tensor {
	if dk.ebm != nil {
		return sample.LangevinFrom(dk.ebmEnergy(), x0, cfg, rng)
	}
	d := img[1] * img[2] * img[3]
	return tensor.Slice(sample.LangevinFrom(dk.jointEnergy(img[0]), x0, cfg, rng), 1, 0, d).Reshape(img...) // Slice copies
}

// jointEnergy is the deep EBLVM's energy E(v, h) of n chains stored as rows
// [v flattened, h] (D + H columns), the state the marginal sampler moves.
func (dk *deep) jointEnergy(n int) sample.EnergyFn {
	img := append([]int{n}, dk.imageShape()...)
	d := img[1] * img[2] * img[3]
	th := dk.eblvm.Params().Consts()
	return func(x *ad.Value) *ad.Value {
		v := ad.Reshape(ad.Slice(x, 1, 0, d), img...)
		return dk.eblvm.Energy(th, v, ad.Slice(x, 1, d, d+dk.e.Config.Model.Hidden))
	}
}

// DenoiseConfig is the sampler for chains started from images noised with
// σ: the reference anneal entered at T0 = (σ/σ0)², the temperature at which
// an MDSM-trained energy matches σ-noise (E/T scores data smoothed with
// σ0·√T), decaying to 1 at the reference rate (2000 steps per factor 100)
// and then falling to 0 in the reference's final steps, all scaled as
// LangevinConfig(steps) scales them. It is a diagnostic: where the energy is well learned between σ0
// and σ, the chains return to the digits they started from.
func DenoiseConfig(sigma float64, steps int) sample.Config {
	return denoiseFrom(LangevinConfig(steps), sigma)
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
func (dk *deep) sampleDenoise(n int, sigma float64, cfg sample.Config, rng *tensor.RNG) (clean, noisy, out *tensor.Tensor) {
	set := dk.e.Data.Test
	idx := rng.Rand().Perm(set.N)[:min(n, set.N)]
	clean = tensor.FromFloat32(set.Batch(idx, nil), append([]int{len(idx)}, set.Shape...)...)
	noisy = clean.Clone()
	tensor.AxpyInPlace(noisy, sigma, rng.Normal(noisy.DType(), 0, 1, noisy.Shape()...))
	out = inChunks(len(idx), func(lo, hi int) *tensor.Tensor {
		x0 := tensor.Slice(noisy, 0, lo, hi)
		if dk.eblvm != nil {
			x0 = tensor.Concat(1, x0.Reshape(hi-lo, -1), sample.PosteriorMean(dk.post, x0, 0))
		}
		return dk.chainsFrom(x0, append([]int{hi - lo}, set.Shape...), cfg, rng)
	})
	return clean, noisy, out
}

// SampleViaQ draws n samples of the deep EBLVM "via q" (Sec. 5.2):
// for n random training images it fixes h at the mean of q(h|v) and runs
// Langevin on v. It returns the samples and the training images used.
func (dk *deep) sampleViaQ(n int, cfg sample.Config, rng *tensor.RNG) (samples, sources *tensor.Tensor, err error) {
	if dk.eblvm == nil {
		return nil, nil, fmt.Errorf("sample: %s has no posterior; sampling via q needs deep_eblvm", dk.e.Config.Model.Kind)
	}
	set := dk.e.Data.Train
	idx := rng.Rand().Perm(set.N)[:min(n, set.N)]
	src := tensor.FromFloat32(set.Batch(idx, nil), append([]int{len(idx)}, set.Shape...)...)
	samples = dk.chunks(len(idx), []*tensor.RNG{rng}, func(lo, hi int) *tensor.Tensor {
		s, _ := sample.ViaPosterior(dk.eblvm, dk.post, tensor.Slice(src, 0, lo, hi), cfg, rng)
		return s
	})
	return samples, src, nil
}

// sample writes PNG grids: PREFIX.png (marginal samples) and, for the
// deep EBLVM, PREFIX_via_q.png (samples via q) and PREFIX_via_q_source.png
// (the training images whose posterior means were used). It returns the
// paths written.
func (dk *deep) sample(e *Experiment, o SampleOptions) ([]string, error) {
	if err := dk.checkSampler(o.Sampler); err != nil {
		return nil, err
	}
	cfg := dk.samplerConfig(o.Steps)
	cfg.Progress = langevinProgress(o.Progress, marginalLabel(o.Sampler))
	rng := tensor.NewRNG(o.Seed)
	var files []string
	save := func(path string, x *tensor.Tensor) error {
		err := dk.saveGrid(path, x, o.N)
		if err == nil {
			files = append(files, path)
		}
		return err
	}
	if err := save(o.Prefix+".png", dk.sampleMarginalWith(o.Sampler, o.N, cfg, rng, o.Seed)); err != nil {
		return files, err
	}
	if dk.eblvm != nil {
		cfg.Progress = langevinProgress(o.Progress, "via q")
		s, src, err := dk.sampleViaQ(o.N, cfg, rng)
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

// gridFiles are the PNG grids sample (and evaluate with a
// GridPrefix) writes for prefix: the marginal samples and, for the deep
// EBLVM, the samples via q and their source images.
func (dk *deep) gridFiles(prefix string) []string {
	if dk.eblvm == nil {
		return []string{prefix + ".png"}
	}
	return []string{prefix + ".png", prefix + "_via_q.png", prefix + "_via_q_source.png"}
}

// saveGrid writes the first n images of x as a PNG grid.
func (dk *deep) saveGrid(path string, x *tensor.Tensor, n int) error {
	if n < x.Dim(0) {
		x = tensor.Slice(x, 0, 0, n)
	}
	s := dk.imageShape()
	img := plot.ImageGrid(x.As(tensor.Float32).F32(), x.Dim(0), s[0], s[1], s[2], 0, 2)
	return plot.SavePNG(path, img)
}

// energyProbe records where the model puts low energy (eval.json keys
// energy_*): the mean energy of the test images, of the samples and of
// the blank image, and the lowest test-image energy. Annealed Langevin
// ends where the energy is low, so a blank image below the data explains
// eroded or empty samples. For the deep EBLVM, whose free energy is
// intractable, these are joint energies E(v, μ_q(v)) at q's posterior mean.
func (dk *deep) energyProbe(res map[string]float64, samples, test *tensor.Tensor) {
	energies := func(v *tensor.Tensor) *tensor.Tensor {
		return inChunks(v.Dim(0), func(lo, hi int) *tensor.Tensor {
			x := tensor.Slice(v, 0, lo, hi)
			if dk.ebm != nil {
				return dk.ebm.FreeEnergy(dk.ebm.Params().Consts(), ad.Const(x)).Tensor()
			}
			h := sample.PosteriorMean(dk.post, x, 0)
			return dk.eblvm.Energy(dk.eblvm.Params().Consts(), ad.Const(x), ad.Const(h)).Tensor()
		})
	}
	et := energies(test)
	res["energy_test_mean"], res["energy_test_min"] = tensor.Mean(et, false).Item(), slices.Min(et.Values())
	res["energy_samples_mean"] = tensor.Mean(energies(samples), false).Item()
	blank := tensor.Zeros(samples.DType(), append([]int{1}, samples.Shape()[1:]...)...)
	res["energy_blank"] = energies(blank).Item()
}

// denoise writes PREFIX.png for sampleDenoise: o.N test images (rounded
// up to a multiple of 8) in the top block, with N(0, σ²) noise in the
// middle, and the chains run from the noisy ones by DenoiseConfig at the
// bottom, 8 per row. It returns the path written.
func (dk *deep) denoise(e *Experiment, sigma float64, o SampleOptions) (string, error) {
	cols := 8
	if !(sigma > 0) {
		return "", fmt.Errorf("sample: denoising needs a positive noise level, not %g", sigma)
	}
	n := (max(o.N, 1) + cols - 1) / cols * cols
	cfg := denoiseFrom(dk.samplerConfig(o.Steps), sigma)
	cfg.Progress = langevinProgress(o.Progress, fmt.Sprintf("from test images + %g noise", sigma))
	clean, noisy, out := dk.sampleDenoise(n, sigma, cfg, tensor.NewRNG(o.Seed))
	if k := clean.Dim(0); k%cols != 0 { // a test set smaller than n: one row per block
		cols = k
	}
	all := tensor.Concat(0, clean, noisy, out).As(tensor.Float32)
	s := dk.imageShape()
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

// inceptionChunk is how many images EvaluateDeep passes to Inception-v3
// between progress lines (about a minute at the 9 images/s measured on 2
// cores, docs/PERFORMANCE.md).
const inceptionChunk = 500

// inceptionFeatures is o.Inception.Features of x with progress lines.
func (o EvalOptions) inceptionFeatures(what string, x *tensor.Tensor) *tensor.Tensor {
	return inChunksOf(x.Dim(0), inceptionChunk, func(lo, hi int) *tensor.Tensor {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "Inception-v3 features (%s): images %d-%d of %d\n", what, lo+1, hi, x.Dim(0))
		}
		return o.Inception.Features(tensor.Slice(x, 0, lo, hi))
	})
}

// sampleScores measures a deep run by its samples: FID and KID (eval.FIDTensors,
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
func (dk *deep) sampleScores(e *Experiment, o EvalOptions) (map[string]float64, error) {
	if err := dk.checkSampler(o.Sampler); err != nil {
		return nil, err
	}
	if o.Across != nil && o.Across.Size() > 1 {
		smallest := o.N - sampleChunk*((o.N-1)/sampleChunk) // the last chunk of chains
		if smallest < o.Across.Size() {
			return nil, fmt.Errorf("evaluate: %d samples run in chunks of %d chains, too few for %d processes", o.N, smallest, o.Across.Size())
		}
		// The Langevin chains are split across the processes.
		dk.across = o.Across
		defer func() { dk.across = nil }()
	}
	res := map[string]float64{}
	if o.Sampler == config.SamplerBiLevel {
		res["bilevel_sampler"] = 1
	}
	grids := dk.gridFiles(o.GridPrefix)
	grid := func(i int, x *tensor.Tensor) error {
		if o.GridPrefix == "" {
			return nil
		}
		return dk.saveGrid(grids[i], x, o.GridN)
	}
	say := func(format string, args ...any) {
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, format+"\n", args...)
		}
	}
	mnist := dk.e.Config.Data.Name == config.MNIST
	if !mnist {
		say("MNIST-classifier FID/KID skipped: the data are %s (Inception-v3 weights give FID/KID on any data)", dk.e.Config.Data.Name)
	}
	if mnist || o.Inception != nil {
		var net *eval.MNISTNet
		var ref, incRef *tensor.Tensor
		if mnist {
			var err error
			if net, err = eval.DefaultMNISTNet(); err != nil {
				return nil, err
			}
			ref = net.Features(eval.SetImages(dk.e.Data.Test))
		}
		if o.Inception != nil {
			m := dk.e.Data.Test.N
			if o.InceptionRef > 0 {
				m = min(m, o.InceptionRef)
			}
			incRef = o.inceptionFeatures("test images", eval.SetImages(dk.e.Data.Test.Slice(0, m)))
			res["inception_ref_images"] = float64(m)
		}
		rng := tensor.NewRNG(o.Seed)
		cfg := dk.samplerConfig(o.Steps)
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
		marginal := dk.sampleMarginalWith(o.Sampler, o.N, cfg, rng, o.Seed)
		if err := grid(0, marginal); err != nil {
			return res, err
		}
		if _, err := score("marginal", marginal); err != nil {
			return res, err
		}
		dk.energyProbe(res, marginal, eval.SetImages(dk.e.Data.Test.Slice(0, min(500, dk.e.Data.Test.N))))
		if dk.eblvm != nil {
			cfg.Progress = langevinProgress(o.Progress, "via q")
			s, src, err := dk.sampleViaQ(o.N, cfg, rng)
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
		m := min(o.N, dk.e.Data.Train.N)
		if _, err := score("train_data", eval.SetImages(dk.e.Data.Train.Slice(0, m))); err != nil {
			return res, err
		}
	}
	if dk.eblvm != nil {
		ntr, nte := min(o.ProbeN, dk.e.Data.Train.N), min(o.ProbeN, dk.e.Data.Test.N)
		say("linear probe on posterior means: %d training, %d test images", ntr, nte)
		tr, te := dk.e.Data.Train.Slice(0, ntr), dk.e.Data.Test.Slice(0, nte)
		if tr.Labels != nil && te.Labels != nil {
			hTr := sample.PosteriorMean(dk.post, eval.SetImages(tr), 500)
			hTe := sample.PosteriorMean(dk.post, eval.SetImages(te), 500)
			p, err := eval.LinearProbe(hTr, tr.Labels, hTe, te.Labels, eval.ProbeConfig{Seed: o.Seed})
			if err != nil {
				return res, err
			}
			res["probe_train_acc"], res["probe_test_acc"], res["probe_images"] = p.TrainAcc, p.TestAcc, float64(ntr)
			say("probe: train accuracy %.4f, test accuracy %.4f", p.TrainAcc, p.TestAcc)
		}
		nf := min(500, dk.e.Data.Test.N)
		res["test_posterior_fisher"] = dk.posteriorFisher(eval.SetImages(dk.e.Data.Test.Slice(0, nf)), o.Seed)
	}
	return res, nil
}
