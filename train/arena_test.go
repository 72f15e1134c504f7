package train

import (
	"testing"

	"github.com/bism-ml/bism/nn"
)

// TestArenaMatchesHeap trains every method a few steps twice, once with the
// step-scoped arena (released storage poisoned with NaN, every tensor in the
// arena) and once on the heap. The parameters must agree bit for bit: any
// tensor kept past its step, or any operation that does not overwrite its
// uninitialised result, would read NaN or another step's values.
func TestArenaMatchesHeap(t *testing.T) {
	for _, method := range []string{"bissm", "bidsm", "bimdsm", "bism", "sm", "ssm", "dsm", "mdsm", "cd", "pcd", "nce", "vnce"} {
		t.Run(method, func(t *testing.T) {
			cfg := quickConfig(method)
			cfg.Train.BatchSize = 20
			cfg.Model.Hidden = 6
			if method == "sm" || method == "bism" {
				cfg.Method.N = 2
			}
			if method == "mdsm" || method == "bimdsm" {
				cfg.Method.SigmaBegin, cfg.Method.SigmaEnd, cfg.Method.Sigma0 = 0.05, 1, 0.1
			}
			heap, err := New(cfg, "", Options{})
			if err != nil {
				t.Fatal(err)
			}
			heap.noArena = true
			arena, err := New(cfg, "", Options{})
			if err != nil {
				t.Fatal(err)
			}
			arena.poison = true
			buf := make([]float32, cfg.Train.BatchSize*heap.Split.Train.Dim())
			for i := 0; i < 6; i++ {
				for _, r := range []*Run{heap, arena} {
					if _, err := r.trainStep(buf); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if i == 0 && r == arena {
						r.arena.MinElems = 1
					}
				}
			}
			if arena.arena.Misses() == 0 {
				t.Fatal("the arena served nothing")
			}
			sameValues(t, heap.Model.Params(), arena.Model.Params())
			if heap.Post != nil {
				sameValues(t, heap.Post.Params(), arena.Post.Params())
			}
		})
	}
}

func TestDeepArenaMatchesHeap(t *testing.T) {
	split := tinyImages(t, 10)
	for _, kind := range []string{"deep_eblvm", "resnet_ebm"} {
		t.Run(kind, func(t *testing.T) {
			cfg := tinyDeepConfig(kind)
			cfg.Method.N = 1
			heap, err := NewDeepWithData(cfg, "", Options{}, split)
			if err != nil {
				t.Fatal(err)
			}
			heap.noArena = true
			arena, err := NewDeepWithData(cfg, "", Options{}, split)
			if err != nil {
				t.Fatal(err)
			}
			arena.poison = true
			buf := make([]float32, cfg.Train.BatchSize*split.Train.Dim())
			for i := 0; i < 3; i++ {
				for _, r := range []*DeepRun{heap, arena} {
					if _, err := r.trainStep(buf); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if i == 0 && r == arena {
						r.arena.MinElems = 1
					}
				}
			}
			sameValues(t, heap.ModelParams(), arena.ModelParams())
			if heap.Post != nil {
				sameValues(t, heap.Post.Params(), arena.Post.Params())
			}
		})
	}
}

func sameValues(t *testing.T, a, b *nn.Params) {
	t.Helper()
	for _, n := range a.Names() {
		x, y := a.Get(n).Values(), b.Get(n).Values()
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d]: heap %v, arena %v", n, i, x[i], y[i])
			}
		}
	}
}
