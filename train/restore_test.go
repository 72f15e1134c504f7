package train_test

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/train"
)

// savedRun trains a tiny bi-level GRBM run and returns its config and its
// checkpoint's contents.
func savedRun(t testing.TB) (config.Config, map[string]checkpoint.Tensor, map[string]string) {
	t.Helper()
	cfg := config.Defaults()
	cfg.Train.Iterations, cfg.Train.EvalEvery, cfg.Train.BatchSize = 3, 3, 10
	cfg.Eval.LLDuringTraining, cfg.Eval.Fisher = false, false
	dir := t.TempDir()
	e, err := experiment.New(cfg, dir, experiment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Run.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := checkpoint.Load(filepath.Join(dir, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, ts, meta
}

// restore writes ts and meta as a checkpoint and restores it into a fresh
// run of cfg.
func restore(t testing.TB, cfg config.Config, ts map[string]checkpoint.Tensor, meta map[string]string) error {
	t.Helper()
	p := filepath.Join(t.TempDir(), "c.safetensors")
	if err := checkpoint.Save(p, ts, meta); err != nil {
		return err
	}
	e, err := experiment.New(cfg, "", experiment.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return e.Run.Restore(p)
}

func clone(ts map[string]checkpoint.Tensor, meta map[string]string) (map[string]checkpoint.Tensor, map[string]string) {
	t2, m2 := map[string]checkpoint.Tensor{}, map[string]string{}
	for k, v := range ts {
		t2[k] = v
	}
	for k, v := range meta {
		m2[k] = v
	}
	return t2, m2
}

// TestRestoreValidates: every field read from a checkpoint is checked, and
// a bad one is an error naming it, never a panic.
func TestRestoreValidates(t *testing.T) {
	cfg, ts, meta := savedRun(t)
	if err := restore(t, cfg, ts, meta); err != nil {
		t.Fatalf("the good checkpoint: %v", err)
	}
	cases := []struct {
		name string
		edit func(ts map[string]checkpoint.Tensor, meta map[string]string)
		want string
	}{
		{"negative data_pos", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["data_pos"] = "-3" }, "data position"},
		{"data_pos beyond the epoch", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["data_pos"] = "1000000" }, "beyond the epoch"},
		{"bad iteration", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["iter"] = "x" }, "iteration"},
		{"negative elapsed", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["elapsed_s"] = "-1" }, "training time"},
		{"bad rng", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["rng"] = "AAAA" }, "random generator"},
		{"fewer moments", func(ts map[string]checkpoint.Tensor, _ map[string]string) { delete(ts, "optim/theta/v.1") }, "optim/theta/"},
		{"moment of the wrong shape", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			ts["optim/theta/m.0"] = checkpoint.F32([]int{3}, []float32{0, 0, 0})
		}, "shapes"},
		{"non-scalar step", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			ts["optim/theta/step"] = checkpoint.F64([]int{2}, []float64{3, 3})
		}, "scalar"},
		{"fractional step", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			ts["optim/theta/step"] = checkpoint.F64([]int{}, []float64{2.5})
		}, "whole"},
		{"NaN moment", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			m := ts["optim/posterior/v.0"]
			f := append([]float32(nil), m.F32...)
			f[0] = float32(math.NaN())
			ts["optim/posterior/v.0"] = checkpoint.F32(m.Shape, f)
		}, "not finite"},
		{"NaN parameter", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			w := ts["W"]
			f := append([]float32(nil), w.F32...)
			f[1] = float32(math.Inf(1))
			ts["W"] = checkpoint.F32(w.Shape, f)
		}, "non-finite"},
		{"missing parameter", func(ts map[string]checkpoint.Tensor, _ map[string]string) { delete(ts, "posterior/A") }, "posterior/A"},
		{"order not a permutation", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			o := ts["data/order"]
			i := append([]int64(nil), o.I64...)
			i[0] = i[1]
			ts["data/order"] = checkpoint.I64(o.Shape, i)
		}, "permutation"},
		{"other format", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["format"] = "bism-deep-v1" }, "format"},
		{"other method", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["method"] = "dsm" }, "method"},
	}
	for _, c := range cases {
		ts2, m2 := clone(ts, meta)
		c.edit(ts2, m2)
		err := restore(t, cfg, ts2, m2)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
}

// FuzzRestore feeds Restore checkpoints with fuzzed progress metadata and
// optimizer state: it must return an error or restore, never panic.
func FuzzRestore(f *testing.F) {
	cfg, ts, meta := savedRun(f)
	f.Add("3", "30", "1.5", int64(3), 3.0, 0, "")
	f.Add("-1", "-1", "nan", int64(-2), math.Inf(1), 5, "x")
	f.Add("99999999999999999999", "0", "0", int64(1<<40), -1.0, 1, "AAAA")
	f.Fuzz(func(t *testing.T, iter, pos, elapsed string, orderEntry int64, step float64, dropMoment int, rng string) {
		ts2, m2 := clone(ts, meta)
		m2["iter"], m2["data_pos"], m2["elapsed_s"] = iter, pos, elapsed
		if rng != "" {
			m2["rng"] = rng
		}
		o := ts2["data/order"]
		ord := append([]int64(nil), o.I64...)
		ord[0] = orderEntry
		ts2["data/order"] = checkpoint.I64(o.Shape, ord)
		ts2["optim/theta/step"] = checkpoint.F64([]int{}, []float64{step})
		if dropMoment > 0 {
			delete(ts2, "optim/theta/m."+string(rune('0'+dropMoment%4)))
		}
		restore(t, cfg, ts2, m2) // must not panic
	})
}
