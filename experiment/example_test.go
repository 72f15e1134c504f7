package experiment_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/tensor"
)

// A checkerboard GRBM trained with BiSSM (K = 5, N = 5) and scored by its
// exact held-out log-likelihood (H = 4: the 16 hidden states are
// enumerated).
func Example() {
	cfg, err := config.Load("checkerboard/bissm", []string{"train.iterations=300", "train.eval_every=300"})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "bism-example")
	defer os.RemoveAll(dir)
	e, err := experiment.New(cfg, dir, experiment.Options{})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Run.Train(context.Background()); err != nil {
		log.Fatal(err)
	}
	res, err := e.Evaluate(experiment.EvalOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("after %d iterations: test log-likelihood above -1.5: %v\n", e.Run.Iter(), res["test_ll"] > -1.5)
	// Output: after 300 iterations: test log-likelihood above -1.5: true
}

// Sampling from a trained run: Open rebuilds the run from its directory and
// loads its checkpoint; Sample draws chains (for this 2-D GRBM, block Gibbs
// sweeps, drawn over the learned density; for a deep model, annealed
// Langevin dynamics with Steps steps).
func ExampleOpen() {
	cfg, _ := config.Load("checkerboard/cd1", []string{"train.iterations=100", "train.eval_every=100"})
	dir, _ := os.MkdirTemp("", "bism-example")
	defer os.RemoveAll(dir)
	if _, err := experiment.Train(context.Background(), experiment.TrainOptions{Config: "checkerboard/cd1", Dir: dir,
		Overrides: []string{"train.iterations=100", "train.eval_every=100"}}); err != nil {
		log.Fatal(err)
	}
	e, iter, err := experiment.Open(dir, "", nil, experiment.Options{})
	if err != nil {
		log.Fatal(err)
	}
	files, err := e.Sample(experiment.SampleOptions{N: 500, Steps: 50, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.Method.Name, "run at iteration", iter, "sampled to", filepath.Base(files[0]))
	// Output: cd run at iteration 100 sampled to samples.png
}

// Langevin sampling from a trained deep model: a tiny fully visible ResNet
// EBM trained by MDSM for a few steps on images in memory, then sampled by
// annealed Langevin dynamics shortened to 60 steps (Steps 0 runs the
// paper's 2,700-step anneal).
func ExampleExperiment_Sample() {
	cfg := config.Defaults()
	cfg.Data.Name = config.MNIST // 32x32 images; here random ones held in memory
	cfg.Model = config.ModelConfig{Kind: config.ResNetEBM, Hidden: 1, Ch: 2, Features: 4}
	cfg.Method = config.MethodConfig{Name: config.MDSM, Unroll: config.UnrollAdam, SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: true}
	cfg.Train.Iterations, cfg.Train.BatchSize, cfg.Train.EvalEvery = 5, 8, 5
	images := randomImages(16)
	dir, _ := os.MkdirTemp("", "bism-example")
	defer os.RemoveAll(dir)
	e, err := experiment.New(cfg, dir, experiment.Options{Data: images})
	if err != nil {
		log.Fatal(err)
	}
	if err := e.Run.Train(context.Background()); err != nil {
		log.Fatal(err)
	}
	files, err := e.Sample(experiment.SampleOptions{N: 8, Steps: 60, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(files[0]))
	// Output: samples.png
}

// randomImages is a split of n random 1x32x32 images.
func randomImages(n int) *data.Split {
	x := tensor.NewRNG(3).Uniform(tensor.Float32, 0, 1, n, 1, 32, 32).F32()
	s, _ := data.NewSet(x, nil, 1, 32, 32)
	return &data.Split{Train: s, Test: s}
}
