package experiment

import (
	"context"
	"sync"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
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
