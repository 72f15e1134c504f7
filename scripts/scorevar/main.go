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
// actually achieves. It also prints where the model puts the blank image
// against clean test digits in free energy (the marginal's -log density up
// to a constant, estimated through q), beside the joint energy at q's mean
// and q's log-volume, the entropy that separates the two. For a fully visible run (resnet_ebm) it prints the
// MDSM loss of its exact score on the same batch and the free energies, for
// comparison.
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

func meanOf(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

func minOf(x []float64) float64 {
	m := math.Inf(1)
	for _, v := range x {
		m = math.Min(m, v)
	}
	return m
}

// freeEnergies returns, per image of v, the joint energy at q's mean
// E(v, μ_q(v)), q's log-volume Σ_j log σ_j(v), the variational bound
// F_q(v) = E_q[E(v,h) + log q(h|v)] ≥ F(v) and the importance-sampled
// F(v) ≈ -log mean_s exp(-E(v,h_s) - log q(h_s|v)), from S draws.
func freeEnergies(m *model.DeepEBLVM, q *model.CNNPosterior, v *tensor.Tensor, S int, rng *tensor.RNG) (eMu, logVol, fq, fis []float64) {
	theta, phi := m.Params().Consts(), q.Params().Consts()
	x := ad.Const(v)
	n := v.Dim(0)
	mu, ls := q.MeanLogStd(phi, x)
	eMu = m.Energy(theta, x, mu).Tensor().As(tensor.Float64).F64()
	lsf := ls.Tensor().As(tensor.Float64).F64()
	hdim := len(lsf) / n
	logVol, fq, fis = make([]float64, n), make([]float64, n), make([]float64, n)
	lw := make([][]float64, n)
	energy := model.EnergyGivenV(m, theta, x)
	for s := 0; s < S; s++ {
		h := q.Sample(phi, x, rng)
		e := energy(h).Tensor().As(tensor.Float64).F64()
		lq := q.LogProb(phi, x, h).Tensor().As(tensor.Float64).F64()
		for b := 0; b < n; b++ {
			fq[b] += (e[b] + lq[b]) / float64(S)
			lw[b] = append(lw[b], -e[b]-lq[b])
		}
	}
	for b := 0; b < n; b++ {
		for j := 0; j < hdim; j++ {
			logVol[b] += lsf[b*hdim+j]
		}
		mx := math.Inf(-1)
		for _, l := range lw[b] {
			mx = math.Max(mx, l)
		}
		z := 0.0
		for _, l := range lw[b] {
			z += math.Exp(l - mx)
		}
		fis[b] = -(mx + math.Log(z/float64(S)))
	}
	return
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
		th := r.EBM.Params().Consts()
		ft := r.EBM.FreeEnergy(th, ad.Const(v)).Tensor().As(tensor.Float64).F64()
		fb := r.EBM.FreeEnergy(th, ad.Const(tensor.New(v.DType(), append([]int{1}, v.Shape()[1:]...)...))).Tensor().Flat(0)
		fmt.Printf("free energy: blank %.5g; 100 clean test digits mean %.5g, min %.5g\n", fb, meanOf(ft), minOf(ft))
		return
	}
	m, q := r.EBLVM, r.Post
	theta, phi := m.Params().Consts(), q.Params().Consts()

	// Where the marginal puts the blank image against clean test digits.
	blank := tensor.New(v.DType(), append([]int{1}, v.Shape()[1:]...)...)
	fmt.Printf("%-34s %12s %12s %12s %12s\n", "", "E(v, μ_q)", "Σ log σ_q", "F_q bound", "F (IS, 256)")
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
	}{{"blank image", blank}, {"100 clean test digits, mean", v}} {
		a, b, fq, fis := freeEnergies(m, q, c.x, 256, tensor.NewRNG(11))
		fmt.Printf("%-34s %12.5g %12.5g %12.5g %12.5g\n", c.name, meanOf(a), meanOf(b), meanOf(fq), meanOf(fis))
		if c.x.Dim(0) > 1 {
			fmt.Printf("%-34s %12.5g %12.5g %12.5g %12.5g\n", "100 clean test digits, min", minOf(a), minOf(b), minOf(fq), minOf(fis))
		}
	}
	fmt.Println()

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
