package experiment

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// TestResumeIsExact trains 40 iterations in one go and 20+20 with a resume
// in between; the final parameters must be identical, which requires the
// optimizers' state, the posterior, the data order and the random stream to
// be checkpointed.
func TestResumeIsExact(t *testing.T) {
	for _, method := range []config.Method{config.BiSSM, config.PCD, config.NCE, config.VNCE} {
		t.Run(string(method), func(t *testing.T) {
			cfg := quickConfig(method)
			a := build(t, cfg, t.TempDir(), nil)
			trainMetrics(t, a)
			half := cfg
			half.Train.Iterations = 20
			dirB := t.TempDir()
			trainMetrics(t, build(t, half, dirB, nil))
			b := resumed(t, cfg, dirB, nil)
			if b.Run.Iter() != 20 {
				t.Fatalf("resumed at iteration %d", b.Run.Iter())
			}
			if recs := trainMetrics(t, b); len(recs) != 2 {
				t.Fatalf("metrics after resume: %d records", len(recs))
			}
			sameState(t, a, b)
		})
	}
}

// TestCheckpointIsReadableSafetensors checks the documented layout.
func TestCheckpointIsReadableSafetensors(t *testing.T) {
	dir := t.TempDir()
	trainMetrics(t, build(t, quickConfig(config.BiDSM), dir, nil))
	ts, meta, err := checkpoint.Load(filepath.Join(dir, train.CheckpointFile))
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
	if meta["iter"] != "40" || meta["format"] != "bism-grbm-v1" || meta["method"] != "bidsm" {
		t.Fatalf("metadata %v", meta)
	}
}

// TestDivergenceStopsWithClearError: a NaN parameter stops training with
// ErrDiverged, and the message names only files that exist.
func TestDivergenceStopsWithClearError(t *testing.T) {
	dir := t.TempDir()
	e := build(t, quickConfig(config.SSM), dir, nil)
	e.Model.Params().Get("W").SetFlat(0, math.NaN())
	err := e.Run.Train(context.Background())
	if !errors.Is(err, train.ErrDiverged) || !strings.Contains(err.Error(), "iteration 1") || !strings.Contains(err.Error(), "no checkpoint was saved") {
		t.Fatalf("got %v", err)
	}
	// After a saved checkpoint the message names it and its iteration.
	cfg := quickConfig(config.SSM)
	trainMetrics(t, build(t, cfg, dir, nil))
	more := cfg
	more.Train.Iterations = 60
	r := resumed(t, more, dir, nil)
	r.Model.Params().Get("W").SetFlat(0, math.NaN())
	err = r.Run.Train(context.Background())
	if !errors.Is(err, train.ErrDiverged) || !strings.Contains(err.Error(), "last good checkpoint is "+filepath.Join(dir, train.CheckpointFile)+" (iteration 40)") {
		t.Fatalf("got %v", err)
	}
}

func TestCorruptCheckpointResume(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, train.CheckpointFile), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := build(t, quickConfig(config.SSM), dir, nil).Run.Restore(filepath.Join(dir, train.CheckpointFile))
	if err == nil || !strings.Contains(err.Error(), train.CheckpointFile) {
		t.Fatalf("got %v", err)
	}
}

// TestResumeRefusesOtherExperiment: a checkpoint records its method and
// data set, and a run of another method refuses it.
func TestResumeRefusesOtherExperiment(t *testing.T) {
	dir := t.TempDir()
	trainMetrics(t, build(t, quickConfig(config.BiSSM), dir, nil))
	other := quickConfig(config.BiDSM)
	err := build(t, other, t.TempDir(), nil).Run.Restore(filepath.Join(dir, train.CheckpointFile))
	if err == nil || !strings.Contains(err.Error(), `method "bissm"`) {
		t.Fatalf("got %v", err)
	}
}

func TestFiguresAndSamples(t *testing.T) {
	dir := t.TempDir()
	cfg := quickConfig(config.CD)
	cfg.Method.K = 1
	e := build(t, cfg, dir, nil)
	trainMetrics(t, e)
	files, err := e.Figures()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"density.png", "ll.png", "loss.png", "fisher.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s missing (wrote %v)", f, files)
		}
	}
	// A 2-D GRBM is sampled as points over its density.
	s, err := e.Sample(SampleOptions{N: 50, Steps: 3, Seed: 1})
	if err != nil || len(s) != 1 || filepath.Base(s[0]) != "samples.png" {
		t.Fatalf("sample: %v, %v", s, err)
	}
	if _, err := e.Denoise(0.5, SampleOptions{}); err == nil || !strings.Contains(err.Error(), "deep model") {
		t.Fatalf("denoise on a GRBM: %v", err)
	}
}

// TestWarmupInRun checks that train.warmup reaches the run: the learning
// rate recorded after iteration i is lr·i/warmup during the warm-up and lr
// after it (constant schedule).
func TestWarmupInRun(t *testing.T) {
	c := quickConfig(config.DSM)
	c.Train.Iterations, c.Train.EvalEvery, c.Train.Warmup = 6, 1, 4
	c.Eval.LLDuringTraining, c.Eval.Fisher = false, false
	recs := trainMetrics(t, build(t, c, t.TempDir(), nil))
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

// TestArenaMatchesHeap trains every method a few steps with the step-scoped
// arena (every tensor in the arena), once with released storage poisoned
// with NaN and once reused, and on the heap. The parameters must agree bit
// for bit: any tensor kept past its step or past its release (tensor.Release:
// the gradients a backward pass frees), or any operation that does not
// overwrite its uninitialised result, would read NaN or another tensor's
// values.
func TestArenaMatchesHeap(t *testing.T) {
	for _, method := range []config.Method{config.BiSSM, config.BiDSM, config.BiMDSM, config.BiSM, config.SM, config.SSM,
		config.DSM, config.MDSM, config.CD, config.PCD, config.NCE, config.VNCE} {
		t.Run(string(method), func(t *testing.T) {
			cfg := quickConfig(method)
			cfg.Train.BatchSize = 20
			cfg.Model.Hidden = 6
			if method == config.SM || method == config.BiSM {
				cfg.Method.N = 2
			}
			if method == config.MDSM || method == config.BiMDSM {
				cfg.Method.SigmaBegin, cfg.Method.SigmaEnd, cfg.Method.Sigma0 = 0.05, 1, 0.1
			}
			heap, poisoned, reused := build(t, cfg, "", nil), build(t, cfg, "", nil), build(t, cfg, "", nil)
			heap.Run.NoArena = true
			for _, e := range []*Experiment{poisoned, reused} {
				e.Run.Arena = tensor.NewArena()
				e.Run.Arena.Poison, e.Run.Arena.MinElems = e == poisoned, 1
			}
			for i := 0; i < 6; i++ {
				for _, e := range []*Experiment{heap, poisoned, reused} {
					if err := e.Run.Steps(1); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
			}
			if poisoned.Run.Arena.Misses() == 0 {
				t.Fatal("the arena served nothing")
			}
			sameState(t, heap, poisoned)
			sameState(t, heap, reused)
		})
	}
}

// TestLogNormaliserWaitsForFiniteStep: NCE and VNCE step their
// log-normaliser only once the step is known to be finite, so a diverging
// step leaves it as it was.
func TestLogNormaliserWaitsForFiniteStep(t *testing.T) {
	for _, m := range []config.Method{config.NCE, config.VNCE} {
		e := build(t, quickConfig(m), "", nil)
		if err := e.Run.Steps(2); err != nil {
			t.Fatal(err)
		}
		logZ := e.Run.Method.State()[len(e.Run.Method.State())-1].Params
		before := logZ.Clone()
		e.Model.Params().Get("W").SetFlat(0, math.NaN())
		if err := e.Run.Steps(1); !errors.Is(err, train.ErrDiverged) {
			t.Fatalf("%s: %v", m, err)
		}
		sameValues(t, before, logZ)
	}
}

// TestFilesOfARun: a GRBM run saves its checkpoint at every metrics record
// and writes snapshots only when asked.
func TestFilesOfARun(t *testing.T) {
	dir := t.TempDir()
	e := build(t, quickConfig(config.DSM), dir, nil) // records at 20 and 40
	record := e.Run.Record
	var seen []string
	e.Run.Record = func(rec train.Record, v *tensor.Tensor) error {
		_, meta, err := checkpoint.Load(filepath.Join(dir, train.CheckpointFile))
		if err == nil {
			seen = append(seen, meta["iter"])
		}
		return record(rec, v)
	}
	trainMetrics(t, e)
	if len(seen) != 1 || seen[0] != "20" {
		t.Errorf("checkpoints found at the records: %v, want [20] (saved at the record of iteration 20)", seen)
	}
	if _, err := os.Stat(filepath.Join(dir, train.SnapshotDir)); err == nil {
		t.Error("a run without train.checkpoint_every wrote snapshots")
	}
}

// TestTrainResolvesOverridesWithTheFile: Train resolves -set overrides
// together with the config file, so switching a file without method.n to
// the implicit gradient leaves n unset instead of failing on its default.
func TestTrainResolvesOverridesWithTheFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(f, []byte("data: {name: checkerboard}\nmethod: {name: bidsm}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Train(context.Background(), TrainOptions{Config: f, Dir: t.TempDir(),
		Overrides: []string{"method.gradient=implicit", "train.iterations=4", "train.eval_every=2"}})
	if err != nil {
		t.Fatal(err)
	}
	if m := e.Config.Method; m.N != 0 || m.Unroll != "" || e.BiLevel().Implicit == nil {
		t.Fatalf("method %+v", m)
	}
}
