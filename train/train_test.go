package train

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/optim"
)

// trainMetrics trains r to its end and returns the metrics records it wrote
// in dir (GRBM and deep runs alike).
func trainMetrics(t *testing.T, r interface{ Train() error }, dir string) []map[string]float64 {
	t.Helper()
	if err := r.Train(); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func quickConfig(method string) Config {
	c := Defaults()
	c.Method.Name = method
	c.Train.Iterations = 40
	c.Train.EvalEvery = 20
	c.Eval.Grid = 20
	return c
}

// TestResumeIsExact trains 40 iterations in one go and 20+20 with a resume
// in between; the final parameters must be identical, which requires the
// optimizers' state, the posterior, the data order and the random stream to
// be checkpointed.
func TestResumeIsExact(t *testing.T) {
	for _, method := range []string{"bissm", "pcd", "nce"} {
		t.Run(method, func(t *testing.T) {
			cfg := quickConfig(method)
			dirA, dirB := t.TempDir(), t.TempDir()
			a, err := New(cfg, dirA, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Train(); err != nil {
				t.Fatal(err)
			}
			half := cfg
			half.Train.Iterations = 20
			b, err := New(half, dirB, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Train(); err != nil {
				t.Fatal(err)
			}
			b2, err := New(cfg, dirB, Options{Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			if b2.Iter() != 20 {
				t.Fatalf("resumed at iteration %d", b2.Iter())
			}
			if err := b2.Train(); err != nil {
				t.Fatal(err)
			}
			for _, n := range a.Model.Params().Names() {
				x, y := a.Model.Params().Get(n).Values(), b2.Model.Params().Get(n).Values()
				for i := range x {
					if x[i] != y[i] {
						t.Fatalf("%s[%d]: uninterrupted %v, resumed %v", n, i, x[i], y[i])
					}
				}
			}
			recs, err := ReadMetrics(filepath.Join(dirB, MetricsFile))
			if err != nil || len(recs) != 2 {
				t.Fatalf("metrics after resume: %v records, err %v", len(recs), err)
			}
		})
	}
}

// TestCheckpointIsReadableSafetensors checks the documented layout.
func TestCheckpointIsReadableSafetensors(t *testing.T) {
	dir := t.TempDir()
	r, err := New(quickConfig("bidsm"), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Train(); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := checkpoint.Load(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]int{"W": {2, 4}, "b": {2}, "c": {4}, "log_sigma": {2}, "posterior/A": {2, 4}}
	for name, shape := range want {
		x, ok := ts[name]
		if !ok || x.DType != checkpoint.DTypeF32 || len(x.Shape) != len(shape) {
			t.Fatalf("tensor %s: %+v", name, x)
		}
	}
	if meta["iter"] != "40" {
		t.Fatalf("metadata %v", meta)
	}
}

func TestDivergenceStopsWithClearError(t *testing.T) {
	dir := t.TempDir()
	cfg := quickConfig("ssm")
	r, err := New(cfg, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Model.Params().Get("W").SetFlat(0, math.NaN())
	err = r.Train()
	if !errors.Is(err, ErrDiverged) || !strings.Contains(err.Error(), "iteration 1") {
		t.Fatalf("got %v", err)
	}
}

func TestCorruptCheckpointResume(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, CheckpointFile), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(quickConfig("ssm"), dir, Options{Resume: true}); err == nil || !strings.Contains(err.Error(), CheckpointFile) {
		t.Fatalf("got %v", err)
	}
}

func TestValidateNamesTheKey(t *testing.T) {
	cases := map[string]func(*Config){
		"method.name":          func(c *Config) { c.Method.Name = "xsm" },
		"train.iterations":     func(c *Config) { c.Train.Iterations = 0 },
		"eval.ll":              func(c *Config) { c.Model.Hidden = 400 },
		"method.sigma":         func(c *Config) { c.Method.Name = "dsm"; c.Method.Sigma = 0 },
		"train.schedule":       func(c *Config) { c.Train.Schedule = "step" },
		"train.warmup":         func(c *Config) { c.Train.Warmup = -1 },
		"train.inner_schedule": func(c *Config) { c.Train.InnerSchedule = "linear" },
	}
	for key, mutate := range cases {
		c := Defaults()
		mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: got %v", key, err)
		}
	}
}

func TestReportWritesFigures(t *testing.T) {
	dir := t.TempDir()
	r, err := New(quickConfig("cd"), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Cfg.Method.K = 1
	if err := r.Train(); err != nil {
		t.Fatal(err)
	}
	files, err := Report(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"density.png", "ll.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing (wrote %v)", f, files)
		}
	}
}

// TestWarmupInRun checks that train.warmup reaches the run: the learning
// rate recorded after iteration i is lr·i/warmup during the warm-up and lr
// after it (constant schedule).
func TestWarmupInRun(t *testing.T) {
	c := quickConfig("dsm")
	c.Train.Iterations, c.Train.EvalEvery, c.Train.Warmup = 6, 1, 4
	c.Eval.LLDuringTraining, c.Eval.Fisher = false, false
	dir := t.TempDir()
	r, err := New(c, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := trainMetrics(t, r, dir)
	want := []float64{0.25, 0.5, 0.75, 1, 1, 1}
	if len(recs) != len(want) {
		t.Fatalf("%d metrics records, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		if int(rec["iter"]) != i+1 || math.Abs(rec["lr"]-want[i]*c.Train.LR) > 1e-15 {
			t.Fatalf("record %d: iteration %v, lr %v; want %d, %v", i, rec["iter"], rec["lr"], i+1, want[i]*c.Train.LR)
		}
	}
}

// TestInnerLR checks q's learning rate: by default a fixed multiple of θ's
// (so it anneals with it), and with train.inner_schedule its own schedule
// from inner_lr after the same warm-up.
func TestInnerLR(t *testing.T) {
	base := TrainConfig{LR: 1e-3, Iterations: 100, Schedule: "cosine", Warmup: 10}
	sched := optim.WithWarmup(optim.Cosine, base.Warmup)
	cases := []struct {
		name     string
		inner    float64
		schedule string
		it       int
		want     float64
	}{
		{"follows lr", 0, "", 50, sched(1e-3, 50, 100)},
		{"twice lr", 2e-3, "", 70, 2 * sched(1e-3, 70, 100)},
		{"constant after warm-up", 2e-3, "constant", 70, 2e-3},
		{"constant in warm-up", 2e-3, "constant", 4, 2e-3 * 5 / 10},
		{"constant from lr", 0, "constant", 99, 1e-3},
		{"own cosine", 2e-3, "cosine", 70, optim.Cosine(2e-3, 70, 100)},
	}
	for _, c := range cases {
		tc := base
		tc.InnerLR, tc.InnerSchedule = c.inner, c.schedule
		thetaLR, innerLR := lrSchedules(tc)
		if got := thetaLR(c.it); got != sched(tc.LR, c.it, tc.Iterations) {
			t.Errorf("%s: θ's lr = %g, want %g", c.name, got, sched(tc.LR, c.it, tc.Iterations))
		}
		if got := innerLR(c.it); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: innerLR = %g, want %g", c.name, got, c.want)
		}
	}
}
