// Command gradsplit takes apart the θ-gradient of bi-level score matching on
// trained GRBM runs (eval.GradientSplit): the marginal gradient, the
// bi-level gradient through the exact posterior φ*(θ) (equal to it by
// Theorem 1), the same with φ* held fixed (the posterior's share removed),
// and Algorithm 1's gradient at the run's trained posterior.
//
//	go run ./scripts/gradsplit [-draws 200] [-batches 5] [-out runs/gradsplit.md] RUN_DIR...
//
// For each run it prints (and with -out also writes, for scripts/report) one markdown row: relative error |g - g_marg| /
// |g_marg| and cosine to the marginal gradient, averaged over minibatches.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

func main() {
	draws := flag.Int("draws", 200, "draws of q's noise averaged per gradient")
	batches := flag.Int("batches", 5, "minibatches (consecutive training rows) averaged")
	out := flag.String("out", "", "also write the table to this file")
	flag.Parse()
	var table strings.Builder
	w := io.MultiWriter(os.Stdout, &table)
	fmt.Fprintln(w, "| run | iterations | N | rel. error through φ*(θ) (Theorem 1) | rel. error, φ fixed | cosine, φ fixed | rel. error, Algorithm 1 | cosine, Algorithm 1 | W only: rel. error, Algorithm 1 | W only: cosine, Algorithm 1 | W only: one-draw spread / ‖g_marg‖ |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, dir := range flag.Args() {
		cfg, err := config.Load(filepath.Join(dir, train.ConfigFile), nil)
		if err != nil {
			log.Fatal(err)
		}
		r, err := train.New(cfg, dir, train.Options{Resume: true})
		if err != nil {
			log.Fatal(err)
		}
		outer, err := cfg.Method.Outer()
		if err != nil {
			log.Fatal(err)
		}
		set, bs := r.Split.Train, cfg.Train.BatchSize
		var sum [8]float64
		wi := 0
		for j, n := range r.Model.Params().Names() {
			if n == "W" {
				wi = j
			}
		}
		for i := 0; i < *batches; i++ {
			rows := set.X[i*bs*set.Dim() : (i+1)*bs*set.Dim()]
			batch := tensor.FromFloat32(append([]float32(nil), rows...), bs, set.Dim())
			s, err := eval.GradientSplit(eval.SplitConfig{Model: r.Model, Outer: outer, Batch: batch, Draws: *draws, Seed: uint64(100 + i),
				Posterior: r.Post, InnerOpt: r.InnerOptimizer(), N: cfg.Method.N})
			if err != nil {
				log.Fatal(err)
			}
			sum[0] += eval.RelErr(s.Total, s.Marginal)
			sum[1] += eval.RelErr(s.Fixed, s.Marginal)
			sum[2] += eval.Cosine(s.Fixed, s.Marginal)
			if s.Alg1 != nil {
				sum[3] += eval.RelErr(s.Alg1, s.Marginal)
				sum[4] += eval.Cosine(s.Alg1, s.Marginal)
				sum[5] += eval.RelErr(s.Alg1[wi:wi+1], s.Marginal[wi:wi+1])
				sum[6] += eval.Cosine(s.Alg1[wi:wi+1], s.Marginal[wi:wi+1])
				sum[7] += s.Alg1Spread[wi] / eval.Norm(s.Marginal[wi:wi+1])
			}
		}
		k := float64(*batches)
		fmt.Fprintf(w, "| %s | %d | %d | %.2g | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", dir, r.Iter(), cfg.Method.N, sum[0]/k, sum[1]/k, sum[2]/k, sum[3]/k, sum[4]/k, sum[5]/k, sum[6]/k, sum[7]/k)
	}
	if *out != "" {
		if err := os.WriteFile(*out, []byte(table.String()), 0o644); err != nil {
			log.Fatal(err)
		}
	}
}
