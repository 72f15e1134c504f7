// Command scorevar looks at the score a deep EBLVM run's BiMDSM training
// matched, on one perturbed batch of 100 test images (the config's noise
// levels; fixed noise):
//
//   - the variance of the single-draw bi-level score over h ~ q: the outer
//     loss with the score averaged over M draws (objective.BiEnergyMean) is
//     L∞ + V/M, so V ≈ (L1 - L16)·16/15;
//   - its bias: the model's own marginal score ∇_v log p(v) = -E_{p(h|v)}
//     ∇_v E(v,h), estimated by self-normalised importance sampling with q as
//     the proposal (S draws; the effective sample size is printed), scored
//     with the same MDSM loss as the bi-level estimate, per noise band.
//
// The bi-level loss is what training lowered; the importance-sampled loss
// is what the model's marginal, which the Langevin sampler draws from,
// actually achieves. For a fully visible run (resnet_ebm) it prints the
// MDSM loss of its exact score on the same batch, for comparison.
//
//	go run ./scripts/scorevar RUN_DIR [CHECKPOINT]
package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scorevar:", err)
	os.Exit(1)
}

// mdsmPerExample is 1/2|s/σ_b + ε/σ0²|² per example b.
func mdsmPerExample(s *tensor.Tensor, p objective.Perturbed, sigma0 float64) []float64 {
	sf, ef, sig := s.As(tensor.Float64).F64(), p.Eps.As(tensor.Float64).F64(), p.Sigmas.As(tensor.Float64).F64()
	b := s.Dim(0)
	d := len(sf) / b
	out := make([]float64, b)
	for i := 0; i < b; i++ {
		for j := 0; j < d; j++ {
			r := sf[i*d+j]/sig[i] + ef[i*d+j]/(sigma0*sigma0)
			out[i] += 0.5 * r * r
		}
	}
	return out
}

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: go run ./scripts/scorevar RUN_DIR [CHECKPOINT]")
		os.Exit(2)
	}
	dir := os.Args[1]
	ck := filepath.Join(dir, train.CheckpointFile)
	if len(os.Args) == 3 {
		ck = os.Args[2]
	}
	cfg, err := config.Load(filepath.Join(dir, train.ConfigFile), nil)
	if err != nil {
		fail(err)
	}
	r, err := train.NewDeep(cfg, dir, train.Options{})
	if err != nil {
		fail(err)
	}
	if _, err := r.LoadModel(ck); err != nil {
		fail(err)
	}
	outer, err := cfg.Method.Outer()
	if err != nil {
		fail(err)
	}
	const n = 100
	v := eval.SetImages(r.Split.Test.Slice(0, n))
	p := outer.Perturb(v, tensor.NewRNG(7))
	if r.EBM != nil {
		// A fully visible model: its exact score's loss on the same batch, for comparison.
		l := outer.Loss(objective.MarginalEnergy(r.EBM, r.EBM.Params().Consts()), p).Item()
		fmt.Printf("%s (%s): MDSM loss of the exact score %.5g\n", ck, cfg.Model.Kind, l)
		return
	}
	m, q := r.EBLVM, r.Post
	theta, phi := m.Params().Consts(), q.Params().Consts()

	// Variance over h of the single-draw score.
	const repeats = 4
	loss := map[int]float64{}
	for _, k := range []int{1, 4, 16} {
		sum := 0.0
		for i := 0; i < repeats; i++ {
			sum += outer.Loss(objective.BiEnergyMean(m, q, theta, phi, k, tensor.NewRNG(uint64(100*k+i))), p).Item()
		}
		loss[k] = sum / repeats
		fmt.Printf("bi-level score averaged over M=%2d draws: MDSM loss %.5g (mean of %d)\n", k, loss[k], repeats)
	}
	vr := (loss[1] - loss[16]) * 16 / 15
	fmt.Printf("variance term V ≈ %.4g: %.2f%% of the single-draw loss\n\n", vr, 100*vr/loss[1])

	bands := []int{0, 20, 40, 60, 80, 100}
	sig := p.Sigmas.As(tensor.Float64).F64()
	report := func(name string, per []float64) {
		fmt.Printf("%-28s", name)
		tot := 0.0
		for i := 0; i+1 < len(bands); i++ {
			s := 0.0
			for b := bands[i]; b < bands[i+1]; b++ {
				s += per[b]
			}
			tot += s
			fmt.Printf(" %10.4g", s/float64(bands[i+1]-bands[i]))
		}
		fmt.Printf(" | %10.4g\n", tot/n)
	}
	fmt.Printf("%-28s", "MDSM loss by σ band:")
	for i := 0; i+1 < len(bands); i++ {
		fmt.Printf("  %.2f-%.2f", sig[bands[i]], sig[bands[i+1]-1])
	}
	fmt.Printf(" | %10s\n", "all")
	x := ad.Var(p.X)
	bi := objective.Score(objective.BiEnergy(m, q, theta, phi, tensor.NewRNG(1)), x).Tensor()
	report("bi-level (trained on)", mdsmPerExample(bi, p, cfg.Method.Sigma0))

	// Self-normalised importance sampling of -E_{p(h|v)} ∇_v E(v,h).
	xc := ad.Const(p.X)
	for _, S := range []int{64, 256} {
		xv := ad.Var(p.X)
		energy := model.EnergyGivenV(m, theta, xv)
		rng := tensor.NewRNG(uint64(S))
		es := make([]*ad.Value, S)
		lw := make([][]float64, S)
		for s := 0; s < S; s++ {
			h := q.Sample(phi, xc, rng)
			es[s] = energy(h)
			e := es[s].Tensor().As(tensor.Float64).F64()
			lq := q.LogProb(phi, xc, h).Tensor().As(tensor.Float64).F64()
			lw[s] = make([]float64, n)
			for b := 0; b < n; b++ {
				lw[s][b] = -e[b] - lq[b]
			}
		}
		ess := make([]float64, n)
		var total *ad.Value
		w := make([][]float64, S)
		for s := range w {
			w[s] = make([]float64, n)
		}
		for b := 0; b < n; b++ {
			mx := math.Inf(-1)
			for s := 0; s < S; s++ {
				mx = math.Max(mx, lw[s][b])
			}
			z, z2 := 0.0, 0.0
			for s := 0; s < S; s++ {
				w[s][b] = math.Exp(lw[s][b] - mx)
				z += w[s][b]
			}
			for s := 0; s < S; s++ {
				w[s][b] /= z
				z2 += w[s][b] * w[s][b]
			}
			ess[b] = 1 / z2
		}
		for s := 0; s < S; s++ {
			t := ad.Mul(es[s], ad.Const(tensor.FromFloat64(w[s], n).As(p.X.DType())))
			if total == nil {
				total = t
			} else {
				total = ad.Add(total, t)
			}
		}
		g := ad.Grad(ad.SumAll(total), []*ad.Value{xv})[0].Tensor()
		score := tensor.Scale(g, -1)
		report(fmt.Sprintf("marginal, IS with S=%d", S), mdsmPerExample(score, p, cfg.Method.Sigma0))
		fmt.Printf("%-28s", "  effective sample size")
		for i := 0; i+1 < len(bands); i++ {
			s := 0.0
			for b := bands[i]; b < bands[i+1]; b++ {
				s += ess[b]
			}
			fmt.Printf(" %10.1f", s/float64(bands[i+1]-bands[i]))
		}
		fmt.Println()
	}
}
