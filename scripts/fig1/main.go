// Command fig1 runs the gradient-bias study of the paper's Fig. 1 (Theorem
// 2): on a Frey-face GRBM and a fixed minibatch, the bias of Algorithm 1's
// θ-gradient against a reference computed at φ* as the numbers N of
// unrolled steps and K of kept inner steps vary, and ||φ⁰ − φ*||.
//
//	go run ./scripts/fig1 [-run runs/frey/bidsm-n5] [-out runs/fig1]
//
// With -run it starts from that run's checkpoint (θ, φ and the inner
// optimizer state after training); otherwise from the initialisation.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

func main() {
	runDir := flag.String("run", "", "a Frey BiDSM run directory to start from (default: fresh initialisation)")
	cfgPath := flag.String("config", "configs/frey/bidsm.yaml", "config used when -run is not given")
	out := flag.String("out", "runs/fig1", "output folder (bias.json)")
	kstar := flag.Int("kstar", 1000, "inner steps approximating φ*")
	nref := flag.Int("nref", 100, "unrolled steps of the reference gradient")
	flag.Parse()

	path := *cfgPath
	if *runDir != "" {
		path = filepath.Join(*runDir, train.ConfigFile)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := train.New(cfg, *runDir, train.Options{Resume: *runDir != ""})
	if err != nil {
		log.Fatal(err)
	}
	outer, err := cfg.Method.Outer()
	if err != nil {
		log.Fatal(err)
	}
	set := r.Split.Train
	batch := tensor.FromFloat32(append([]float32(nil), set.X[:cfg.Train.BatchSize*set.Dim()]...), cfg.Train.BatchSize, set.Dim())
	newOpt := func() optim.Optimizer { return optim.NewAdam(cfg.Train.LR, cfg.Train.Beta1, cfg.Train.Beta2) }
	inner := r.InnerOptimizer()
	if inner == nil {
		log.Fatalf("%s: method %s has no inner optimizer", path, cfg.Method.Name)
	}
	bc := eval.BiasConfig{
		Model: r.Model, Posterior: r.Post, Outer: outer, Batch: batch,
		InnerOpt: inner, NewInnerOpt: newOpt,
		Ks: []int{0, 1, 5, 10, 20}, Ns: []int{0, 1, 2, 5, 10, 20},
		KStar: *kstar, NRef: *nref, Seed: cfg.Seed,
		Progress: func(done, total int) { fmt.Fprintf(os.Stderr, "fig1: %d/%d\n", done, total) },
	}
	pts, err := eval.GradientBias(bc)
	if err != nil {
		log.Fatal(err)
	}
	var rows []map[string]float64
	for _, p := range pts {
		rows = append(rows, map[string]float64{"k": float64(p.K), "n": float64(p.N), "rel_bias": p.RelBias, "bias": p.Bias, "phi_dist": p.PhiDist})
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	b, _ := json.MarshalIndent(rows, "", " ")
	if err := os.WriteFile(filepath.Join(*out, "bias.json"), b, 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", filepath.Join(*out, "bias.json"))
}
