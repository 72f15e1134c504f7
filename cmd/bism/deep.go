package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/train"
)

// Deep image models (deep_eblvm, resnet_ebm): the train, sample and bench
// commands dispatch here when the config's model is deep.

func trainDeep(cfg train.Config, out string, resume bool, progress io.Writer) error {
	r, err := train.NewDeep(cfg, out, train.Options{Progress: progress, Resume: resume})
	if err != nil {
		return err
	}
	if progress != nil {
		fmt.Fprintf(progress, "bism: %s on %s (%s, H=%d, ch=%d), %d iterations from %d, run dir %s\n",
			cfg.Method.Name, cfg.Data.Name, cfg.Model.Kind, cfg.Model.Hidden, cfg.Model.Ch, cfg.Train.Iterations, r.Iter(), out)
	}
	if err := r.Train(); err != nil {
		return err
	}
	files, err := train.DeepReport(r)
	if err != nil {
		return err
	}
	if progress != nil {
		for _, f := range files {
			fmt.Fprintf(progress, "wrote %s\n", f)
		}
		fmt.Fprintf(progress, "wrote %s and %s (sample with: bism sample -run %s)\n",
			filepath.Join(out, train.MetricsFile), filepath.Join(out, train.CheckpointFile), out)
	}
	return nil
}

// deepRunConfig loads DIR/config.yaml and reports whether it is a deep run.
func deepRunConfig(dir string) (train.Config, bool) {
	cfg, err := config.Load(filepath.Join(dir, train.ConfigFile), nil)
	if err != nil {
		return cfg, false
	}
	return cfg, train.IsDeep(cfg)
}

type deepSampleFlags struct {
	n       int
	scale   float64
	seed    uint64
	out     string
	ckpt    string
	data    string
	fid     bool
	probeN  int
	quiet   bool
	denoise float64 // > 0: train.DenoiseGrid at this noise level
	// inception: Inception-v3 weights (safetensors) for FID/KID with its
	// features; inceptionRef: test images for its reference (0: all).
	inception    string
	inceptionRef int
	sampler      string // marginal sampler: joint or bilevel
}

func sampleDeep(dir string, cfg train.Config, f deepSampleFlags) error {
	if f.data != "" {
		cfg.Data.Dir = f.data
	}
	// Read the Inception weights first: a bad file should fail before
	// minutes of sampling.
	var inc *eval.InceptionV3
	if f.inception != "" {
		var err error
		if inc, err = eval.LoadInceptionV3(f.inception); err != nil {
			return err
		}
	}
	r, err := train.NewDeep(cfg, dir, train.Options{})
	if err != nil {
		return err
	}
	ckpt := f.ckpt
	if ckpt == "" {
		ckpt = filepath.Join(dir, train.CheckpointFile)
	}
	iter, err := r.LoadModel(ckpt)
	if err != nil {
		return err
	}
	var progress io.Writer = os.Stderr
	if f.quiet {
		progress = nil
	}
	// The bi-level sampler's outputs get their own names, beside the joint
	// sampler's rather than over them.
	suffix := ""
	if f.sampler == train.SamplerBiLevel {
		suffix = "_bilevel"
	}
	prefix := f.out
	if prefix == "" {
		prefix = filepath.Join(dir, "samples"+suffix)
	} else if ext := filepath.Ext(prefix); ext == ".png" {
		prefix = prefix[:len(prefix)-len(ext)]
	}
	if f.denoise > 0 {
		if f.out == "" {
			prefix = filepath.Join(dir, fmt.Sprintf("denoise_s%g", f.denoise))
		}
		p, err := train.DenoiseGrid(r, f.denoise, train.DeepSampleOptions{N: f.n, Scale: f.scale, Seed: f.seed, Prefix: prefix, Progress: progress})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", p)
		return nil
	}
	if f.fid {
		// A named checkpoint gets its own file, so that a sweep over
		// DIR/checkpoints (early stopping by FID) keeps every result.
		name := "eval" + suffix + ".json"
		if f.ckpt != "" {
			name = "eval_" + strings.TrimSuffix(filepath.Base(f.ckpt), filepath.Ext(f.ckpt)) + suffix + ".json"
		}
		// The first 64 samples' grids go next to the JSON (or to -out), so
		// that the scored samples can be looked at without drawing them again.
		if f.out == "" {
			prefix = filepath.Join(dir, strings.TrimSuffix(name, ".json")+"_samples")
		}
		res, err := train.EvaluateDeep(r, train.DeepEvalOptions{N: f.n, Scale: f.scale, Seed: f.seed, ProbeN: f.probeN, Progress: progress,
			Inception: inc, InceptionRef: f.inceptionRef, GridPrefix: prefix, Sampler: f.sampler})
		if err != nil {
			return err
		}
		res["iter"] = float64(iter)
		res["langevin_scale"] = f.scale
		p, err := train.WriteJSON(dir, name, res)
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(res))
		for k := range res {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "%-24s %.6g\n", k, res[k])
		}
		if _, ok := res["fid_samples"]; ok {
			for _, g := range r.GridFiles(prefix) {
				fmt.Fprintf(os.Stderr, "wrote %s\n", g)
			}
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", p)
		return nil
	}
	files, err := train.SampleDeep(r, train.DeepSampleOptions{N: f.n, Scale: f.scale, Seed: f.seed, Prefix: prefix, Progress: progress, Sampler: f.sampler})
	for _, p := range files {
		fmt.Fprintf(os.Stderr, "wrote %s\n", p)
	}
	return err
}

func benchDeep(cfg train.Config, warmup, iters int, asJSON bool) error {
	ms, err := train.BenchDeep(cfg, warmup, iters)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(map[string]any{"ms_per_iter": ms, "iterations": iters,
			"method": cfg.Method.Name, "data": cfg.Data.Name, "model": cfg.Model.Kind, "ch": cfg.Model.Ch})
	}
	fmt.Fprintf(stdout, "%s (%s, ch=%d, H=%d, batch %d) on %s: %.1f ms per iteration (%d iterations after %d warm-up)\n",
		cfg.Method.Name, cfg.Model.Kind, cfg.Model.Ch, cfg.Model.Hidden, cfg.Train.BatchSize, cfg.Data.Name, ms, iters, warmup)
	return nil
}
