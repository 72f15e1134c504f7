package experiment

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// quickConfig is a checkerboard GRBM run of 40 iterations.
func quickConfig(method config.Method) config.Config {
	c := config.Defaults()
	c.Method.Name = method
	c.Train.Iterations = 40
	c.Train.EvalEvery = 20
	c.Eval.Grid = 20
	return c
}

// tinyImages is a synthetic labelled split of 1x32x32 images in [0,1].
func tinyImages(t *testing.T, n int) *data.Split {
	t.Helper()
	rng := tensor.NewRNG(9)
	mk := func(n int) *data.Set {
		x := rng.Uniform(tensor.Float32, 0, 1, n, 1, 32, 32).F32()
		labels := make([]int, n)
		for i := range labels {
			labels[i] = i % 3
		}
		s, err := data.NewSet(x, labels, 1, 32, 32)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return &data.Split{Train: mk(n), Test: mk(n)}
}

// tinyDeepConfig is a deep run small enough for a unit test.
func tinyDeepConfig(kind config.ModelKind) config.Config {
	c := config.Defaults()
	c.Data.Name = config.MNIST
	c.Model = config.ModelConfig{Kind: kind, Hidden: 2, Ch: 2, Features: 4, PosteriorCh: 2}
	c.Method = config.MethodConfig{Name: config.BiMDSM, K: 1, N: 0, Unroll: config.UnrollAdam, SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: true}
	if kind == config.ResNetEBM {
		c.Method.Name = config.MDSM
	}
	c.Train.Iterations = 3
	c.Train.BatchSize = 4
	c.Train.LR = 1e-3
	c.Train.EvalEvery = 1
	c.Train.CheckpointEvery = 2
	return c
}

// build makes an experiment in dir (on split when not nil).
func build(t *testing.T, cfg config.Config, dir string, split *data.Split) *Experiment {
	t.Helper()
	e, err := New(cfg, dir, Options{Data: split})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// resumed builds an experiment in dir and restores its checkpoint.
func resumed(t *testing.T, cfg config.Config, dir string, split *data.Split) *Experiment {
	t.Helper()
	e := build(t, cfg, dir, split)
	if err := e.Run.Restore(filepath.Join(dir, train.CheckpointFile)); err != nil {
		t.Fatal(err)
	}
	return e
}

// trainMetrics trains e to its end and returns the metrics it wrote.
func trainMetrics(t *testing.T, e *Experiment) []map[string]float64 {
	t.Helper()
	if err := e.Run.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs, err := train.ReadMetrics(filepath.Join(e.Dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// sameValues fails unless a and b hold identical values.
func sameValues(t *testing.T, a, b *nn.Params) {
	t.Helper()
	for _, n := range a.Names() {
		x, y := a.Get(n).Values(), b.Get(n).Values()
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d]: %v, then %v", n, i, x[i], y[i])
			}
		}
	}
}

// sameState fails unless the models and posteriors of a and b are equal.
func sameState(t *testing.T, a, b *Experiment) {
	t.Helper()
	sameValues(t, a.Model.Params(), b.Model.Params())
	if a.Posterior != nil {
		sameValues(t, a.Posterior.Params(), b.Posterior.Params())
	}
}

// readMetricsOf reads the metrics records of e's run.
func readMetricsOf(t *testing.T, e *Experiment) []map[string]float64 {
	t.Helper()
	recs, err := train.ReadMetrics(filepath.Join(e.Dir, train.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
