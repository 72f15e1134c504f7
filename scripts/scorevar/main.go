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
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scorevar:", err)
	os.Exit(1)
}

// logWeights draws S samples h_s ~ q(h|v) for the images x (no graph to
// v) and returns them with the log importance weights
// lw[b][s] = -E(v_b,h_s) - log q(h_s|v_b) of p̃(v,h) against q.
func logWeights(m *model.DeepEBLVM, q *model.CNNPosterior, theta, phi nn.Vals, x *ad.Value, S int, rng *tensor.RNG) (hs []*ad.Value, lw [][]float64) {
	energy := model.EnergyGivenV(m, theta, x)
	lw = make([][]float64, x.Shape()[0])
	for s := 0; s < S; s++ {
		h := q.Sample(phi, x, rng)
		e := energy(h).Tensor().As(tensor.Float64).F64()
		lq := q.LogProb(phi, x, h).Tensor().As(tensor.Float64).F64()
		for b := range lw {
			lw[b] = append(lw[b], -e[b]-lq[b])
		}
		hs = append(hs, h)
	}
	return hs, lw
}

// normalise returns the self-normalised weights of log weights l, log of
// their plain mean (log mean_s exp l_s) and the effective sample size.
func normalise(l []float64) (w []float64, logMean, ess float64) {
	mx := floats.Max(l)
	w = make([]float64, len(l))
	z := 0.0
	for i, v := range l {
		w[i] = math.Exp(v - mx)
		z += w[i]
	}
	floats.Scale(1/z, w)
	return w, mx + math.Log(z/float64(len(l))), 1 / floats.Dot(w, w)
}

// bands are the example ranges (of the batch of 100, whose MDSM noise
// level rises with the index) the losses are reported by.
var bands = []int{0, 20, 40, 60, 80, 100}

// bandMeans averages per-example values over each band.
func bandMeans(per []float64) []float64 {
	out := make([]float64, len(bands)-1)
	for i := range out {
		out[i] = stat.Mean(per[bands[i]:bands[i+1]], nil)
	}
	return out
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
	_, lw := logWeights(m, q, theta, phi, x, S, rng)
	logVol, fq, fis = make([]float64, n), make([]float64, n), make([]float64, n)
	for b := 0; b < n; b++ {
		logVol[b] = floats.Sum(lsf[b*hdim : (b+1)*hdim])
		fq[b] = -stat.Mean(lw[b], nil)
		_, lm, _ := normalise(lw[b])
		fis[b] = -lm
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
		fmt.Printf("free energy: blank %.5g; 100 clean test digits mean %.5g, min %.5g\n", fb, stat.Mean(ft, nil), floats.Min(ft))
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
		fmt.Printf("%-34s %12.5g %12.5g %12.5g %12.5g\n", c.name, stat.Mean(a, nil), stat.Mean(b, nil), stat.Mean(fq, nil), stat.Mean(fis, nil))
		if c.x.Dim(0) > 1 {
			fmt.Printf("%-34s %12.5g %12.5g %12.5g %12.5g\n", "100 clean test digits, min", floats.Min(a), floats.Min(b), floats.Min(fq), floats.Min(fis))
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

	sig := p.Sigmas.As(tensor.Float64).F64()
	row := func(name string, vals []float64, format string) {
		fmt.Printf("%-28s", name)
		for _, v := range vals {
			fmt.Printf(format, v)
		}
	}
	report := func(name string, per *ad.Value) {
		f := per.Tensor().As(tensor.Float64).F64()
		row(name, bandMeans(f), " %10.4g")
		fmt.Printf(" | %10.4g\n", stat.Mean(f, nil))
	}
	fmt.Printf("%-28s", "MDSM loss by σ band:")
	for i := 0; i+1 < len(bands); i++ {
		fmt.Printf("  %.2f-%.2f", sig[bands[i]], sig[bands[i+1]-1])
	}
	fmt.Printf(" | %10s\n", "all")
	report("bi-level (trained on)", outer.PerExample(objective.BiEnergy(m, q, theta, phi, tensor.NewRNG(1)), p))

	// Self-normalised importance sampling of -E_{p(h|v)} ∇_v E(v,h): the
	// score of Σ_s w_s E(v,h_s) with the weights held constant.
	for _, S := range []int{64, 256} {
		hs, lw := logWeights(m, q, theta, phi, ad.Const(p.X), S, tensor.NewRNG(uint64(S)))
		w := make([]*tensor.Tensor, S) // w[s][b]
		ws := make([]float64, S*n)
		ess := make([]float64, n)
		for b := 0; b < n; b++ {
			wb, _, e := normalise(lw[b])
			ess[b] = e
			for s := range wb {
				ws[s*n+b] = wb[s]
			}
		}
		for s := range w {
			w[s] = tensor.FromFloat64(ws[s*n:(s+1)*n], n).As(p.X.DType())
		}
		weighted := func(v *ad.Value) *ad.Value {
			energy := model.EnergyGivenV(m, theta, v)
			var total *ad.Value
			for s, h := range hs {
				t := ad.Mul(energy(h), ad.Const(w[s]))
				if total == nil {
					total = t
				} else {
					total = ad.Add(total, t)
				}
			}
			return total
		}
		report(fmt.Sprintf("marginal, IS with S=%d", S), outer.PerExample(weighted, p))
		row("  effective sample size", bandMeans(ess), " %10.1f")
		fmt.Println()
	}
}
