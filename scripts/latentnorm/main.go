// Command latentnorm is a diagnostic of a deep EBLVM run's marginal
// sampler: it runs 32 joint (v, h) annealed-Langevin chains (810 steps, the
// -langevin-scale 0.3 schedule, seed 2, no final clamp) on the run's final
// checkpoint and prints the mean norm of h and v where they end, next to the
// mean norm of q's posterior means of 500 test images. The chains start at
// h ~ N(0.5, 1); when q puts the data's latents far from there, the joint
// chains cannot reach them (docs/RESULTS.md, "A second seed and twice the
// learning rate").
//
//	go run ./scripts/latentnorm RUN_DIR
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

func rowNorms(x *tensor.Tensor, lo, hi int) (mean float64) {
	f := x.As(tensor.Float64).F64()
	w := x.Dim(1)
	for i := 0; i < x.Dim(0); i++ {
		s := 0.0
		for j := lo; j < hi; j++ {
			s += f[i*w+j] * f[i*w+j]
		}
		mean += math.Sqrt(s)
	}
	return mean / float64(x.Dim(0))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "latentnorm:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/latentnorm RUN_DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	cfg, err := config.Load(filepath.Join(dir, train.ConfigFile), nil)
	if err != nil {
		fail(err)
	}
	if cfg.Model.Kind != "deep_eblvm" {
		fail(fmt.Errorf("%s: model.kind %q has no latents (want deep_eblvm)", dir, cfg.Model.Kind))
	}
	r, err := train.NewDeep(cfg, dir, train.Options{})
	if err != nil {
		fail(err)
	}
	if _, err := r.LoadModel(filepath.Join(dir, train.CheckpointFile)); err != nil {
		fail(err)
	}
	H := cfg.Model.Hidden
	s := r.ImageShape()
	d := s[0] * s[1] * s[2]
	c := train.LangevinConfig(0.3)
	c.Clamp = false // keep h as the chains leave it
	x := r.SampleJoint(32, c, tensor.NewRNG(2))
	test := eval.SetImages(r.Split.Test.Slice(0, 500))
	mu := sample.PosteriorMean(r.Post, test, 500)
	muN := rowNorms(mu, 0, H)
	fmt.Printf("%s: joint chains: mean |h| %.2f, mean |v| %.2f; q's means of 500 test digits: mean |h| %.2f\n", dir, rowNorms(x, d, d+H), rowNorms(x, 0, d), muN)
}
