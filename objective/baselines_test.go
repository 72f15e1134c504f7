package objective

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

const blF64 = tensor.Float64

// blGRBM returns a float64 GRBM with non-trivial σ.
func blGRBM(d, h int, scalar bool, seed uint64) *model.GRBM {
	m := model.NewGRBM(d, h, scalar, tensor.NewRNG(seed), blF64)
	ls := m.Params().Get("log_sigma")
	for i := 0; i < ls.Size(); i++ {
		ls.SetFlat(i, 0.15*float64(i+1)-0.2)
	}
	return m
}

// blFreeEnergy computes F(v) per row by hand with tensor ops, from the
// model's current parameter tensors.
func blFreeEnergy(m *model.GRBM, v *tensor.Tensor) []float64 {
	p := m.Params()
	w, b, c, ls := p.Get("W"), p.Get("b"), p.Get("c"), p.Get("log_sigma")
	prec := tensor.Exp(tensor.Scale(ls, -2))
	quad := tensor.Scale(tensor.Sum(tensor.Mul(tensor.Square(tensor.Sub(v, b)), prec), false, 1), 0.5)
	vw := tensor.MatMul(v, w, false, false)
	if m.ScalarSigma {
		vw = tensor.Mul(vw, tensor.Exp(tensor.Neg(ls)))
	}
	hid := tensor.Sum(tensor.Softplus(tensor.Add(vw, c)), false, 1)
	return tensor.Sub(quad, hid).Values()
}

func blMean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func blSoftplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// blFD returns central finite differences of f with respect to every
// element of ts (perturbed in place and restored).
func blFD(ts []*tensor.Tensor, f func() float64) []*tensor.Tensor {
	const eps = 1e-6
	out := make([]*tensor.Tensor, len(ts))
	for i, x := range ts {
		g := tensor.ZerosLike(x)
		for j := 0; j < x.Size(); j++ {
			x0 := x.Flat(j)
			x.SetFlat(j, x0+eps)
			fp := f()
			x.SetFlat(j, x0-eps)
			fm := f()
			x.SetFlat(j, x0)
			g.SetFlat(j, (fp-fm)/(2*eps))
		}
		out[i] = g
	}
	return out
}

func blCompareGrads(t *testing.T, names []string, got, want []*tensor.Tensor, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d gradients, want %d", len(got), len(want))
	}
	for i := range got {
		if !tensor.SameShape(got[i].Shape(), want[i].Shape()) {
			t.Fatalf("%s: gradient shape %v, want %v", names[i], got[i].Shape(), want[i].Shape())
		}
		for j := 0; j < got[i].Size(); j++ {
			a, n := got[i].Flat(j), want[i].Flat(j)
			if math.Abs(a-n) > tol*math.Max(1, math.Abs(n)) {
				t.Fatalf("%s[%d]: gradient %.10g, finite difference %.10g", names[i], j, a, n)
			}
		}
	}
}

func blMaxAbsDiff(a, b *tensor.Tensor) float64 {
	d := 0.0
	for i := 0; i < a.Size(); i++ {
		d = math.Max(d, math.Abs(a.Flat(i)-b.Flat(i)))
	}
	return d
}

// TestCDLossAndGradient recomputes CD-k's loss by hand on the same seeded
// chains and its gradient by finite differences with the chains held fixed.
func TestCDLossAndGradient(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		for _, k := range []int{1, 3} {
			m := blGRBM(3, 4, scalar, 3)
			v := tensor.NewRNG(4).Normal(blF64, 0, 1, 6, 3)
			loss, grads := CD{K: k}.Step(m, v, tensor.NewRNG(7))

			neg := v
			rng := tensor.NewRNG(7)
			for i := 0; i < k; i++ {
				_, neg = m.Gibbs(neg, rng)
			}
			if blMaxAbsDiff(neg, v) == 0 {
				t.Fatalf("chains did not move")
			}
			direct := func() float64 { return blMean(blFreeEnergy(m, v)) - blMean(blFreeEnergy(m, neg)) }
			if want := direct(); math.Abs(loss-want) > 1e-12 {
				t.Fatalf("scalar=%v k=%d: loss %v, direct %v", scalar, k, loss, want)
			}
			fd := blFD(m.Params().Tensors(), direct)
			blCompareGrads(t, m.Params().Names(), grads, fd, 1e-6)
		}
	}
}

// TestPCDChainsPersist checks data initialisation, persistence across
// calls, and the checkpoint round trip.
func TestPCDChainsPersist(t *testing.T) {
	m := blGRBM(2, 3, false, 5)
	data := tensor.NewRNG(6)
	v1 := data.Normal(blF64, 0, 1, 3, 2)
	v2 := data.Normal(blF64, 0, 1, 3, 2)

	p := &PCD{K: 2, NumChains: 5}
	if p.Chains() != nil {
		t.Fatal("chains before the first step")
	}
	loss1, _ := p.Step(m, v1, tensor.NewRNG(1))
	c1 := p.Chains().Clone()
	if s := c1.Shape(); s[0] != 5 || s[1] != 2 {
		t.Fatalf("chains of shape %v, want [5 2]", s)
	}
	// Chain i starts at row i mod 3 of the first batch.
	init := tensor.Concat(0, v1, tensor.Slice(v1, 0, 0, 2))
	want1 := GibbsChains(m, init, 2, tensor.NewRNG(1))
	if d := blMaxAbsDiff(c1, want1); d != 0 {
		t.Fatalf("first chains differ from Gibbs from the data by %v", d)
	}
	if w := blMean(blFreeEnergy(m, v1)) - blMean(blFreeEnergy(m, c1)); math.Abs(loss1-w) > 1e-12 {
		t.Fatalf("loss %v, direct %v", loss1, w)
	}
	snap := c1.Clone()

	// The second call continues from the chains, not from v2, and updates
	// them in place.
	cur := p.Chains()
	loss2, grads2 := p.Step(m, v2, tensor.NewRNG(2))
	if p.Chains() != cur {
		t.Fatal("Step replaced the chains' tensor instead of updating it")
	}
	c2 := p.Chains().Clone()
	if blMaxAbsDiff(c2, c1) == 0 {
		t.Fatal("chains did not move on the second call")
	}
	if d := blMaxAbsDiff(c2, GibbsChains(m, c1, 2, tensor.NewRNG(2))); d != 0 {
		t.Fatalf("second chains are not Gibbs from the first (diff %v)", d)
	}

	// Restoring the chains reproduces the step.
	q := &PCD{K: 2}
	q.SetChains(snap)
	loss2b, grads2b := q.Step(m, v2, tensor.NewRNG(2))
	if q.NumChains != 5 || loss2b != loss2 || blMaxAbsDiff(q.Chains(), c2) != 0 {
		t.Fatalf("restored PCD: loss %v chains %v, want %v %v", loss2b, q.Chains(), loss2, c2)
	}
	blCompareGrads(t, m.Params().Names(), grads2b, grads2, 0)
	direct := func() float64 { return blMean(blFreeEnergy(m, v2)) - blMean(blFreeEnergy(m, c2)) }
	blCompareGrads(t, m.Params().Names(), grads2, blFD(m.Params().Tensors(), direct), 1e-6)

	// Default: 100 chains tiled from the first batch.
	r := NewPCD(1)
	r.Step(m, v1, tensor.NewRNG(3))
	if s := r.Chains().Shape(); s[0] != DefaultPCDChains || s[1] != 2 {
		t.Fatalf("default chains of shape %v", s)
	}
}

// blNCEDirect evaluates the NCE loss from the formula with plain float64
// arithmetic.
func blNCEDirect(m *model.GRBM, c float64, x, y *tensor.Tensor, nu int) float64 {
	d := float64(x.Dim(1))
	g := func(u *tensor.Tensor) []float64 {
		f := blFreeEnergy(m, u)
		out := make([]float64, len(f))
		for i := range f {
			sq := 0.0
			for j := 0; j < u.Dim(1); j++ {
				sq += u.At(i, j) * u.At(i, j)
			}
			logPn := -0.5*sq - 0.5*d*math.Log(2*math.Pi)
			out[i] = -f[i] - c - logPn - math.Log(float64(nu))
		}
		return out
	}
	var a, b []float64
	for _, gx := range g(x) {
		a = append(a, blSoftplus(-gx)) // -log σ(G)
	}
	for _, gy := range g(y) {
		b = append(b, blSoftplus(gy)) // -log(1-σ(G))
	}
	return blMean(a) + float64(nu)*blMean(b)
}

// TestNCELossAndGradient compares NCE's loss with the formula and its θ- and
// c-gradients with finite differences (same seeded noise).
func TestNCELossAndGradient(t *testing.T) {
	for _, nu := range []int{1, 3} {
		m := blGRBM(2, 3, false, 8)
		x := tensor.NewRNG(9).Normal(blF64, 0.5, 1.2, 5, 2)
		nce := NewNCE(blF64)
		nce.Nu = nu
		nce.Params().Get(LogZParamName).SetFlat(0, 0.3)
		loss, g, gc := nce.Step(m, x, tensor.NewRNG(5))
		y := tensor.NewRNG(5).Normal(blF64, 0, 1, nu*5, 2)
		if want := blNCEDirect(m, 0.3, x, y, nu); math.Abs(loss-want) > 1e-12 {
			t.Fatalf("nu=%d: loss %v, direct %v", nu, loss, want)
		}
		f := func() float64 { l, _, _ := nce.Step(m, x, tensor.NewRNG(5)); return l }
		blCompareGrads(t, m.Params().Names(), g, blFD(m.Params().Tensors(), f), 1e-6)
		blCompareGrads(t, nce.Params().Names(), gc, blFD(nce.Params().Tensors(), f), 1e-6)
	}
}

// blLogWeights returns, for every h in {0,1}^H (bit j of the index is h_j),
// log ∫ exp(-E(v,h)) dv = c·h + Σ_i [log σ_i + ½log 2π + a_i b_i + ½σ_i² a_i²]
// with a = Wh (default) or Wh/σ (scalar variant), and E[v|h] = b + σ² a.
func blLogWeights(m *model.GRBM) (logw []float64, means [][]float64) {
	p := m.Params()
	w, b, c, ls := p.Get("W"), p.Get("b"), p.Get("c"), p.Get("log_sigma")
	sigma := func(i int) float64 {
		if ls.Size() == 1 {
			return math.Exp(ls.Flat(0))
		}
		return math.Exp(ls.Flat(i))
	}
	for s := 0; s < 1<<m.H; s++ {
		lw := 0.0
		mu := make([]float64, m.D)
		for j := 0; j < m.H; j++ {
			if s>>j&1 == 1 {
				lw += c.Flat(j)
			}
		}
		for i := 0; i < m.D; i++ {
			a := 0.0
			for j := 0; j < m.H; j++ {
				if s>>j&1 == 1 {
					a += w.At(i, j)
				}
			}
			si := sigma(i)
			if m.ScalarSigma {
				a /= si
			}
			lw += math.Log(si) + 0.5*math.Log(2*math.Pi) + a*b.Flat(i) + 0.5*si*si*a*a
			mu[i] = b.Flat(i) + si*si*a
		}
		logw = append(logw, lw)
		means = append(means, mu)
	}
	return
}

// blSampleGRBM draws n exact samples from the GRBM's marginal by
// enumerating h.
func blSampleGRBM(m *model.GRBM, n int, rng *tensor.RNG) *tensor.Tensor {
	logw, means := blLogWeights(m)
	lz := logSumExp(logw)
	ls := m.Params().Get("log_sigma")
	out := tensor.New(blF64, n, m.D)
	for r := 0; r < n; r++ {
		u, s := rng.Rand().Float64(), 0
		for acc := 0.0; s < len(logw)-1; s++ {
			acc += math.Exp(logw[s] - lz)
			if u < acc {
				break
			}
		}
		for i := 0; i < m.D; i++ {
			si := math.Exp(ls.Flat(min(i, ls.Size()-1)))
			out.Set(means[s][i]+si*rng.Rand().NormFloat64(), r, i)
		}
	}
	return out
}

// TestGRBMLogZHelper checks the test's closed-form log Z against a
// quadrature of exp(-F) for D = 1.
func TestGRBMLogZHelper(t *testing.T) {
	m := blGRBM(1, 3, false, 12)
	logw, _ := blLogWeights(m)
	lz := logSumExp(logw)
	const n, lo, hi = 20001, -15.0, 15.0
	v := tensor.New(blF64, n, 1)
	for i := 0; i < n; i++ {
		v.SetFlat(i, lo+(hi-lo)*float64(i)/float64(n-1))
	}
	var terms []float64
	for _, f := range blFreeEnergy(m, v) {
		terms = append(terms, -f)
	}
	quad := logSumExp(terms) + math.Log((hi-lo)/float64(n-1))
	if math.Abs(quad-lz) > 1e-6 {
		t.Fatalf("log Z %v, quadrature %v", lz, quad)
	}
}

// TestNCETrainingSanity trains a GRBM and c with NCE (Adam) on exact samples
// of a known GRBM and checks that the loss falls and that c approaches the
// learned model's exact log Z (NCE's self-normalisation).
func TestNCETrainingSanity(t *testing.T) {
	truth := blGRBM(2, 2, false, 13)
	truth.Params().Get("W").CopyFrom(tensor.FromFloat64([]float64{1.5, -1, 0.5, 1.5}, 2, 2))
	rng := tensor.NewRNG(14)
	data := blSampleGRBM(truth, 4000, rng)

	m := model.NewGRBM(2, 2, false, tensor.NewRNG(15), blF64)
	nce := NewNCE(blF64)
	opt, optC := optim.NewAdam(0.03, 0.9, 0.95), optim.NewAdam(0.03, 0.9, 0.95)
	evalNoise := tensor.NewRNG(16).Normal(blF64, 0, 1, 4000, 2)
	eval := func() float64 {
		return NCELoss(m, m.Params().Consts(), nce.Params().Consts().Get(LogZParamName), data, evalNoise, 1).Item()
	}
	before := eval()
	const batch = 200
	for it := 0; it < 600; it++ {
		off := (it * batch) % data.Dim(0)
		_, g, gc := nce.Step(m, tensor.Slice(data, 0, off, off+batch), rng)
		opt.Step(m.Params(), g)
		optC.Step(nce.Params(), gc)
	}
	after := eval()
	logw, _ := blLogWeights(m)
	lz := logSumExp(logw)
	t.Logf("NCE loss %.4f -> %.4f; c = %.4f, log Z(θ) = %.4f", before, after, nce.LogZ(), lz)
	if !(after < before) {
		t.Fatalf("NCE loss did not fall: %v -> %v", before, after)
	}
	if math.Abs(nce.LogZ()-lz) > 0.15 {
		t.Fatalf("c = %v, exact log Z of the learned model %v", nce.LogZ(), lz)
	}
}

// blExactPosterior returns a relaxed-Bernoulli q whose logits are the
// GRBM's exact posterior logits c + Wᵀv (default parameterisation).
func blExactPosterior(m *model.GRBM) *model.BernoulliPosterior {
	q := model.NewBernoulliPosterior(m.D, m.H, tensor.NewRNG(1), blF64)
	q.Params().Get("A").CopyFrom(m.Params().Get("W"))
	q.Params().Get("a").CopyFrom(m.Params().Get("c"))
	return q
}

// TestVNCEEqualsNCEAtExactPosterior: with q the model posterior r(x,h) does
// not depend on h (E and log q are linear in h and their h-terms cancel,
// even at relaxed samples), so the bound is tight and the importance
// estimate exact: VNCE's loss equals NCE's.
func TestVNCEEqualsNCEAtExactPosterior(t *testing.T) {
	for _, nu := range []int{1, 2} {
		m := blGRBM(3, 2, false, 17)
		q := blExactPosterior(m)
		x := tensor.NewRNG(18).Normal(blF64, 0, 1, 4, 3)
		y := tensor.NewRNG(19).Normal(blF64, 0, 1, 4*nu, 3)
		c := ad.Const(tensor.FromFloat64([]float64{0.2}, 1))
		th := m.Params().Consts()
		loss, bound := VNCELoss(m, q, th, q.Params().Consts(), c, x, y, 3, nu, tensor.NewRNG(20))
		want := NCELoss(m, th, c, x, y, nu).Item()
		if math.Abs(loss.Item()-want) > 1e-10 {
			t.Fatalf("nu=%d: VNCE loss %v, NCE loss %v", nu, loss.Item(), want)
		}
		// The data term alone: NCE's mean log σ(G(x)).
		var dt []float64
		for i, f := range blFreeEnergy(m, x) {
			sq := 0.0
			for j := 0; j < 3; j++ {
				sq += x.At(i, j) * x.At(i, j)
			}
			g := -f - 0.2 + 0.5*sq + 1.5*math.Log(2*math.Pi) - math.Log(float64(nu))
			dt = append(dt, -blSoftplus(-g))
		}
		if w := blMean(dt); math.Abs(bound.Item()-w) > 1e-10 {
			t.Fatalf("nu=%d: bound %v, exact data term %v", nu, bound.Item(), w)
		}
	}
}

// TestVNCEGradientFiniteDifference checks Step's θ- and c-gradients against
// finite differences of its loss with the same seeded noise and particles
// (K = 0, so φ stays fixed), for a posterior away from the model's.
func TestVNCEGradientFiniteDifference(t *testing.T) {
	m := blGRBM(3, 2, false, 21)
	q := model.NewBernoulliPosterior(3, 2, tensor.NewRNG(22), blF64)
	vn := NewVNCE(q, optim.NewAdam(0.01, 0.9, 0.95), blF64)
	vn.K, vn.Particles = 0, 3
	vn.Params().Get(LogZParamName).SetFlat(0, 0.1)
	x := tensor.NewRNG(23).Normal(blF64, 0, 1, 4, 3)
	res := vn.Step(m, x, tensor.NewRNG(24))
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) || math.IsNaN(res.Bound) {
		t.Fatalf("loss %v, bound %v", res.Loss, res.Bound)
	}
	f := func() float64 { return vn.Step(m, x, tensor.NewRNG(24)).Loss }
	blCompareGrads(t, m.Params().Names(), res.Grads, blFD(m.Params().Tensors(), f), 1e-6)
	blCompareGrads(t, vn.Params().Names(), res.LogZGrads, blFD(vn.Params().Tensors(), f), 1e-6)

	// With inner steps φ moves and the result stays finite.
	a0 := q.Params().Get("A").Clone()
	vn.K = 5
	res = vn.Step(m, x, tensor.NewRNG(25))
	if blMaxAbsDiff(a0, q.Params().Get("A")) == 0 {
		t.Fatal("inner steps did not move φ")
	}
	if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) {
		t.Fatalf("loss %v after inner steps", res.Loss)
	}
	for _, g := range append(res.Grads, res.LogZGrads...) {
		if g.HasNaNOrInf() {
			t.Fatal("non-finite gradient")
		}
	}
}

// blLogPn is log N(x; 0, I) per row.
func blLogPn(x *tensor.Tensor) []float64 {
	out := make([]float64, x.Dim(0))
	for i := range out {
		sq := 0.0
		for j := 0; j < x.Dim(1); j++ {
			sq += x.At(i, j) * x.At(i, j)
		}
		out[i] = -0.5*sq - 0.5*float64(x.Dim(1))*math.Log(2*math.Pi)
	}
	return out
}

// blCentreLogZ returns the c that makes mean log r(x) = mean(-F(x) - c - log p_n(x)) zero.
func blCentreLogZ(m *model.GRBM, x *tensor.Tensor) float64 {
	f, lp := blFreeEnergy(m, x), blLogPn(x)
	s := 0.0
	for i := range f {
		s += -f[i] - lp[i]
	}
	return s / float64(len(f))
}

// TestVNCEDataBoundBelowExact: near zero temperature the relaxed samples are
// binary and LogProb is the Bernoulli log-probability, so the Monte-Carlo
// data term must match the bound computed by enumerating h exactly, which
// lies below NCE's exact data term (Jensen) when q is not the posterior.
func TestVNCEDataBoundBelowExact(t *testing.T) {
	const d, hd, b, particles = 2, 3, 3, 4000
	m := blGRBM(d, hd, false, 26)
	q := model.NewBernoulliPosterior(d, hd, tensor.NewRNG(27), blF64)
	q.Tau = 1e-3
	q.Params().Get("a").Fill(-1.5) // away from the posterior
	x := tensor.NewRNG(28).Normal(blF64, 0, 1, b, d)
	c := blCentreLogZ(m, x) // so that r(x) is near 1 and the bound's gap shows
	th, phi := m.Params().Consts(), q.Params().Consts()
	cv := ad.Const(tensor.FromFloat64([]float64{c}, 1))

	// Exact: enumerate h in {0,1}^H with the (non-relaxed) Bernoulli q.
	var enumBound, exact []float64
	logits := q.Logits(phi, ad.Const(x)).Tensor()
	fx := blFreeEnergy(m, x)
	for i := 0; i < b; i++ {
		xi := tensor.Slice(x, 0, i, i+1)
		sq := 0.0
		for j := 0; j < d; j++ {
			sq += x.At(i, j) * x.At(i, j)
		}
		logPn := -0.5*sq - 0.5*d*math.Log(2*math.Pi)
		exact = append(exact, -blSoftplus(-(-fx[i] - c - logPn)))
		s := 0.0
		for st := 0; st < 1<<hd; st++ {
			h := tensor.New(blF64, 1, hd)
			logQ := 0.0
			for j := 0; j < hd; j++ {
				l := logits.At(i, j)
				if st>>j&1 == 1 {
					h.SetFlat(j, 1)
					logQ += l - blSoftplus(l)
				} else {
					logQ -= blSoftplus(l)
				}
			}
			logR := -m.Energy(th, ad.Const(xi), ad.Const(h)).Item() - c - logQ - logPn
			s += math.Exp(logQ) * -blSoftplus(-logR)
		}
		enumBound = append(enumBound, s)
		if !(s <= exact[i]+1e-12) {
			t.Fatalf("row %d: enumerated bound %v above the exact data term %v", i, s, exact[i])
		}
	}

	// Monte Carlo with the relaxed sampler, and its standard error.
	logR := vnceLogRatios(m, q, th, phi, cv, x, particles, tensor.NewRNG(29)).Tensor()
	var gs []float64
	for i := 0; i < logR.Size(); i++ {
		gs = append(gs, -blSoftplus(-logR.Flat(i)))
	}
	mc := blMean(gs)
	vr := 0.0
	for _, g := range gs {
		vr += (g - mc) * (g - mc)
	}
	se := math.Sqrt(vr / float64(len(gs)) / float64(len(gs)))
	got := VNCEDataBound(m, q, th, phi, cv, x, particles, 1, tensor.NewRNG(29)).Item()
	if math.Abs(got-mc) > 1e-12 {
		t.Fatalf("VNCEDataBound %v, mean of the log ratios' terms %v", got, mc)
	}
	want := blMean(enumBound)
	if !(want < blMean(exact)-0.01) {
		t.Fatalf("enumerated bound %v not clearly below the exact data term %v", want, blMean(exact))
	}
	t.Logf("bound: MC %.5f ± %.5f, enumerated %.5f, exact data term %.5f", mc, se, want, blMean(exact))
	if math.Abs(mc-want) > 5*se+1e-3 {
		t.Fatalf("Monte-Carlo bound %v ± %v, enumerated %v", mc, se, want)
	}
}

// TestVNCEInnerStepsIncreaseBound: q's inner steps (default temperature)
// raise the data-term bound towards NCE's exact data term.
func TestVNCEInnerStepsIncreaseBound(t *testing.T) {
	m := blGRBM(2, 3, false, 30)
	w := m.Params().Get("W")
	for i := 0; i < w.Size(); i++ {
		w.SetFlat(i, 2*w.Flat(i))
	}
	q := model.NewBernoulliPosterior(2, 3, tensor.NewRNG(31), blF64)
	q.Params().Get("a").Fill(2) // far from the posterior
	x := tensor.NewRNG(32).Normal(blF64, 0, 1, 50, 2)
	c := blCentreLogZ(m, x)
	bound := func() float64 {
		return VNCEDataBound(m, q, m.Params().Consts(), q.Params().Consts(),
			ad.Const(tensor.FromFloat64([]float64{c}, 1)), x, 200, 1, tensor.NewRNG(33)).Item()
	}
	before := bound()
	vn := NewVNCE(q, optim.NewAdam(0.05, 0.9, 0.95), blF64)
	vn.Params().Get(LogZParamName).SetFlat(0, c)
	vn.K = 40
	vn.Step(m, x, tensor.NewRNG(34))
	after := bound()

	var exact []float64
	lp := blLogPn(x)
	for i, f := range blFreeEnergy(m, x) {
		exact = append(exact, -blSoftplus(f+c+lp[i]))
	}
	ex := blMean(exact)
	t.Logf("bound %.4f -> %.4f (exact data term %.4f)", before, after, ex)
	if !(after > before+0.01) {
		t.Fatalf("inner steps did not raise the bound: %v -> %v", before, after)
	}
	if !(ex-after < 0.5*(ex-before)) {
		t.Fatalf("bound %v -> %v did not close half the gap to %v", before, after, ex)
	}
}

// TestCDSharesTheDataProduct: CD's step, which starts its chains from the
// logits of the data's free energy, gives the bits of GibbsChains followed
// by FreeEnergyGap (the definition), in float32 on a Frey-sized batch.
func TestCDSharesTheDataProduct(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		for _, k := range []int{0, 1, 2} {
			m := model.NewGRBM(56, 40, scalar, tensor.NewRNG(3), tensor.Float32)
			v := tensor.NewRNG(4).Normal(tensor.Float32, 0, 1, 30, 56)
			loss, grads := CD{K: k}.Step(m, v, tensor.NewRNG(7))

			theta := m.Params().Vars()
			l := FreeEnergyGap(m, theta, v, GibbsChains(m, v, k, tensor.NewRNG(7)))
			want := ad.Tensors(ad.Grad(l, theta.List()))
			if math.Float64bits(loss) != math.Float64bits(l.Item()) {
				t.Fatalf("scalar=%v k=%d: loss %v, by the definition %v", scalar, k, loss, l.Item())
			}
			for i, g := range grads {
				for j := range g.Size() {
					if math.Float64bits(g.Flat(j)) != math.Float64bits(want[i].Flat(j)) {
						t.Fatalf("scalar=%v k=%d: %s[%d] %v, by the definition %v", scalar, k, m.Params().Names()[i], j, g.Flat(j), want[i].Flat(j))
					}
				}
			}
		}
	}
}
