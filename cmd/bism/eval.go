package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/train"
)

// Flags of the commands that read a run (eval, sample, denoise).
type runArgs struct {
	run, checkpoint, data, out string
	quiet                      bool
	seed                       uint64
}

func (a *runArgs) declare(fs *flag.FlagSet, out string) {
	fs.StringVar(&a.run, "run", "", "run directory")
	fs.StringVar(&a.checkpoint, "checkpoint", "", "checkpoint `file` to use (default RUN/checkpoint.safetensors)")
	fs.StringVar(&a.data, "data", "", "data folder (default: the run's, else $BISM_DATA, else the user data folder)")
	fs.BoolVar(&a.quiet, "quiet", false, "no progress output")
	fs.Uint64Var(&a.seed, "seed", 1, "seed of the sampling")
	if out != "" {
		fs.StringVar(&a.out, "out", "", out)
	}
}

func (a *runArgs) progress() io.Writer {
	if a.quiet {
		return nil
	}
	return stderr
}

// open rebuilds the run and loads its checkpoint.
func (a *runArgs) open(sets []string) (*experiment.Experiment, int, error) {
	if a.run == "" {
		return nil, 0, usageError("-run is required (a run directory written by bism train)")
	}
	if a.data != "" {
		sets = append(sets, "data.dir="+a.data)
	}
	return experiment.Open(a.run, a.checkpoint, sets, experiment.Options{})
}

// parseRun parses the flags of a command that reads a run (declared by
// declare into a.run and the rest) and reports whether the run is a deep
// model, so that flags can be checked before the run is built.
func parseRun(name string, args []string, a *runArgs, declare func(*flag.FlagSet)) (fs *flag.FlagSet, deep bool, err error) {
	fs = newFlags(name)
	declare(fs)
	if err := parse(fs, args, false); err != nil {
		return nil, false, err
	}
	if a.run == "" {
		return nil, false, usageError("-run is required (a run directory written by bism train)")
	}
	cfg, err := experiment.ReadConfig(a.run)
	return fs, cfg.Model.Kind.Deep(), err
}

const evalAbout = `
A GRBM run is scored by held-out log-likelihood (exact for small H, AIS
otherwise, per eval.ll), the Fisher metric and the validation loss; -select
evaluates the snapshot with the lowest validation loss (Table 1's model
selection). A deep run is scored by its samples: FID and KID against the test
set with the shipped MNIST classifier's features (MNIST) or Inception-v3's
(-inception, any data), class scores, and for the deep EBLVM the posterior's
accuracy and a linear probe; it writes RUN/eval[_CHECKPOINT][_bilevel].json
and grids of the first 64 scored samples.`

type evalArgs struct {
	runArgs
	json, sel        bool
	sets             setFlags
	n, steps, probeN int
	inception        string
	inceptionRef     int
	sampler          string
}

func (a *evalArgs) declare(fs *flag.FlagSet) {
	a.runArgs.declare(fs, "deep runs: path prefix of the sample grids (default RUN/eval[_NAME]_samples)")
	fs.BoolVar(&a.json, "json", false, "print one JSON object")
	fs.BoolVar(&a.sel, "select", false, "GRBM runs: evaluate the snapshot with the lowest validation loss")
	fs.Var(&a.sets, "set", "override an eval.* key of the run, e.g. -set eval.ais_chains=500 (repeatable)")
	fs.IntVar(&a.n, "n", 1000, "deep runs: samples scored by FID and KID")
	fs.IntVar(&a.steps, "steps", 0, "deep runs: Langevin steps per chain (0: the full 2,700-step anneal)")
	fs.IntVar(&a.probeN, "probe-n", 10000, "deep_eblvm runs: training and test images of the linear probe")
	fs.StringVar(&a.inception, "inception", "", "deep runs: also FID/KID with Inception-v3 features, weights from this safetensors `file`")
	fs.IntVar(&a.inceptionRef, "inception-ref", 0, "deep runs with -inception: test images of the reference (0: all)")
	fs.StringVar(&a.sampler, "sampler", "", "deep runs: marginal sampler, joint or bilevel (default: the run's eval.sampler, else joint)")
}

func evalFlags(fs *flag.FlagSet) { new(evalArgs).declare(fs) }

func cmdEval(args []string) error {
	var a evalArgs
	fs, deep, err := parseRun("eval", args, &a.runArgs, a.declare)
	if err != nil {
		return err
	}
	if deep {
		if err := refuse(fs, "deep runs are scored by their samples, not by a validation loss", "select"); err != nil {
			return err
		}
		if a.n < 2 || a.steps < 0 || a.probeN < 1 || a.inceptionRef < 0 {
			return usageError("-n must be at least 2, -probe-n positive, -steps and -inception-ref non-negative")
		}
	} else if err := refuse(fs, "GRBM runs are scored by log-likelihood and the Fisher metric, not by samples",
		"n", "steps", "probe-n", "inception", "inception-ref", "sampler", "out", "seed"); err != nil {
		return err
	}
	if a.sel {
		if a.checkpoint != "" {
			return usageError("-select chooses the checkpoint: drop -checkpoint")
		}
		if a.checkpoint, err = train.SelectSnapshot(a.run); err != nil {
			return err
		}
	}
	// Inception weights are read first: a bad file fails before minutes
	// of sampling.
	var inc *eval.InceptionV3
	if a.inception != "" {
		if inc, err = eval.LoadInceptionV3(a.inception); err != nil {
			return err
		}
	}
	group, leave, err := launch()
	if err != nil {
		return err
	}
	return leave(evaluate(a, deep, inc, group))
}

// evaluate opens the run, evaluates it and reports; in a data-parallel
// launch every rank evaluates its share and rank 0 reports.
func evaluate(a evalArgs, deep bool, inc *eval.InceptionV3, group *dist.Group) error {
	e, iter, err := a.open(a.sets)
	if err != nil {
		return err
	}
	progress := a.progress()
	if a.json || !group.Lead() {
		progress = nil
	}
	start := time.Now()
	o := experiment.EvalOptions{Progress: progress}
	var name, prefix string
	if deep {
		name, prefix = evalFiles(a.run, a.checkpoint, a.out, config.Sampler(a.sampler), e.Config.Eval.Sampler)
		o = experiment.EvalOptions{Progress: progress, N: a.n, Steps: a.steps, Seed: a.seed, ProbeN: a.probeN,
			Inception: inc, InceptionRef: a.inceptionRef, GridPrefix: prefix, Sampler: config.Sampler(a.sampler)}
	}
	if group != nil {
		o.Across = group.Comm
	}
	res, err := e.Evaluate(o)
	if err != nil || !group.Lead() {
		return err
	}
	res["iter"] = float64(iter)
	res["eval_s"] = time.Since(start).Seconds()
	if a.checkpoint != "" {
		fmt.Fprintf(stderr, "evaluated %s\n", a.checkpoint)
	}
	if deep {
		p, err := train.WriteJSON(a.run, name, res)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "wrote %s and the grids %s*.png\n", p, prefix)
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(res)
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-24s %.6g\n", k, res[k])
	}
	return nil
}

// evalFiles names a deep evaluation's JSON and grid prefix: eval.json, or
// eval_NAME.json for -checkpoint NAME.safetensors (so that a sweep over the
// snapshots keeps every result), with _bilevel for the bi-level sampler.
func evalFiles(dir, ckpt, out string, flagSampler, cfgSampler config.Sampler) (name, prefix string) {
	suffix := ""
	if flagSampler == config.SamplerBiLevel || (flagSampler == "" && cfgSampler == config.SamplerBiLevel) {
		suffix = "_bilevel"
	}
	name = "eval" + suffix + ".json"
	if ckpt != "" {
		name = "eval_" + strings.TrimSuffix(filepath.Base(ckpt), filepath.Ext(ckpt)) + suffix + ".json"
	}
	prefix = strings.TrimSuffix(out, ".png")
	if prefix == "" {
		prefix = filepath.Join(dir, strings.TrimSuffix(name, ".json")+"_samples")
	}
	return name, prefix
}

const sampleAbout = `
Draws samples of the model's marginal p(v). A GRBM is sampled by block Gibbs
sampling (-steps sweeps from noise): an image grid for image data, the samples
over the learned density for 2-D data. A deep model is sampled by annealed
Langevin dynamics (-steps in all, the reference anneal of 2,700 steps scaled to
fit; 0 runs it whole); the deep EBLVM is also sampled "via q" (latents fixed at
the posterior means of training images). Writes RUN/samples*.png or -out.`

type sampleArgs struct {
	runArgs
	n, steps int
	sampler  string
}

func (a *sampleArgs) declare(fs *flag.FlagSet) {
	a.runArgs.declare(fs, "output PNG `file` (deep runs: the path prefix of the grids)")
	fs.IntVar(&a.n, "n", 64, "number of samples")
	fs.IntVar(&a.steps, "steps", 0, "chain length: Gibbs sweeps for a GRBM (0: 1000), Langevin steps for a deep model (0: the full 2,700)")
	fs.StringVar(&a.sampler, "sampler", "", "deep runs: marginal sampler, joint or bilevel (default: the run's eval.sampler, else joint)")
}

func sampleFlags(fs *flag.FlagSet) { new(sampleArgs).declare(fs) }

func cmdSample(args []string) error {
	var a sampleArgs
	fs, deep, err := parseRun("sample", args, &a.runArgs, a.declare)
	if err != nil {
		return err
	}
	if !deep {
		if err := refuse(fs, "a GRBM is sampled by Gibbs sweeps", "sampler"); err != nil {
			return err
		}
	}
	if a.n < 1 || a.steps < 0 {
		return usageError("-n must be positive and -steps non-negative")
	}
	e, _, err := a.open(nil)
	if err != nil {
		return err
	}
	sampler := config.Sampler(a.sampler)
	prefix := strings.TrimSuffix(a.out, ".png")
	if prefix == "" && deep && (sampler == config.SamplerBiLevel || (sampler == "" && e.Config.Eval.Sampler == config.SamplerBiLevel)) {
		prefix = filepath.Join(a.run, "samples_bilevel") // beside the joint sampler's grids, not over them
	}
	files, err := e.Sample(experiment.SampleOptions{N: a.n, Steps: a.steps, Seed: a.seed, Prefix: prefix, Sampler: sampler, Progress: a.progress()})
	for _, f := range files {
		fmt.Fprintf(stderr, "wrote %s\n", f)
	}
	return err
}

const denoiseAbout = `
A diagnostic of a deep model's energy between sigma0 and -sigma: -n test images
get N(0, sigma^2) noise and the Langevin chains start from them at the
temperature that matches that noise; where the energy is well learned they
return to the digits they started from. Writes RUN/denoise_sSIGMA.png (clean,
noisy and denoised images) or -out.`

type denoiseArgs struct {
	runArgs
	n, steps int
	sigma    float64
}

func (a *denoiseArgs) declare(fs *flag.FlagSet) {
	a.runArgs.declare(fs, "output PNG `file`")
	fs.IntVar(&a.n, "n", 64, "test images (rounded up to a multiple of 8)")
	fs.IntVar(&a.steps, "steps", 0, "Langevin steps of the reference anneal to scale from (0: the full 2,700)")
	fs.Float64Var(&a.sigma, "sigma", 0, "noise level added to the test images (required)")
}

func denoiseFlags(fs *flag.FlagSet) { new(denoiseArgs).declare(fs) }

func cmdDenoise(args []string) error {
	var a denoiseArgs
	_, deep, err := parseRun("denoise", args, &a.runArgs, a.declare)
	if err != nil {
		return err
	}
	if !(a.sigma > 0) {
		return usageError("-sigma is required and must be positive")
	}
	if a.n < 1 || a.steps < 0 {
		return usageError("-n must be positive and -steps non-negative")
	}
	if !deep {
		return usageError("%s is a GRBM run: denoising runs a deep model's Langevin chains", a.run)
	}
	e, _, err := a.open(nil)
	if err != nil {
		return err
	}
	p, err := e.Denoise(a.sigma, experiment.SampleOptions{N: a.n, Steps: a.steps, Seed: a.seed, Prefix: strings.TrimSuffix(a.out, ".png"), Progress: a.progress()})
	if err == nil {
		fmt.Fprintf(stderr, "wrote %s\n", p)
	}
	return err
}
