package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"

	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/study"
)

const studyAbout = `
Research studies of trained runs:

  fig1 -run RUN [-json] [-kstar 1000] [-nref 100]
      the gradient bias of Algorithm 1 on a bi-level GRBM run (Theorem 2,
      Fig. 1): for K and N on a grid, |g_KN - g_ref| and |φ^0 - φ*| on the
      first minibatch, g_ref from N_ref gradient-descent steps from φ* (K*
      kept steps).
  gradsplit -run RUN [-json] [-draws 200] [-batches 5]
      the θ-gradient of a GRBM run taken apart: the marginal score-matching
      gradient, the bi-level one through the exact posterior (equal to it by
      Theorem 1), the same with the posterior held fixed, and Algorithm 1's at
      the trained posterior; posterior_path_recovered is the share of the
      path through φ*(θ) the run's method recovers.
  scorevar -run RUN [-checkpoint FILE]
      a deep run's score at the data: the variance of the bi-level score over
      h, an importance-sampled check of its bias, and free energies.
  latentnorm -run RUN
      where a deep EBLVM's joint sampler leaves its latents, against q's
      posterior means.`

var studies = map[string]func(args []string) error{
	"fig1": studyFig1, "gradsplit": studyGradSplit, "scorevar": studyScoreVar, "latentnorm": studyLatentNorm,
}

func studyNames() []string { return []string{"fig1", "gradsplit", "scorevar", "latentnorm"} }

func cmdStudy(args []string) error {
	if len(args) == 0 {
		return usageError("name a study: %v (bism help study describes them)", studyNames())
	}
	f, ok := studies[args[0]]
	if !ok {
		return usageError("no study %q (want one of %v)", args[0], studyNames())
	}
	return f(args[1:])
}

// openStudy parses a study's flags and opens its run.
func openStudy(name string, args []string, full bool, declare func(fs *flag.FlagSet)) (*experiment.Experiment, error) {
	var a runArgs
	fs := newFlags("study")
	fs.StringVar(&a.run, "run", "", "run directory")
	fs.StringVar(&a.checkpoint, "checkpoint", "", "checkpoint `file` (default RUN/checkpoint.safetensors)")
	fs.StringVar(&a.data, "data", "", "data folder")
	if declare != nil {
		declare(fs)
	}
	if err := parse(fs, args, false); err != nil {
		return nil, err
	}
	if a.run == "" {
		return nil, usageError("study %s: -run is required", name)
	}
	var sets []string
	if a.data != "" {
		sets = []string{"data.dir=" + a.data}
	}
	e, _, err := experiment.Open(a.run, a.checkpoint, sets, experiment.Options{FullState: full})
	return e, err
}

func studyFig1(args []string) error {
	var asJSON bool
	var o study.Fig1Options
	e, err := openStudy("fig1", args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print the points as JSON")
		fs.IntVar(&o.KStar, "kstar", 1000, "kept inner steps approximating φ*")
		fs.IntVar(&o.NRef, "nref", 100, "unrolled steps of the reference gradient")
	})
	if err != nil {
		return err
	}
	o.Progress = stderr
	pts, err := study.Fig1(e, o)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(pts)
	}
	fmt.Fprintf(stdout, "%4s %4s %12s %12s %12s\n", "K", "N", "bias", "rel. bias", "|φ0 - φ*|")
	for _, p := range pts {
		fmt.Fprintf(stdout, "%4d %4d %12.5g %12.5g %12.5g\n", p.K, p.N, p.Bias, p.RelBias, p.PhiDist)
	}
	return nil
}

func studyGradSplit(args []string) error {
	var asJSON bool
	var draws, batches int
	e, err := openStudy("gradsplit", args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print one JSON object")
		fs.IntVar(&draws, "draws", 200, "draws of q's noise averaged per gradient")
		fs.IntVar(&batches, "batches", 5, "minibatches (consecutive training rows) averaged")
	})
	if err != nil {
		return err
	}
	if draws < 1 || batches < 1 {
		return usageError("-draws and -batches must be positive")
	}
	r, err := study.GradSplit(e, draws, batches)
	if err != nil {
		return err
	}
	if asJSON {
		m := map[string]any{"run": e.Dir, "iter": r.Iter, "n": r.N, "total_rel_err": r.TotalRelErr,
			"fixed_rel_err": r.FixedRelErr, "fixed_cos": r.FixedCos}
		if !math.IsNaN(r.PosteriorPathRecovered) {
			m["alg1_rel_err"], m["alg1_cos"], m["alg1_rel_err_w"], m["alg1_cos_w"], m["alg1_spread_w"] = r.Alg1RelErr, r.Alg1Cos, r.Alg1RelErrW, r.Alg1CosW, r.Alg1SpreadW
			m["posterior_path_recovered"] = r.PosteriorPathRecovered
		}
		return json.NewEncoder(stdout).Encode(m)
	}
	fmt.Fprintf(stdout, "%s at iteration %d (N = %d), relative to the marginal score-matching gradient:\n", e.Dir, r.Iter, r.N)
	fmt.Fprintf(stdout, "  through the exact posterior φ*(θ) (Theorem 1): rel. error %.2g\n", r.TotalRelErr)
	fmt.Fprintf(stdout, "  φ* held fixed:                                  rel. error %.3f, cosine %.3f\n", r.FixedRelErr, r.FixedCos)
	if !math.IsNaN(r.PosteriorPathRecovered) {
		fmt.Fprintf(stdout, "  Algorithm 1 at the trained posterior:           rel. error %.3f, cosine %.3f (W alone: %.3f, %.3f; one-draw spread %.2f)\n",
			r.Alg1RelErr, r.Alg1Cos, r.Alg1RelErrW, r.Alg1CosW, r.Alg1SpreadW)
		fmt.Fprintf(stdout, "  posterior path recovered: %.3f\n", r.PosteriorPathRecovered)
	}
	return nil
}

func studyScoreVar(args []string) error {
	e, err := openStudy("scorevar", args, false, nil)
	if err != nil {
		return err
	}
	return study.ScoreVar(stdout, e)
}

func studyLatentNorm(args []string) error {
	e, err := openStudy("latentnorm", args, false, nil)
	if err != nil {
		return err
	}
	return study.LatentNorm(stdout, e)
}
