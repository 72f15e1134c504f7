package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/train"
)

func cmdTrain(args []string) error {
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	cfgPath := fs.String("config", "", "experiment config (YAML), e.g. configs/checkerboard/bissm.yaml")
	out := fs.String("out", "", "run directory (created; holds config, metrics, checkpoints, plots)")
	resume := fs.Bool("resume", false, "continue from OUT/checkpoint.safetensors")
	quiet := fs.Bool("quiet", false, "no progress output")
	dataDir := fs.String("data", "", "data root (default $BISM_DATA or ../shared/datasets)")
	var sets setFlags
	fs.Var(&sets, "set", "override a config key, e.g. -set train.iterations=2000 (repeatable)")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("-out is required")
	}
	var cfg train.Config
	var err error
	if *resume && *cfgPath == "" {
		cfg, err = config.Load(filepath.Join(*out, train.ConfigFile), sets)
	} else {
		if *cfgPath == "" {
			return fmt.Errorf("-config is required")
		}
		cfg, err = config.Load(*cfgPath, sets)
	}
	if err != nil {
		return err
	}
	if *dataDir != "" {
		cfg.Data.Dir = *dataDir
	}
	var progress io.Writer = os.Stderr
	if *quiet {
		progress = nil
	}
	if train.IsDeep(cfg) {
		return trainDeep(cfg, *out, *resume, progress)
	}
	r, err := train.New(cfg, *out, train.Options{Progress: progress, Resume: *resume})
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(progress, "bism: %s on %s (H=%d), %d iterations, run dir %s\n",
			cfg.Method.Name, cfg.Data.Name, cfg.Model.Hidden, cfg.Train.Iterations, *out)
	}
	if err := r.Train(); err != nil {
		return err
	}
	files, err := train.Report(r)
	if err != nil {
		return err
	}
	if progress != nil {
		for _, f := range files {
			fmt.Fprintf(progress, "wrote %s\n", f)
		}
	}
	return nil
}

// openRun rebuilds a run from its directory and loads a checkpoint.
func openRun(dir, ckpt, dataDir string, sets []string) (*train.Run, int, error) {
	cfg, err := config.Load(filepath.Join(dir, train.ConfigFile), sets)
	if err != nil {
		return nil, 0, fmt.Errorf("%s does not look like a run directory: %w", dir, err)
	}
	if dataDir != "" {
		cfg.Data.Dir = dataDir
	}
	r, err := train.New(cfg, dir, train.Options{})
	if err != nil {
		return nil, 0, err
	}
	if ckpt == "" {
		ckpt = filepath.Join(dir, train.CheckpointFile)
	}
	iter, err := r.LoadModel(ckpt)
	if err != nil {
		return nil, 0, err
	}
	return r, iter, nil
}

func cmdEval(args []string) error {
	fs := flag.NewFlagSet("eval", flag.ExitOnError)
	dir := fs.String("run", "", "run directory")
	asJSON := fs.Bool("json", false, "print one JSON object to stdout")
	sel := fs.Bool("select", false, "evaluate the snapshot with the lowest validation loss (Table 1's model selection)")
	ckpt := fs.String("checkpoint", "", "checkpoint to evaluate (default RUN/checkpoint.safetensors)")
	dataDir := fs.String("data", "", "data root")
	quiet := fs.Bool("quiet", false, "no progress output")
	var sets setFlags
	fs.Var(&sets, "set", "override an evaluation key of the run's config, e.g. -set eval.ais_chains=500 (repeatable)")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("-run is required")
	}
	if _, deep := deepRunConfig(*dir); deep {
		return fmt.Errorf("%s is a deep-model run: evaluate it with bism sample -run %s -fid [-n 1000]", *dir, *dir)
	}
	if *sel {
		best, err := train.SelectSnapshot(*dir)
		if err != nil {
			return err
		}
		*ckpt = best
	}
	r, iter, err := openRun(*dir, *ckpt, *dataDir, sets)
	if err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if *quiet || *asJSON {
		progress = nil
	}
	start := time.Now()
	res, err := train.Evaluate(r, train.EvalOptions{LL: true, Progress: progress})
	if err != nil {
		return err
	}
	res["iter"] = float64(iter)
	if *ckpt != "" {
		fmt.Fprintf(os.Stderr, "evaluated %s\n", *ckpt)
	}
	res["eval_s"] = time.Since(start).Seconds()
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(stdout, "%-12s %.6g\n", k, res[k])
	}
	return nil
}

func cmdSample(args []string) error {
	fs := flag.NewFlagSet("sample", flag.ExitOnError)
	dir := fs.String("run", "", "run directory")
	n := fs.Int("n", 64, "number of samples")
	steps := fs.Int("steps", 1000, "Gibbs sweeps from noise")
	out := fs.String("out", "", "output PNG (default RUN/samples.png)")
	ckpt := fs.String("checkpoint", "", "checkpoint (default RUN/checkpoint.safetensors)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	dataDir := fs.String("data", "", "data root")
	lscale := fs.Float64("langevin-scale", 1, "deep models: multiply every annealed-Langevin step count by this (0.1 for a quick look)")
	fid := fs.Bool("fid", false, "deep models: compute FID/KID of -n samples (and the posterior linear probe); writes RUN/eval.json, or RUN/eval_NAME.json for -checkpoint NAME.safetensors, and grids of the first 64 samples as RUN/eval[_NAME]_samples*.png (or -out)")
	probeN := fs.Int("probe-n", 10000, "deep models with -fid: training and test images for the linear probe")
	inception := fs.String("inception", "", "deep models with -fid: also FID/KID with Inception-v3 pool3 features, weights from this safetensors `file` (torchvision's state-dict names; docs/DEEP.md); works on any data set")
	inceptionRef := fs.Int("inception-ref", 0, "deep models with -inception: test images for the Inception reference statistics (0: the whole test set)")
	quiet := fs.Bool("quiet", false, "deep models: no progress output")
	denoise := fs.Float64("denoise", 0, "deep models: instead of sampling from noise, add N(0, `sigma`²) noise to -n test images and anneal from T = (sigma/sigma0)² (a diagnostic of the energy between sigma0 and sigma; writes RUN/denoise_sSIGMA.png)")
	sampler := fs.String("marginal-sampler", "", "deep models (default: the run config's eval.sampler, else joint): joint (the spec's: Langevin on E(v,h) over v and h) or bilevel (Langevin on v with the bi-level score, a fresh h ~ q(h|v) each step; deep_eblvm only, not in the spec; its files are named samples_bilevel*.png, eval[_NAME]_bilevel.json)")
	fs.Parse(args)
	if *dir == "" {
		return fmt.Errorf("-run is required")
	}
	if cfg, deep := deepRunConfig(*dir); deep {
		if *n < 1 || !(*lscale > 0) || *denoise < 0 || *inceptionRef < 0 {
			return fmt.Errorf("-n and -langevin-scale must be positive, -denoise and -inception-ref non-negative")
		}
		// The flag, else the run config's eval.sampler, else the spec's;
		// -denoise always runs the joint chains.
		s := cmp.Or(*sampler, cfg.Eval.Sampler, train.SamplerJoint)
		if *denoise > 0 {
			if cmp.Or(*sampler, train.SamplerJoint) != train.SamplerJoint {
				return fmt.Errorf("-marginal-sampler chooses how samples are drawn from noise; -denoise runs the joint chains from noisy test images")
			}
			s = train.SamplerJoint
		}
		if *inception != "" && !*fid {
			return fmt.Errorf("-inception computes Inception FID/KID: add -fid")
		}
		return sampleDeep(*dir, cfg, deepSampleFlags{n: *n, scale: *lscale, seed: *seed, out: *out, ckpt: *ckpt,
			data: *dataDir, fid: *fid, probeN: *probeN, quiet: *quiet, denoise: *denoise,
			inception: *inception, inceptionRef: *inceptionRef, sampler: s})
	}
	if *n < 1 || *steps < 0 {
		return fmt.Errorf("-n must be positive and -steps non-negative")
	}
	if cmp.Or(*sampler, train.SamplerJoint) != train.SamplerJoint {
		return fmt.Errorf("-marginal-sampler is for deep models; %s samples by Gibbs sweeps", *dir)
	}
	r, _, err := openRun(*dir, *ckpt, *dataDir, nil)
	if err != nil {
		return err
	}
	if *out == "" {
		*out = filepath.Join(*dir, "samples.png")
	}
	if err := train.SampleGrid(r, *n, *steps, *seed, *out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s\n", *out)
	return nil
}

func cmdBench(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	cfgPath := fs.String("config", "", "experiment config (YAML)")
	iters := fs.Int("iterations", 50, "timed training iterations")
	warmup := fs.Int("warmup", 5, "untimed warm-up iterations")
	asJSON := fs.Bool("json", false, `print {"ms_per_iter": ...} to stdout`)
	dataDir := fs.String("data", "", "data root")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed iterations to this file")
	var sets setFlags
	fs.Var(&sets, "set", "override a config key (repeatable)")
	fs.Parse(args)
	if *cfgPath == "" {
		return fmt.Errorf("-config is required")
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *iters < 1 || *warmup < 0 {
		return fmt.Errorf("-iterations must be positive and -warmup non-negative")
	}
	cfg, err := config.Load(*cfgPath, sets)
	if err != nil {
		return err
	}
	if *dataDir != "" {
		cfg.Data.Dir = *dataDir
	}
	if train.IsDeep(cfg) {
		return benchDeep(cfg, *warmup, *iters, *asJSON)
	}
	ms, err := train.Bench(cfg, *warmup, *iters)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"ms_per_iter": ms, "iterations": *iters,
			"method": cfg.Method.Name, "data": cfg.Data.Name})
	}
	fmt.Fprintf(stdout, "%s on %s: %.3f ms per iteration (%d iterations after %d warm-up)\n", cfg.Method.Name, cfg.Data.Name, ms, *iters, *warmup)
	return nil
}

func cmdKeys([]string) error {
	for _, k := range config.Keys() {
		fmt.Fprintln(stdout, k)
	}
	return nil
}
