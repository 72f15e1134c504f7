package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/study"
)

const studyAbout = `
Research studies of trained runs:

  fig1 -run RUN [-json] [-k 0,1,2,5,10,20] [-n 0-20] [-draws 10] [-repeats 5] [-batch 0] [-implicit]
      the bias of Algorithm 1's gradient on a bi-level GRBM run (Theorem 2,
      Fig. 1): on one minibatch, for K real Adam steps and N unrolled steps
      (gradient descent at 1/λ_max and Adam), |E g_KN - g*| with g* the
      N -> ∞ limit and q's noise averaged (M draws in the inner loss, R
      repeats), and the distance of φ^0 to the inner loss's minimisers.
  gradsplit -run RUN [-json] [-draws 200] [-batches 5] [-gradient unroll -n N |
            -gradient implicit [-m M] [-solver-iters I] [-solver-tol T]]
      the θ-gradient of a GRBM run taken apart: the marginal score-matching
      gradient, the bi-level one through the exact posterior (equal to it by
      Theorem 1), the same with the posterior held fixed, and Algorithm 1's at
      the trained posterior; posterior_path_recovered is the share of the
      path through φ*(θ) the run's method recovers (1 all, 0 none). The run's
      own gradient by default; -gradient takes apart another one.
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
	var ks, ns string
	var implicit bool
	e, err := openStudy("fig1", args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print one JSON object")
		fs.StringVar(&ks, "k", "0,1,2,5,10,20", "real inner steps K: a list (and a-b ranges)")
		fs.StringVar(&ns, "n", "0-20", "unrolled steps N: a list (and a-b ranges)")
		fs.IntVar(&o.Draws, "draws", 10, "draws M of q's noise averaged in the inner loss")
		fs.IntVar(&o.Repeats, "repeats", 5, "independent sets of draws R (the Monte-Carlo error)")
		fs.IntVar(&o.Batch, "batch", 0, "minibatch of the training set (consecutive rows)")
		fs.BoolVar(&implicit, "implicit", false, "also measure the implicit gradient's bias (the run's method.solver* settings)")
	})
	if err != nil {
		return err
	}
	if o.Ks, err = intList(ks); err != nil {
		return usageError("-k: %v", err)
	}
	if o.Ns, err = intList(ns); err != nil {
		return usageError("-n: %v", err)
	}
	if o.Draws < 1 || o.Repeats < 1 {
		return usageError("-draws and -repeats must be positive")
	}
	o.Progress = stderr
	if implicit {
		im := experiment.ImplicitOf(e.Config.Method)
		im.Draws = o.Draws // the study's Ĝ_M
		o.Implicit = &im
	}
	r, err := study.Fig1(e, o)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(stdout).Encode(r)
	}
	fmt.Fprintf(stdout, "%s at iteration %d, minibatch %d; M = %d draws, R = %d repeats; α = 1/λ_max = %.4g; g* by %s\n",
		e.Dir, r.Iter, r.Batch, r.MDraws, r.Repeats, r.Alpha, r.Reference)
	fmt.Fprintf(stdout, "|g*| = %.4g, |g* - g_SM|/|g_SM| = %.3g; exact posterior's distance to the minimisers %.4g\n", r.GStarNorm, r.GStarVsMarginal, r.DistanceClosedForm)
	for ki, k := range r.K {
		fmt.Fprintf(stdout, "K = %d: |φ⁰ - φ̂*| = %.4g", k, r.Distance[ki])
		if r.DistanceExact != nil {
			fmt.Fprintf(stdout, " (noise-averaged minimisers: %.4g)", r.DistanceExact[ki])
		}
		if r.BiasImplicit != nil {
			fmt.Fprintf(stdout, "; implicit gradient's bias %.4g ± %.2g", r.BiasImplicit[ki], r.BiasImplicitStderr[ki])
		}
		fmt.Fprintln(stdout)
		fmt.Fprintf(stdout, "  %4s %22s %22s\n", "N", "bias, GD unroll", "bias, Adam unroll")
		for ni, n := range r.N {
			fmt.Fprintf(stdout, "  %4d %12.4g ± %-8.2g %12.4g ± %-8.2g\n", n, r.BiasGD[ki][ni], r.BiasGDStderr[ki][ni], r.BiasAdam[ki][ni], r.BiasAdamStderr[ki][ni])
		}
	}
	return nil
}

// intList parses "0,1,5-8" as [0 1 5 6 7 8].
func intList(s string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("%q is not a non-negative integer or range", part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil, fmt.Errorf("%q is not a range a-b with a <= b", part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	return out, nil
}

func studyGradSplit(args []string) error {
	var asJSON bool
	var draws, batches int
	var gradient string
	o := study.SplitOptions{N: -1}
	var im objective.Implicit // the flags; unset ones take the run's settings
	e, err := openStudy("gradsplit", args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print one JSON object")
		fs.IntVar(&draws, "draws", 200, "draws of q's noise averaged per gradient")
		fs.IntVar(&batches, "batches", 5, "minibatches (consecutive training rows) averaged")
		fs.StringVar(&gradient, "gradient", "", "the bi-level gradient to take apart: unroll or implicit (default: the run's own)")
		fs.IntVar(&o.N, "n", -1, "with -gradient unroll: unrolled steps (default: the run's method.n)")
		fs.IntVar(&im.Draws, "m", 0, "with -gradient implicit: draws in the inner loss's Hessian (default: the run's method.draws)")
		fs.IntVar(&im.Iters, "solver-iters", 0, "with -gradient implicit: iteration limit (default: the run's method.solver_iters)")
		fs.Float64Var(&im.Tol, "solver-tol", 0, "with -gradient implicit: relative tolerance (default: the run's method.solver_tol)")
	})
	if err != nil {
		return err
	}
	if draws < 1 || batches < 1 {
		return usageError("-draws and -batches must be positive")
	}
	o.Draws, o.Batches = draws, batches
	mc := e.Config.Method
	switch gradient {
	case "":
		if o.N >= 0 && mc.Gradient == config.GradientImplicit {
			return usageError("-n needs -gradient unroll: the run's gradient is implicit")
		}
	case string(config.GradientUnroll):
		if o.N < 0 {
			o.N = mc.N
		}
	case string(config.GradientImplicit):
		if o.N >= 0 {
			return usageError("-n is for -gradient unroll")
		}
		run := experiment.ImplicitOf(mc)
		run.Draws, run.Iters, run.Tol = cmp.Or(im.Draws, run.Draws), cmp.Or(im.Iters, run.Iters), cmp.Or(im.Tol, run.Tol)
		o.Implicit = &run
	default:
		return usageError("-gradient is unroll or implicit, got %q", gradient)
	}
	r, err := study.GradSplit(e, o)
	if err != nil {
		return err
	}
	if asJSON {
		m := map[string]any{"run": e.Dir, "iter": r.Iter, "n": r.N, "gradient": r.Gradient, "total_rel_err": r.TotalRelErr,
			"fixed_rel_err": r.FixedRelErr, "fixed_cos": r.FixedCos}
		if !math.IsNaN(r.PosteriorPathRecovered) {
			m["alg1_rel_err"], m["alg1_cos"], m["alg1_rel_err_w"], m["alg1_cos_w"], m["alg1_spread_w"] = r.Alg1RelErr, r.Alg1Cos, r.Alg1RelErrW, r.Alg1CosW, r.Alg1SpreadW
			m["posterior_path_recovered"] = r.PosteriorPathRecovered
		}
		return json.NewEncoder(stdout).Encode(m)
	}
	how := fmt.Sprintf("N = %d", r.N)
	if r.Gradient == "implicit" {
		how = "implicit gradient"
	}
	fmt.Fprintf(stdout, "%s at iteration %d (%s), relative to the marginal score-matching gradient:\n", e.Dir, r.Iter, how)
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
