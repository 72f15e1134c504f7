package experiment

import (
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/internal/datatest"
)

// BenchmarkStep times one training step of built-in configs after a
// warm-up, with allocations: in steady state a step takes its storage from
// the run's arena (a GRBM step on one core allocates nothing:
// TestStepAllocatesNothing).
//
//	go test -run XXX -bench Step -benchmem ./experiment
func BenchmarkStep(b *testing.B) {
	for _, name := range []string{"checkerboard/bissm", "frey/bidsm", "mnist/bimdsm-cpu"} {
		b.Run(name, func(b *testing.B) {
			cfg, err := config.Load(name, nil)
			if err != nil {
				b.Fatal(err)
			}
			if d := cfg.Data.Name; d != config.Checkerboard {
				datatest.Root(b, string(d))
			}
			e, err := New(cfg, "", Options{})
			if err != nil {
				b.Fatal(err)
			}
			if err := e.Run.Steps(3); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := e.Run.Steps(b.N); err != nil {
				b.Fatal(err)
			}
		})
	}
}
