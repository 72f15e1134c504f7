// Command biscoresample is an experiment on a deep EBLVM run's sampler. The
// spec's marginal sampler runs annealed Langevin on the joint energy
// E(v, h) over v and h together; this one runs the same anneal on v alone,
// driven by the bi-level score BiMDSM trained, -∇_v[E(v,h) + log q(h|v)]
// with a fresh h ~ q(h|v) at every step (objective.BiEnergy). If the joint
// chains' latents, not the learned score, are what spoils the samples, this
// sampler does better. It prints FID/KID (MNIST classifier features, against
// the test set) and the classifier's confident share, and writes a PNG grid
// of the first 64 samples.
//
//	go run ./scripts/biscoresample RUN_DIR N SCALE SEED OUT.png
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "biscoresample:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/biscoresample RUN_DIR N SCALE SEED OUT.png")
		os.Exit(2)
	}
	dir, out := os.Args[1], os.Args[5]
	n, err1 := strconv.Atoi(os.Args[2])
	scale, err2 := strconv.ParseFloat(os.Args[3], 64)
	seed, err3 := strconv.ParseUint(os.Args[4], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || n < 2 || scale <= 0 {
		fail(fmt.Errorf("bad N, SCALE or SEED: %q %q %q", os.Args[2], os.Args[3], os.Args[4]))
	}
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
	sc := train.LangevinConfig(scale)
	sc.Sigma0 = cfg.Method.Sigma0
	total := len(sc.Temperatures())
	sc.Progress = func(step, total int, e float64) {
		if step%500 == 0 || step == total {
			fmt.Fprintf(os.Stderr, "step %d/%d mean energy %.4g\n", step, total, e)
		}
	}
	rng, hrng := tensor.NewRNG(seed), tensor.NewRNG(seed+1000)
	theta, phi := r.EBLVM.Params().Consts(), r.Post.Params().Consts()
	energy := objective.BiEnergy(r.EBLVM, r.Post, theta, phi, hrng)
	s := r.ImageShape()
	var parts []*tensor.Tensor
	for lo := 0; lo < n; lo += 100 {
		hi := min(lo+100, n)
		x0 := rng.Normal(tensor.Float32, sc.InitMean, sc.InitStd, append([]int{hi - lo}, s...)...)
		parts = append(parts, sample.LangevinFrom(sample.EnergyFn(energy), x0, sc, rng))
	}
	x := parts[0]
	if len(parts) > 1 {
		x = tensor.Concat(0, parts...)
	}
	net, err := eval.DefaultMNISTNet()
	if err != nil {
		fail(err)
	}
	ref := net.Features(eval.SetImages(r.Split.Test))
	f, cs := net.FeaturesAndScores(x)
	fid, err := eval.FIDTensors(f, ref)
	if err != nil {
		fail(err)
	}
	kid, err := eval.KIDTensors(f, ref, eval.KIDOptions{Subsets: 100, SubsetSize: min(1000, n), Seed: seed})
	if err != nil {
		fail(err)
	}
	fmt.Printf("%s: bi-level-score sampler, %d samples x %d steps, seed %d: FID %.4g KID %.4g ± %.2g, confident %.3f, class score %.3g, top class %.3f\n",
		dir, n, total, seed, fid, kid.Mean, kid.Std, cs.Confident, cs.Score, cs.TopClass)
	g := tensor.Slice(x, 0, 0, min(64, n))
	if err := plot.SavePNG(out, plot.ImageGrid(g.As(tensor.Float32).F32(), g.Dim(0), s[0], s[1], s[2], 0, 2)); err != nil {
		fail(err)
	}
}
