package objective

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

const f64 = tensor.Float64

// lgDirect computes, with plain tensor algebra, the score -C⁻¹(v-b) and the
// Hessian trace -tr(C⁻¹) of the linear-Gaussian marginal.
func lgDirect(m *model.LinearGaussian, v *tensor.Tensor) (score *tensor.Tensor, trH float64) {
	var cinv *tensor.Tensor
	cinv = tensor.Inverse(m.MarginalCov(m.Params().Consts()).Tensor())
	r := tensor.Sub(v, m.Params().Get("b"))
	score = tensor.Neg(tensor.MatMul(r, cinv, false, false))
	for i := 0; i < cinv.Dim(0); i++ {
		trH -= cinv.At(i, i)
	}
	return
}

func rowSums(x *tensor.Tensor) []float64 { return tensor.Sum(x, false, 1).Values() }

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// TestObjectivesAgainstDirectFormulas evaluates each objective on the
// linear-Gaussian marginal and compares with its formula computed directly.
func TestObjectivesAgainstDirectFormulas(t *testing.T) {
	rng := tensor.NewRNG(1)
	m := model.NewLinearGaussian(4, 2, rng, f64)
	v := rng.Normal(f64, 0, 1, 5, 4)
	e := MarginalEnergy(m, m.Params().Consts())
	cases := []struct {
		o    Outer
		want func(p Perturbed) float64
	}{
		{Outer{Kind: SM}, func(p Perturbed) float64 {
			s, tr := lgDirect(m, p.X)
			return mean(rowSums(tensor.Scale(tensor.Square(s), 0.5))) + tr
		}},
		{Outer{Kind: SSM}, func(p Perturbed) float64 {
			// uᵀ H u with H = -C⁻¹: the score's Jacobian applied to u.
			s, _ := lgDirect(m, p.X)
			s0, _ := lgDirect(m, tensor.Zeros(f64, p.X.Shape()...))
			hu := tensor.Sub(func() *tensor.Tensor { x, _ := lgDirect(m, tensor.Add(p.X, p.U)); return x }(), s)
			_ = s0
			return mean(rowSums(tensor.Scale(tensor.Square(s), 0.5))) + mean(rowSums(tensor.Mul(hu, p.U)))
		}},
		{Outer{Kind: DSM, Sigma: 0.3}, func(p Perturbed) float64 {
			s, _ := lgDirect(m, p.X)
			return mean(rowSums(tensor.Scale(tensor.Square(tensor.Add(s, tensor.Scale(p.Eps, 1/0.3))), 0.5)))
		}},
		{Outer{Kind: MDSM, SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: true}, func(p Perturbed) float64 {
			s, _ := lgDirect(m, p.X)
			r := tensor.Add(tensor.Div(s, p.Sigmas), tensor.Scale(p.Eps, 100))
			return mean(rowSums(tensor.Scale(tensor.Square(r), 0.5)))
		}},
	}
	for _, c := range cases {
		t.Run(c.o.Kind.String(), func(t *testing.T) {
			p := c.o.Perturb(v, tensor.NewRNG(9))
			got := c.o.Loss(e, p).Item()
			want := c.want(p)
			if math.Abs(got-want) > 1e-10*math.Max(1, math.Abs(want)) {
				t.Fatalf("loss %v, direct formula %v", got, want)
			}
		})
	}
}

func TestMDSMNoiseLevels(t *testing.T) {
	o := Outer{Kind: MDSM, SigmaBegin: 0.1, SigmaEnd: 3, Geometric: true}
	s := o.NoiseLevels(f64, 5, 2).Values()
	if math.Abs(s[0]-0.1) > 1e-12 || math.Abs(s[4]-3) > 1e-12 || math.Abs(s[2]-math.Sqrt(0.3)) > 1e-12 {
		t.Fatalf("geometric levels %v", s)
	}
	o.Geometric = false
	s = o.NoiseLevels(f64, 3, 2).Values()
	if math.Abs(s[1]-1.55) > 1e-12 {
		t.Fatalf("linear levels %v", s)
	}
}

// TestTheorem1 checks Theorem 1 on the linear-Gaussian model: with q equal
// to the true posterior, φ*(θ), the bi-level objective equals the marginal
// one and its θ-gradient equals the marginal score-matching gradient, to
// float64 precision, for every objective and every draw of h.
func TestTheorem1(t *testing.T) {
	rng := tensor.NewRNG(2)
	m := model.NewLinearGaussian(4, 3, rng, f64)
	q := model.NewGaussianPosterior(4, 3, rng, f64)
	v := rng.Normal(f64, 0, 1, 6, 4)
	for _, o := range []Outer{{Kind: SM}, {Kind: SSM}, {Kind: DSM, Sigma: 0.3}, {Kind: MDSM, SigmaBegin: 0.05, SigmaEnd: 1.2, Sigma0: 0.1}} {
		t.Run(o.Kind.String(), func(t *testing.T) {
			p := o.Perturb(v, tensor.NewRNG(3))
			theta := m.Params().Vars()
			marg := o.Loss(MarginalEnergy(m, theta), p)
			gm := ad.Grad(marg, theta.List())

			theta2 := m.Params().Vars()
			phiStar := m.PosteriorParams(theta2)
			bi := o.Loss(BiEnergy(m, q, theta2, phiStar, tensor.NewRNG(4)), p)
			gb := ad.Grad(bi, theta2.List())

			if d := math.Abs(marg.Item() - bi.Item()); d > 1e-10*math.Max(1, math.Abs(marg.Item())) {
				t.Fatalf("losses differ: marginal %v, bi-level %v", marg.Item(), bi.Item())
			}
			for i := range gm {
				a, b := gm[i].Tensor(), gb[i].Tensor()
				for j := 0; j < a.Size(); j++ {
					if d := math.Abs(a.Flat(j) - b.Flat(j)); d > 1e-9*math.Max(1, math.Abs(a.Flat(j))) {
						t.Fatalf("gradient %s[%d]: marginal %v, bi-level %v", theta.Names()[i], j, a.Flat(j), b.Flat(j))
					}
				}
			}
			// The Fisher inner loss vanishes at the true posterior.
			th := m.Params().Consts()
			inner := InnerLoss(model.EnergyGivenV(m, th, ad.Const(p.X)), q, m.PosteriorParams(th), ad.Const(p.X), nil, tensor.NewRNG(5)).Item()
			if inner > 1e-20 {
				t.Fatalf("posterior Fisher divergence at the true posterior = %v", inner)
			}
		})
	}
}

// TestUnrolledGradientFiniteDifference checks the θ-gradient of Algorithm 1
// (through N unrolled Adam steps, both inner losses) against finite
// differences of the outer loss at fixed noise.
func TestUnrolledGradientFiniteDifference(t *testing.T) {
	type setup struct {
		name string
		make func() (model.EBLVM, model.Posterior)
		o    Outer
	}
	setups := []setup{
		{"grbm-kl-dsm", func() (model.EBLVM, model.Posterior) {
			r := tensor.NewRNG(11)
			return model.NewGRBM(3, 2, false, r, f64), model.NewBernoulliPosterior(3, 2, r, f64)
		}, Outer{Kind: DSM, Sigma: 0.3}},
		{"lg-fisher-ssm", func() (model.EBLVM, model.Posterior) {
			r := tensor.NewRNG(12)
			return model.NewLinearGaussian(3, 2, r, f64), model.NewGaussianPosterior(3, 2, r, f64)
		}, Outer{Kind: SSM}},
	}
	for _, s := range setups {
		for _, unroll := range []string{"adam", "sgd"} {
			t.Run(s.name+"/"+unroll, func(t *testing.T) {
				m, q := s.make()
				v := tensor.NewRNG(13).Normal(f64, 0.5, 1, 4, 3)
				newOpt := func() optim.Optimizer {
					if unroll == "sgd" {
						return optim.NewSGD(0.1)
					}
					return optim.NewAdam(0.05, 0.9, 0.95)
				}
				// Two real inner steps first, so the unroll continues from a
				// non-trivial optimizer state; φ^0 and that state are then
				// held fixed while θ is perturbed (φ^0 is detached from θ).
				warm := newOpt()
				(&BiLevel{Model: m, Posterior: q, Outer: s.o, K: 2, InnerOpt: warm}).Step(v, tensor.NewRNG(15))
				state := warm.State()
				phi0 := q.Params().Clone()
				run := func() StepResult {
					q.Params().CopyFrom(phi0)
					opt := newOpt()
					if err := opt.LoadState(state, q.Params()); err != nil {
						t.Fatal(err)
					}
					b := &BiLevel{Model: m, Posterior: q, Outer: s.o, K: 0, N: 3, InnerOpt: opt}
					return b.Step(v, tensor.NewRNG(14))
				}
				res := run()
				const eps = 1e-6
				for i, th := range m.Params().Tensors() {
					for j := 0; j < th.Size(); j++ {
						orig := th.Flat(j)
						th.SetFlat(j, orig+eps)
						lp := run().Loss
						th.SetFlat(j, orig-eps)
						lm := run().Loss
						th.SetFlat(j, orig)
						fd := (lp - lm) / (2 * eps)
						an := res.Grads[i].Flat(j)
						if math.Abs(fd-an) > 1e-5*math.Max(1, math.Abs(fd)) {
							t.Fatalf("%s[%d]: unrolled gradient %v, finite difference %v", m.Params().Names()[i], j, an, fd)
						}
					}
				}
			})
		}
	}
}

// TestGRBMFreeEnergyBruteForce compares F(v) with -log Σ_h exp(-E(v,h)) over
// all 2^H hidden states, for both parameterisations.
func TestGRBMFreeEnergyBruteForce(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		rng := tensor.NewRNG(21)
		m := model.NewGRBM(3, 4, scalar, rng, f64)
		ls := m.Params().Get("log_sigma")
		for i := 0; i < ls.Size(); i++ {
			ls.SetFlat(i, 0.3*float64(i+1)-0.2)
		}
		v := rng.Normal(f64, 0, 1, 2, 3)
		th := m.Params().Consts()
		f := m.FreeEnergy(th, ad.Const(v)).Tensor().Values()
		for b := 0; b < 2; b++ {
			vb := ad.Const(tensor.Slice(v, 0, b, b+1))
			var terms []float64
			for s := 0; s < 16; s++ {
				h := tensor.New(f64, 1, 4)
				for j := 0; j < 4; j++ {
					h.SetFlat(j, float64((s>>j)&1))
				}
				terms = append(terms, -m.Energy(th, vb, ad.Const(h)).Item())
			}
			want := -logSumExp(terms)
			if math.Abs(f[b]-want) > 1e-12 {
				t.Fatalf("scalar=%v: F = %v, brute force %v", scalar, f[b], want)
			}
		}
	}
}

func logSumExp(xs []float64) float64 {
	m := math.Inf(-1)
	for _, x := range xs {
		m = math.Max(m, x)
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

var _ = nn.NewParams

// TestGRBMMarginalScoreBruteForce compares the marginal score -∇_v F(v) with
// central differences of the brute-force log Σ_h exp(-E(v,h)).
func TestGRBMMarginalScoreBruteForce(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		rng := tensor.NewRNG(31)
		m := model.NewGRBM(3, 4, scalar, rng, f64)
		m.Params().Get("log_sigma").Fill(-0.3)
		th := m.Params().Consts()
		v := rng.Normal(f64, 0, 1, 2, 3)
		score := Score(MarginalEnergy(m, th), ad.Var(v)).Tensor()
		logp := func(x *tensor.Tensor) float64 { // brute force, one row
			var terms []float64
			for s := 0; s < 16; s++ {
				h := tensor.New(f64, 1, 4)
				for j := 0; j < 4; j++ {
					h.SetFlat(j, float64((s>>j)&1))
				}
				terms = append(terms, -m.Energy(th, ad.Const(x), ad.Const(h)).Item())
			}
			return logSumExp(terms)
		}
		const eps = 1e-6
		for b := 0; b < 2; b++ {
			for i := 0; i < 3; i++ {
				xp, xm := tensor.Slice(v, 0, b, b+1).Clone(), tensor.Slice(v, 0, b, b+1).Clone()
				xp.SetFlat(i, xp.Flat(i)+eps)
				xm.SetFlat(i, xm.Flat(i)-eps)
				fd := (logp(xp) - logp(xm)) / (2 * eps)
				if got := score.At(b, i); math.Abs(got-fd) > 1e-7 {
					t.Fatalf("scalar=%v: score[%d,%d] = %v, brute force %v", scalar, b, i, got, fd)
				}
			}
		}
	}
}

// TestBiEnergyMean checks that the bi-level energy averaged over M draws
// has the mean of M single-draw bi-level scores as its score (same draws:
// the same RNG stream), and that M = 1 is BiEnergy itself.
func TestBiEnergyMean(t *testing.T) {
	rng := tensor.NewRNG(3)
	res := model.ResNetConfig{InChannels: 1, Height: 8, Width: 8, Ch: 2,
		Blocks: []model.BlockSpec{{Out: 4, Down: true}, {Out: 4}}}
	m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: res, H: 3, F: 5}, rng, f64)
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 8, Width: 8, H: 3, Ch: 2}, rng, f64)
	theta, phi := m.Params().Consts(), q.Params().Consts()
	v := rng.Uniform(f64, 0, 1, 4, 1, 8, 8)
	score := func(e EnergyFn) *tensor.Tensor { return Score(e, ad.Var(v)).Tensor() }

	one, single := score(BiEnergyMean(m, q, theta, phi, 1, tensor.NewRNG(9))), score(BiEnergy(m, q, theta, phi, tensor.NewRNG(9)))
	if d := blMaxAbsDiff(one, single); d != 0 {
		t.Fatalf("M = 1 differs from BiEnergy by %g", d)
	}
	const M = 3
	got := score(BiEnergyMean(m, q, theta, phi, M, tensor.NewRNG(5)))
	stream := tensor.NewRNG(5)
	want := tensor.New(f64, v.Shape()...)
	for i := 0; i < M; i++ {
		want = tensor.Add(want, tensor.Scale(score(BiEnergy(m, q, theta, phi, stream)), 1.0/M))
	}
	if d := blMaxAbsDiff(got, want); d > 1e-10 {
		t.Fatalf("mean over %d draws: score differs from the mean of single-draw scores by %g", M, d)
	}
	// The draws differ, so the average is not any single draw's score.
	if d := blMaxAbsDiff(got, single); d < 1e-6 {
		t.Fatalf("averaged score equals a single draw's (difference %g): draws not independent?", d)
	}
}

// TestBiLevelScoreLangevin runs annealed Langevin on v driven by the
// bi-level score (the deep EBLVM's bilevel sampler) on the linear-Gaussian
// model: with q the true posterior the score is the marginal score for
// every h, so the chains follow Langevin on the marginal free energy from
// the same start and noise; with a wrong q they do not.
func TestBiLevelScoreLangevin(t *testing.T) {
	rng := tensor.NewRNG(6)
	m := model.NewLinearGaussian(4, 3, rng, f64)
	q := model.NewGaussianPosterior(4, 3, rng, f64)
	theta := m.Params().Consts()
	temps := []float64{4, 2, 1, 1, 0.5, 0}
	cfg := sample.Config{StepSize: 0.3, Temps: temps, Denoise: true, Sigma0: 0.1}
	x0 := rng.Normal(f64, 0, 1, 50, 4)
	want := sample.LangevinFrom(sample.EnergyFn(MarginalEnergy(m, theta)), x0, cfg, tensor.NewRNG(8))
	exact := sample.LangevinFrom(sample.EnergyFn(BiEnergy(m, q, theta, m.PosteriorParams(theta), tensor.NewRNG(9))), x0, cfg, tensor.NewRNG(8))
	if d := blMaxAbsDiff(exact, want); d > 1e-10 {
		t.Fatalf("bi-level-score chains with the true posterior differ from marginal chains by %g", d)
	}
	wrong := sample.LangevinFrom(sample.EnergyFn(BiEnergy(m, q, theta, q.Params().Consts(), tensor.NewRNG(9))), x0, cfg, tensor.NewRNG(8))
	if d := blMaxAbsDiff(wrong, want); d < 1e-3 {
		t.Fatalf("chains with an untrained q match the marginal chains (difference %g)", d)
	}
}
