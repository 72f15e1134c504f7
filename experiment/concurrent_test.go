package experiment

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/internal/parallel"
)

// TestConcurrentRuns trains two models at once in one process (a GRBM with
// BiSSM and a deep EBLVM with BiMDSM, each with its own arena) and checks
// that both end exactly where they end when trained one after the other:
// no state is shared between computations.
func TestConcurrentRuns(t *testing.T) {
	grbm := quickConfig(config.BiSSM)
	grbm.Train.Iterations, grbm.Train.EvalEvery = 60, 20
	deepCfg := tinyDeepConfig(config.DeepEBLVM)
	deepCfg.Train.Iterations, deepCfg.Method.N = 4, 1
	split := tinyImages(t, 10)
	cases := []struct {
		cfg   config.Config
		split *data.Split
	}{{grbm, nil}, {deepCfg, split}, {quickConfig(config.PCD), nil}}

	trainAll := func(concurrently bool) []*Experiment {
		out := make([]*Experiment, len(cases))
		var wg sync.WaitGroup
		for i, c := range cases {
			e := build(t, c.cfg, t.TempDir(), c.split)
			out[i] = e
			if !concurrently {
				trainMetrics(t, e)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := e.Run.Train(context.Background()); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		return out
	}
	alone, together := trainAll(false), trainAll(true)
	for i := range cases {
		sameState(t, alone[i], together[i])
		a := readMetricsOf(t, alone[i])
		b := readMetricsOf(t, together[i])
		for j := range a {
			for k, v := range a[j] {
				if k != "elapsed_s" && b[j][k] != v {
					t.Fatalf("case %d record %d: %s = %v alone, %v concurrently", i, j, k, v, b[j][k])
				}
			}
		}
	}
}

// TestSameBitsWhateverTheCores trains with the work split over 1 and 3
// workers: parameters, optimizer state and metrics must be identical, bit
// for bit (splitting work may change who computes a piece, never the
// order of a reduction).
func TestSameBitsWhateverTheCores(t *testing.T) {
	grbm := quickConfig(config.BiDSM)
	grbm.Train.Iterations, grbm.Train.EvalEvery = 50, 25
	frey := grbm
	frey.Model.Hidden, frey.Train.BatchSize, frey.Eval.LL = 40, 64, config.LLNone
	// The MNIST CPU config's network on synthetic images: activations
	// large enough to be split over workers.
	deepCfg, err := config.Load("mnist/bimdsm-cpu", []string{"method.k=1", "method.n=1", "train.iterations=2", "train.eval_every=1"})
	if err != nil {
		t.Fatal(err)
	}
	split := tinyImages(t, 200)
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	for _, c := range []struct {
		name  string
		cfg   config.Config
		split *data.Split
	}{{"grbm", grbm, nil}, {"grbm-wide", frey, nil}, {"deep", deepCfg, split}} {
		var runs [2]*Experiment
		for i, w := range []int{1, 3} {
			parallel.Workers = w
			runs[i] = build(t, c.cfg, t.TempDir(), c.split)
			trainMetrics(t, runs[i])
		}
		sameState(t, runs[0], runs[1])
		for i, s := range runs[0].Run.ThetaOptimizer().State() {
			if !slices.Equal(s.Values(), runs[1].Run.ThetaOptimizer().State()[i].Values()) {
				t.Fatalf("%s: optimizer state %s differs", c.name, i)
			}
		}
		a, b := readMetricsOf(t, runs[0]), readMetricsOf(t, runs[1])
		for j := range a {
			for k, v := range a[j] {
				if k != "elapsed_s" && b[j][k] != v {
					t.Fatalf("%s record %d: %s = %v with 1 worker, %v with 3", c.name, j, k, v, b[j][k])
				}
			}
		}
	}
}
