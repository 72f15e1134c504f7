package study

import (
	"fmt"
	"io"
	"math"
	"time"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/stat"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

// The studies of trained runs behind `bism study NAME`: each takes an
// experiment opened from a run directory and prints what it finds.

// grbmOf returns a GRBM run's model and posterior, or an error naming what
// the study needs.
func grbmOf(e *experiment.Experiment, study string) (*model.GRBM, *model.BernoulliPosterior, error) {
	g, ok := e.Model.(*model.GRBM)
	if !ok {
		return nil, nil, fmt.Errorf("%s studies GRBM runs; %s is %s", study, e.Dir, e.Config.Model.Kind)
	}
	q, _ := e.Posterior.(*model.BernoulliPosterior)
	return g, q, nil
}

// Fig1Options control Fig1.
type Fig1Options struct {
	Ks, Ns         []int               // the grid (defaults: K in {0, 1, 2, 5, 10, 20}, N = 0..20)
	Draws, Repeats int                 // M and R of Fig1Config (defaults 10 and 5)
	Batch          int                 // which minibatch of the training set (consecutive rows)
	Implicit       *objective.Implicit // also the implicit gradient's bias (Fig1Config.Implicit)
	Progress       io.Writer
}

// Fig1 runs the gradient-bias study of Fig. 1 (Fig1Bias) on a bi-level GRBM
// run opened with its full state (the inner optimizer's moments), on one
// minibatch of its training set.
func Fig1(e *experiment.Experiment, o Fig1Options) (Fig1Result, error) {
	g, q, err := grbmOf(e, "fig1")
	if err != nil {
		return Fig1Result{}, err
	}
	inner := e.InnerOptimizer()
	if inner == nil || q == nil {
		return Fig1Result{}, fmt.Errorf("fig1 needs a bi-level run; method %s has no inner optimizer", e.Config.Method.Name)
	}
	outer, _ := e.Outer()
	cfg := e.Config
	set, bs := e.Data.Train, cfg.Train.BatchSize
	if o.Batch < 0 || (o.Batch+1)*bs > set.N {
		return Fig1Result{}, fmt.Errorf("fig1: minibatch %d of %d rows is beyond the %d training rows", o.Batch, bs, set.N)
	}
	rows := set.X[o.Batch*bs*set.Dim() : (o.Batch+1)*bs*set.Dim()]
	batch := tensor.FromFloat32(append([]float32(nil), rows...), bs, set.Dim())
	if len(o.Ks) == 0 {
		o.Ks = []int{0, 1, 2, 5, 10, 20}
	}
	if len(o.Ns) == 0 {
		for n := 0; n <= 20; n++ {
			o.Ns = append(o.Ns, n)
		}
	}
	fc := Fig1Config{
		Model: g, Posterior: q, Outer: outer, Batch: batch,
		InnerOpt: inner,
		NewInnerOpt: func() optim.Optimizer {
			return optim.NewAdam(cfg.Train.InnerLRBase(), cfg.Train.Beta1, cfg.Train.Beta2)
		},
		Ks: o.Ks, Ns: o.Ns, Draws: o.Draws, Repeats: o.Repeats, Seed: cfg.Seed + uint64(o.Batch),
		Implicit: o.Implicit,
	}
	if o.Progress != nil {
		start := time.Now()
		fc.Progress = func(done, total int) {
			el := time.Since(start)
			left := time.Duration(float64(el) * float64(total-done) / float64(done))
			fmt.Fprintf(o.Progress, "fig1: %d/%d (repeat, K) pairs in %s, about %s left\n", done, total, el.Round(time.Second), left.Round(time.Second))
		}
	}
	res, err := Fig1Bias(fc)
	res.Run, res.Iter, res.Batch = e.Dir, e.Run.Iter(), o.Batch
	return res, err
}

// SplitRow is GradSplit's summary of one run, averaged over minibatches.
type SplitRow struct {
	Iter, N  int
	Gradient string // "unroll" (N steps) or "implicit"
	// TotalRelErr: |g_total - g_marg| / |g_marg| (Theorem 1 says 0).
	TotalRelErr float64
	// FixedRelErr, FixedCos: the gradient with φ*(θ) held fixed against
	// the marginal one.
	FixedRelErr, FixedCos float64
	// Alg1RelErr, Alg1Cos: Algorithm 1's gradient at the trained
	// posterior (bi-level runs), over all of θ and for W alone.
	Alg1RelErr, Alg1Cos, Alg1RelErrW, Alg1CosW float64
	// Alg1SpreadW is the one-draw spread of Algorithm 1's W gradient
	// relative to |g_marg(W)|.
	Alg1SpreadW float64
	// PosteriorPathRecovered is the share of the gradient through φ*(θ)
	// that the run's method recovers: 1 - |g_alg1 - g_total| / |g_fixed -
	// g_total| (1 = all of it, 0 = none).
	PosteriorPathRecovered float64
}

// SplitOptions control GradSplit.
type SplitOptions struct {
	Draws, Batches int // draws of q's noise per gradient; minibatches averaged
	// N >= 0 replaces the run's gradient by N unrolled steps; Implicit, if
	// set, by the implicit gradient. Otherwise the run's own is used.
	N        int
	Implicit *objective.Implicit
}

// GradSplit takes apart the θ-gradient of a trained GRBM run
// (GradientSplit) on batches consecutive minibatches of its training set,
// averaging q's noise over draws per gradient.
func GradSplit(e *experiment.Experiment, o SplitOptions) (SplitRow, error) {
	draws, batches := o.Draws, o.Batches
	g, q, err := grbmOf(e, "gradsplit")
	if err != nil {
		return SplitRow{}, err
	}
	outer, ok := e.Outer()
	if !ok {
		return SplitRow{}, fmt.Errorf("gradsplit needs a score-matching method; %s has none", e.Config.Method.Name)
	}
	set, bs := e.Data.Train, e.Config.Train.BatchSize
	if batches*bs > set.N {
		return SplitRow{}, fmt.Errorf("gradsplit: %d minibatches of %d exceed the %d training rows", batches, bs, set.N)
	}
	wi := 0
	for j, n := range g.Params().Names() {
		if n == "W" {
			wi = j
		}
	}
	n, implicit := e.Config.Method.N, e.BiLevel()
	var im *objective.Implicit
	if implicit != nil {
		im = implicit.Implicit
	}
	if o.N >= 0 {
		n, im = o.N, nil
	}
	if o.Implicit != nil {
		n, im = 0, o.Implicit
	}
	row := SplitRow{Iter: e.Run.Iter(), N: n, Gradient: "unroll"}
	if im != nil {
		row.Gradient = "implicit"
	}
	var recovered float64
	for i := 0; i < batches; i++ {
		rows := set.X[i*bs*set.Dim() : (i+1)*bs*set.Dim()]
		batch := tensor.FromFloat32(append([]float32(nil), rows...), bs, set.Dim())
		sc := SplitConfig{Model: g, Outer: outer, Batch: batch, Draws: draws, Seed: uint64(100 + i), N: n, Implicit: im}
		if e.Config.Method.Name.Bilevel() {
			sc.Posterior, sc.InnerOpt = q, e.InnerOptimizer()
		}
		s, err := GradientSplit(sc)
		if err != nil {
			return row, err
		}
		row.TotalRelErr += RelErr(s.Total, s.Marginal)
		row.FixedRelErr += RelErr(s.Fixed, s.Marginal)
		row.FixedCos += Cosine(s.Fixed, s.Marginal)
		if s.Alg1 != nil {
			row.Alg1RelErr += RelErr(s.Alg1, s.Marginal)
			row.Alg1Cos += Cosine(s.Alg1, s.Marginal)
			row.Alg1RelErrW += RelErr(s.Alg1[wi:wi+1], s.Marginal[wi:wi+1])
			row.Alg1CosW += Cosine(s.Alg1[wi:wi+1], s.Marginal[wi:wi+1])
			row.Alg1SpreadW += s.Alg1Spread[wi] / Norm(s.Marginal[wi:wi+1])
			recovered += 1 - norm(s.Alg1, s.Total)/math.Max(norm(s.Fixed, s.Total), 1e-300)
		}
	}
	k := float64(batches)
	for _, p := range []*float64{&row.TotalRelErr, &row.FixedRelErr, &row.FixedCos, &row.Alg1RelErr, &row.Alg1Cos, &row.Alg1RelErrW, &row.Alg1CosW, &row.Alg1SpreadW} {
		*p /= k
	}
	row.PosteriorPathRecovered = math.NaN()
	if e.Config.Method.Name.Bilevel() {
		row.PosteriorPathRecovered = recovered / k
	}
	return row, nil
}

// LatentNorm is a diagnostic of a deep EBLVM's joint sampler: it runs 32
// joint (v, h) chains (810 Langevin steps, seed 2, no final clamp) and
// prints the mean norm of h and v where they end, next to the mean norm
// of q's posterior means of 500 test images. The chains start at h ~
// N(0.5, 1); when q puts the data's latents far from there, the joint
// chains cannot reach them.
func LatentNorm(w io.Writer, e *experiment.Experiment) error {
	q, ok := e.Posterior.(*model.CNNPosterior)
	if !ok {
		return fmt.Errorf("latentnorm studies deep_eblvm runs; %s is %s", e.Dir, e.Config.Model.Kind)
	}
	h := e.Config.Model.Hidden
	s := e.Data.Train.Shape
	d := s[0] * s[1] * s[2]
	c := experiment.LangevinConfig(810)
	c.Clamp = false // keep h as the chains leave it
	x, err := e.SampleJoint(32, c, tensor.NewRNG(2))
	if err != nil {
		return err
	}
	test := eval.SetImages(e.Data.Test.Slice(0, min(500, e.Data.Test.N)))
	mu := sample.PosteriorMean(q, test, 500)
	fmt.Fprintf(w, "%s: joint chains: mean |h| %.2f, mean |v| %.2f; q's means of %d test images: mean |h| %.2f\n",
		e.Dir, rowNorms(x, d, d+h), rowNorms(x, 0, d), test.Dim(0), rowNorms(mu, 0, h))
	return nil
}

// rowNorms is the mean over rows of x of the norm of columns [lo, hi).
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

// ScoreVar looks at the score a deep EBLVM run's BiMDSM training matched,
// on one perturbed batch of 100 test images (the config's noise levels,
// fixed noise):
//
//   - the variance of the single-draw bi-level score over h ~ q: the outer
//     loss with the score averaged over M draws (objective.BiEnergyMean) is
//     L∞ + V/M, so V ≈ (L1 - L16)·16/15;
//   - its bias: the model's own marginal score ∇_v log p(v) = -E_{p(h|v)}
//     ∇_v E(v,h), estimated by self-normalised importance sampling with q as
//     the proposal (S draws; the effective sample size is printed), scored
//     with the same loss as the bi-level estimate, per noise band;
//   - where the model puts the blank image against clean test digits in
//     free energy (the marginal's -log density up to a constant, estimated
//     through q), beside the joint energy at q's mean and q's log-volume.
//
// For a fully visible run (resnet_ebm) it prints the loss of its exact
// score on the same batch and the free energies, for comparison.
func ScoreVar(w io.Writer, e *experiment.Experiment) error {
	outer, ok := e.Outer()
	if !ok || !e.Config.Model.Kind.Deep() {
		return fmt.Errorf("scorevar studies deep runs; %s is %s", e.Dir, e.Config.Model.Kind)
	}
	const n = 100
	v := eval.SetImages(e.Data.Test.Slice(0, min(n, e.Data.Test.N)))
	nb := v.Dim(0)
	p := outer.Perturb(v, tensor.NewRNG(7))
	blank := tensor.New(v.DType(), append([]int{1}, v.Shape()[1:]...)...)
	if ebm, ok := e.Model.(*model.ResNetEBM); ok {
		th := ebm.Params().Consts()
		l := outer.Loss(objective.MarginalEnergy(ebm, th), p).Item()
		fmt.Fprintf(w, "%s (%s): loss of the exact score %.5g\n", e.Dir, e.Config.Model.Kind, l)
		ft := ebm.FreeEnergy(th, ad.Const(v)).Tensor().As(tensor.Float64).F64()
		fb := ebm.FreeEnergy(th, ad.Const(blank)).Tensor().Flat(0)
		fmt.Fprintf(w, "free energy: blank %.5g; %d clean test images mean %.5g, min %.5g\n", fb, nb, stat.Mean(ft, nil), floats.Min(ft))
		return nil
	}
	m, mok := e.Model.(*model.DeepEBLVM)
	q, qok := e.Posterior.(*model.CNNPosterior)
	if !mok || !qok {
		return fmt.Errorf("scorevar: %s has no posterior", e.Config.Model.Kind)
	}
	theta, phi := m.Params().Consts(), q.Params().Consts()

	fmt.Fprintf(w, "%-34s %12s %12s %12s %12s\n", "", "E(v, μ_q)", "Σ log σ_q", "F_q bound", "F (IS, 256)")
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
	}{{"blank image", blank}, {fmt.Sprintf("%d clean test images, mean", nb), v}} {
		a, b, fq, fis := freeEnergies(m, q, c.x, 256, tensor.NewRNG(11))
		fmt.Fprintf(w, "%-34s %12.5g %12.5g %12.5g %12.5g\n", c.name, stat.Mean(a, nil), stat.Mean(b, nil), stat.Mean(fq, nil), stat.Mean(fis, nil))
		if c.x.Dim(0) > 1 {
			fmt.Fprintf(w, "%-34s %12.5g %12.5g %12.5g %12.5g\n", fmt.Sprintf("%d clean test images, min", nb), floats.Min(a), floats.Min(b), floats.Min(fq), floats.Min(fis))
		}
	}
	fmt.Fprintln(w)

	// Variance over h of the single-draw score.
	const repeats = 4
	loss := map[int]float64{}
	for _, k := range []int{1, 4, 16} {
		sum := 0.0
		for i := 0; i < repeats; i++ {
			sum += outer.Loss(objective.BiEnergyMean(m, q, theta, phi, k, tensor.NewRNG(uint64(100*k+i))), p).Item()
		}
		loss[k] = sum / repeats
		fmt.Fprintf(w, "bi-level score averaged over M=%2d draws: loss %.5g (mean of %d)\n", k, loss[k], repeats)
	}
	vr := (loss[1] - loss[16]) * 16 / 15
	fmt.Fprintf(w, "variance term V ≈ %.4g: %.2f%% of the single-draw loss\n\n", vr, 100*vr/loss[1])

	bands := []int{0}
	for i := 1; i <= 5; i++ {
		bands = append(bands, i*nb/5)
	}
	bandMeans := func(per []float64) []float64 {
		out := make([]float64, len(bands)-1)
		for i := range out {
			out[i] = stat.Mean(per[bands[i]:bands[i+1]], nil)
		}
		return out
	}
	row := func(name string, vals []float64, format string) {
		fmt.Fprintf(w, "%-28s", name)
		for _, v := range vals {
			fmt.Fprintf(w, format, v)
		}
	}
	report := func(name string, per *ad.Value) {
		f := per.Tensor().As(tensor.Float64).F64()
		row(name, bandMeans(f), " %10.4g")
		fmt.Fprintf(w, " | %10.4g\n", stat.Mean(f, nil))
	}
	fmt.Fprintf(w, "%-28s", "loss by example band:")
	if p.Sigmas != nil {
		sig := p.Sigmas.As(tensor.Float64).F64()
		for i := 0; i+1 < len(bands); i++ {
			fmt.Fprintf(w, "  %.2f-%.2f", sig[bands[i]], sig[bands[i+1]-1])
		}
	}
	fmt.Fprintf(w, " | %10s\n", "all")
	report("bi-level (trained on)", outer.PerExample(objective.BiEnergy(m, q, theta, phi, tensor.NewRNG(1)), p))

	// Self-normalised importance sampling of -E_{p(h|v)} ∇_v E(v,h): the
	// score of Σ_s w_s E(v,h_s) with the weights held constant.
	for _, S := range []int{64, 256} {
		hs, lw := logWeights(m, q, theta, phi, ad.Const(p.X), S, tensor.NewRNG(uint64(S)))
		wts := make([]*tensor.Tensor, S) // wts[s][b]
		ws := make([]float64, S*nb)
		ess := make([]float64, nb)
		for b := 0; b < nb; b++ {
			wb, _, e := normalise(lw[b])
			ess[b] = e
			for s := range wb {
				ws[s*nb+b] = wb[s]
			}
		}
		for s := range wts {
			wts[s] = tensor.FromFloat64(ws[s*nb:(s+1)*nb], nb).As(p.X.DType())
		}
		weighted := func(v *ad.Value) *ad.Value {
			energy := model.EnergyGivenV(m, theta, v)
			var total *ad.Value
			for s, h := range hs {
				t := ad.Mul(energy.At(h), ad.Const(wts[s]))
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
		fmt.Fprintln(w)
	}
	return nil
}

// logWeights draws S samples h_s ~ q(h|v) for the images x (no graph to
// v) and returns them with the log importance weights
// lw[b][s] = -E(v_b,h_s) - log q(h_s|v_b) of p̃(v,h) against q.
func logWeights(m *model.DeepEBLVM, q *model.CNNPosterior, theta, phi nn.Vals, x *ad.Value, S int, rng *tensor.RNG) (hs []*ad.Value, lw [][]float64) {
	energy := model.EnergyGivenV(m, theta, x)
	lw = make([][]float64, x.Shape()[0])
	for s := 0; s < S; s++ {
		h := q.Sample(phi, x, rng)
		e := energy.At(h).Tensor().As(tensor.Float64).F64()
		lq := q.LogProb(phi, x, h).Tensor().As(tensor.Float64).F64()
		for b := range lw {
			lw[b] = append(lw[b], -e[b]-lq[b])
		}
		hs = append(hs, h)
	}
	return hs, lw
}

// normalise returns the self-normalised weights of log weights l, the log
// of their plain mean (log mean_s exp l_s) and the effective sample size.
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
