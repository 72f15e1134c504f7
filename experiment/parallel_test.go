package experiment

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/nn"
)

// trainRanks trains cfg as one data-parallel run over p goroutine ranks
// (dist.Local) in dir, through Train as the command line does, and returns
// rank 0's experiment.
func trainRanks(t *testing.T, cfg config.Config, dir string, split *data.Split, p int, resume Resume) *Experiment {
	t.Helper()
	file := writeConfig(t, cfg)
	exps := make([]*Experiment, p)
	errs := dist.RunLocal(p, func(c dist.Comm) (err error) {
		exps[c.Rank()], err = Train(context.Background(), TrainOptions{Config: file, Dir: dir, Resume: resume, Data: split,
			Group: dist.NewGroup(c), SkipMemoryCheck: true})
		return err
	})
	for r, err := range errs {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := 1; r < p; r++ {
		sameState(t, exps[0], exps[r]) // the replicas never drift apart
	}
	return exps[0]
}

// closeValues fails unless a and b agree to tol relative to each tensor's
// largest entry.
func closeValues(t *testing.T, a, b *nn.Params, tol float64) {
	t.Helper()
	for _, n := range a.Names() {
		x, y := a.Get(n).Values(), b.Get(n).Values()
		var diff, scale float64
		for i := range x {
			diff = math.Max(diff, math.Abs(x[i]-y[i]))
			scale = math.Max(scale, math.Abs(x[i]))
		}
		if diff > tol*math.Max(scale, 1e-3) {
			t.Errorf("%s: differs by %.3g (largest entry %.3g)", n, diff, scale)
		}
	}
}

// TestDataParallelMatchesOneProcess: a run split across ranks takes the
// steps one process takes on the same global batches, to float32
// round-off: the noise of each row is the one the whole batch draws, φ's
// inner steps (real and unrolled) and θ's step average over the global
// batch, and θ's gradient flows back through the unrolled steps of every
// rank. Uneven splits (3 ranks) check the weighting.
func TestDataParallelMatchesOneProcess(t *testing.T) {
	grbm := func(m config.Method, k, n int) config.Config {
		c := quickConfig(m)
		c.Method.K, c.Method.N = k, n
		c.Train.Iterations, c.Train.EvalEvery = 20, 10
		c.Eval.LL = config.LLNone
		c.Eval.Fisher = false
		return c
	}
	uneven := grbm(config.BiDSM, 2, 3)
	uneven.Train.BatchSize = 5 // rows 2, 2, 1
	deepEBLVM := tinyDeepConfig(config.DeepEBLVM)
	deepEBLVM.Method.N = 2
	deepEBLVM.Train.BatchSize = 6
	images := tinyImages(t, 12)
	for _, c := range []struct {
		name  string
		cfg   config.Config
		split *data.Split
		ranks int
	}{
		{"grbm bissm", grbm(config.BiSSM, 2, 3), nil, 2},
		{"grbm bidsm uneven", uneven, nil, 3},
		{"grbm dsm", grbm(config.DSM, 0, 0), nil, 2},
		{"grbm cd", grbm(config.CD, 1, 0), nil, 3},
		{"deep bimdsm", deepEBLVM, images, 2},
		{"deep mdsm uneven", tinyDeepConfig(config.ResNetEBM), images, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			one := t.TempDir()
			e1, err := Train(context.Background(), TrainOptions{Config: writeConfig(t, c.cfg), Dir: one, Data: c.split, SkipMemoryCheck: true})
			if err != nil {
				t.Fatal(err)
			}
			ep := trainRanks(t, c.cfg, t.TempDir(), c.split, c.ranks, ResumeNo)
			// Sums across ranks are taken in another order than one
			// process's: float32 round-off (ε = 1.2e-7) that 20 Adam steps
			// carry; observed up to 3e-7 relative.
			const tol = 1e-5
			closeValues(t, e1.Model.Params(), ep.Model.Params(), tol)
			if e1.Posterior != nil {
				closeValues(t, e1.Posterior.Params(), ep.Posterior.Params(), tol)
			}
			r1, rp := readMetricsOf(t, e1), readMetricsOf(t, ep)
			if len(r1) != len(rp) {
				t.Fatalf("%d records against %d", len(r1), len(rp))
			}
			for i := range r1 {
				for k, v := range r1[i] {
					if k == "elapsed_s" {
						continue
					}
					if w := rp[i][k]; math.Abs(v-w) > tol*math.Max(math.Abs(v), 1e-3) {
						t.Errorf("record %d: %s = %v with one process, %v with %d ranks", i, k, v, w, c.ranks)
					}
				}
			}
		})
	}
}

func writeConfig(t *testing.T, cfg config.Config) string {
	t.Helper()
	b, err := config.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestDataParallelResume: a data-parallel run stopped at its checkpoint and
// resumed on its ranks ends where the uninterrupted one does, bit for bit.
func TestDataParallelResume(t *testing.T) {
	cfg := quickConfig(config.BiDSM)
	cfg.Method.K, cfg.Method.N = 2, 2
	cfg.Train.Iterations, cfg.Train.EvalEvery = 20, 10
	whole := trainRanks(t, cfg, t.TempDir(), nil, 2, ResumeNo)
	dir := t.TempDir()
	half := cfg
	half.Train.Iterations = 10
	trainRanks(t, half, dir, nil, 2, ResumeNo)
	resumed := trainRanks(t, cfg, dir, nil, 2, ResumeYes)
	sameState(t, whole, resumed)
	if got := resumed.Run.Iter(); got != 20 {
		t.Fatalf("resumed run ended at %d", got)
	}
}

// TestDataParallelRefuses the methods that cannot be split by rows.
func TestDataParallelRefuses(t *testing.T) {
	implicit := quickConfig(config.BiDSM)
	implicit.Method.Gradient, implicit.Method.N, implicit.Method.Unroll = config.GradientImplicit, 0, ""
	tiny := quickConfig(config.DSM)
	tiny.Train.BatchSize = 1
	for _, c := range []struct {
		cfg  config.Config
		want string
	}{
		{quickConfig(config.PCD), "pcd is not supported"},
		{quickConfig(config.NCE), "nce is not supported"},
		{implicit, "implicit gradient"},
		{tiny, "a batch of 1 cannot be split across 2 ranks"},
	} {
		g := dist.NewGroup(dist.Local(2)[0])
		_, err := New(c.cfg, "", Options{Group: g})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.cfg.Method.Name, err, c.want)
		}
	}
}

// TestEvaluateDeepAcrossRanks: the sample scores of a deep model with its
// Langevin chains split over goroutine ranks are those of one process
// (joint and bi-level samplers; 7 chains over 3 ranks is uneven).
func TestEvaluateDeepAcrossRanks(t *testing.T) {
	split := tinyImages(t, 12)
	cfg := tinyDeepConfig(config.DeepEBLVM)
	dir := t.TempDir()
	if _, err := Train(context.Background(), TrainOptions{Config: writeConfig(t, cfg), Dir: dir, Data: split, SkipMemoryCheck: true}); err != nil {
		t.Fatal(err)
	}
	for _, sampler := range []config.Sampler{config.SamplerJoint, config.SamplerBiLevel} {
		o := EvalOptions{N: 7, Steps: 6, Seed: 3, ProbeN: 12, Sampler: sampler}
		one, err := resumed(t, cfg, dir, split).Evaluate(o)
		if err != nil {
			t.Fatal(err)
		}
		res := make([]map[string]float64, 3)
		errs := dist.RunLocal(3, func(c dist.Comm) (err error) {
			e, _, err := Open(dir, "", nil, Options{Data: split})
			if err != nil {
				return err
			}
			oc := o
			oc.Across = c
			res[c.Rank()], err = e.Evaluate(oc)
			return err
		})
		for r := range res {
			if errs[r] != nil {
				t.Fatalf("%s, rank %d: %v", sampler, r, errs[r])
			}
			for k, v := range one {
				if w := res[r][k]; w != v && !(math.IsNaN(v) && math.IsNaN(w)) {
					t.Errorf("%s, rank %d: %s = %v, one process %v", sampler, r, k, w, v)
				}
			}
		}
	}
	if _, err := resumed(t, cfg, dir, split).Evaluate(EvalOptions{N: 2, Steps: 6, Across: dist.Local(3)[0]}); err == nil ||
		!strings.Contains(err.Error(), "too few for 3 processes") {
		t.Fatalf("2 chains over 3 processes: %v", err)
	}
}
