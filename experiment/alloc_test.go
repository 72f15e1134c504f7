package experiment

import (
	"strings"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/internal/datatest"
	"github.com/bism-ml/bism/internal/parallel"
)

// TestStepAllocatesNothing: once its first steps have sized the run's
// arena, a training step of every built-in GRBM method (the implicit
// gradient's too) and of the deep models (MNIST's CPU configs, and tiny
// ones on synthetic images) makes no heap allocation, on one worker and on
// two. Its tensors, graph nodes, constants and lists come from the arena;
// backward rules are plain functions (an operation's scalars and axes live
// in its node); loops split over cores hand the workers pooled operands
// instead of closures; the minibatch's tensor, the unrolled optimizer and
// the methods' state lists are made once. (The implicit gradient's first
// steps grow the arena for as long as a solve takes more iterations than
// any before it: it warms up longer.)
func TestStepAllocatesNothing(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	for _, name := range []string{
		"checkerboard/bidsm", "checkerboard/bidsm-implicit", "checkerboard/bissm", "checkerboard/cd1", "checkerboard/cd5",
		"checkerboard/dsm", "checkerboard/nce", "checkerboard/pcd", "checkerboard/sm",
		"checkerboard/ssm", "checkerboard/vnce",
		"frey/bidsm", "frey/bissm", "frey/cd1", "frey/dsm", "frey/ssm",
		"mnist/mdsm-cpu", "mnist/bimdsm-cpu", "tiny/deep", "tiny/resnet",
	} {
		t.Run(name, func(t *testing.T) {
			var split *data.Split
			var cfg config.Config
			switch {
			case name == "tiny/deep":
				cfg, split = tinyDeepConfig(config.DeepEBLVM), tinyImages(t, 8)
			case name == "tiny/resnet":
				cfg, split = tinyDeepConfig(config.ResNetEBM), tinyImages(t, 8)
			default:
				if d, _, _ := strings.Cut(name, "/"); d != "checkerboard" {
					datatest.Root(t, d)
				}
				var err error
				if cfg, err = config.Load(name, nil); err != nil {
					t.Fatal(err)
				}
			}
			e := build(t, cfg, "", split)
			for _, workers := range []int{1, 2} {
				parallel.Workers = workers
				warm := 2
				if strings.HasSuffix(name, "-implicit") {
					warm = 20
				}
				if err := e.Run.Steps(warm); err != nil {
					t.Fatal(err)
				}
				var stepErr error
				allocs := testing.AllocsPerRun(3, func() {
					if err := e.Run.Steps(1); err != nil {
						stepErr = err
					}
				})
				if stepErr != nil {
					t.Fatal(stepErr)
				}
				if allocs != 0 {
					t.Errorf("%d workers: %v heap allocations per step, want 0 (GOMAXPROCS=%d bism bench -config %s -memprofile FILE shows where)", workers, allocs, workers, name)
				}
			}
		})
	}
}
