package model_test

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// The interfaces the deep models are used through.
var (
	_ model.EBLVM              = (*model.DeepEBLVM)(nil)
	_ model.VisibleConditioner = (*model.DeepEBLVM)(nil)
	_ model.FreeEnergyModel    = (*model.ResNetEBM)(nil)
	_ model.Posterior          = (*model.CNNPosterior)(nil)
	_ model.JointSampler       = (*model.CNNPosterior)(nil)
)

// tinyResNet is a CPU-test-sized configuration: 1×8×8 images, stem 1→ch,
// one down block ch→2ch and one plain block (output 2ch×4×4).
func tinyResNet(ch int) model.ResNetConfig {
	return model.ResNetConfig{InChannels: 1, Height: 8, Width: 8, Ch: ch,
		Blocks: []model.BlockSpec{{Out: 2 * ch, Down: true}, {Out: 2 * ch}}}
}

func allFinite(t *testing.T, what string, x *tensor.Tensor) {
	t.Helper()
	if x.HasNaNOrInf() {
		t.Fatalf("%s has NaN or Inf: %v", what, x)
	}
}

func TestResNetPresets(t *testing.T) {
	// The paper's sizes, from the configuration alone.
	if d := model.MNISTResNet(64).OutDim(); d != 8192 {
		t.Fatalf("MNISTResNet(64).OutDim() = %d, want 8192", d)
	}
	if d := model.CIFARResNet(128).OutDim(); d != 16384 {
		t.Fatalf("CIFARResNet(128).OutDim() = %d, want 16384", d)
	}
	if n := len(model.MNISTResNet(64).Blocks); n != 6 {
		t.Fatalf("MNIST ResNet has %d blocks, want 6", n)
	}
	if n := len(model.CIFARResNet(128).Blocks); n != 9 {
		t.Fatalf("CIFAR ResNet has %d blocks, want 9", n)
	}
	bad := model.ResNetConfig{InChannels: 1, Height: 6, Width: 6, Ch: 2,
		Blocks: []model.BlockSpec{{Out: 2, Down: true}, {Out: 2, Down: true}}}
	if bad.Validate() == nil {
		t.Fatal("a down block on a 3×3 map was accepted")
	}

	rng := tensor.NewRNG(1)
	for _, c := range []struct {
		name string
		cfg  model.ResNetConfig
	}{{"mnist", model.MNISTResNet(4)}, {"cifar", model.CIFARResNet(4)}} {
		t.Run(c.name, func(t *testing.T) {
			m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: c.cfg, H: 5}, rng, tensor.Float32)
			if m.Cfg.F != 8*4*16/2 {
				t.Fatalf("default F = %d, want %d", m.Cfg.F, 8*4*16/2)
			}
			th := m.Params().Consts()
			v := ad.Const(rng.Uniform(tensor.Float32, 0, 1, 2, c.cfg.InChannels, 32, 32))
			if s := m.Features(th, v).Shape(); !tensor.SameShape(s, []int{2, 5}) {
				t.Fatalf("g1(v) shape %v", s)
			}
			h := ad.Const(rng.Normal(tensor.Float32, 0, 1, 2, 5))
			e := m.Energy(th, v, h).Tensor()
			if !tensor.SameShape(e.Shape(), []int{2}) {
				t.Fatalf("energy shape %v", e.Shape())
			}
			allFinite(t, "energy", e)
			w := m.Params().Get("g1.W")
			if !tensor.SameShape(w.Shape(), []int{8 * 4 * 16, 5}) {
				t.Fatalf("g1.W shape %v", w.Shape())
			}
			// Every block has conv1 (no bias), conv2 and the 1×1 shortcut.
			last := len(c.cfg.Blocks) - 1
			for _, n := range []string{"res.stem.W", "res.stem.b", "res.0.conv1.W", "res.0.conv2.b", "res.0.short.W", "g3.W", "g3.b"} {
				if _, ok := m.Params().Lookup(n); !ok {
					t.Fatalf("no parameter %q", n)
				}
			}
			if _, ok := m.Params().Lookup("res.0.conv1.b"); ok {
				t.Fatal("conv1 has a bias")
			}
			if s := m.Params().Get("res." + itoa(last) + ".short.W").Shape(); !tensor.SameShape(s, []int{32, 32, 1, 1}) {
				t.Fatalf("last shortcut shape %v", s)
			}

			ebm := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: c.cfg}, rng, tensor.Float32)
			f := ebm.FreeEnergy(ebm.Params().Consts(), v).Tensor()
			if !tensor.SameShape(f.Shape(), []int{2}) {
				t.Fatalf("EBM energy shape %v", f.Shape())
			}
			allFinite(t, "EBM energy", f)

			q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: c.cfg.InChannels, Height: 32, Width: 32, H: 5, Ch: 4}, rng, tensor.Float32)
			if q.FeatureDim() != 16*4*4 {
				t.Fatalf("posterior features %d, want %d", q.FeatureDim(), 16*4*4)
			}
			hq := q.Sample(q.Params().Consts(), v, rng)
			if !tensor.SameShape(hq.Shape(), []int{2, 5}) {
				t.Fatalf("posterior sample shape %v", hq.Shape())
			}
		})
	}
	// The paper's posterior flattens 4096 features on 32×32 images.
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 3, Height: 32, Width: 32, H: 50}, rng, tensor.Float32)
	if q.FeatureDim() != 4096 {
		t.Fatalf("posterior features %d, want 4096", q.FeatureDim())
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestDeepEnergyIsConcatForm checks the split-weight evaluation against the
// literal E(v,h) = Σ ELU([g1(v) + h, h] W + b)².
func TestDeepEnergyIsConcatForm(t *testing.T) {
	rng := tensor.NewRNG(2)
	m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: tinyResNet(2), H: 3, F: 7}, rng, tensor.Float64)
	th := m.Params().Consts()
	v := ad.Const(rng.Uniform(tensor.Float64, 0, 1, 4, 1, 8, 8))
	h := ad.Const(rng.Normal(tensor.Float64, 0, 1, 4, 3))
	g := m.Features(th, v)
	cp := ad.Concat(1, ad.Add(g, h), h)
	lin := ad.Add(ad.MatMul(cp, th.Get("g3.W"), false, false), th.Get("g3.b"))
	want := ad.Sum(ad.Square(ad.ELU(lin)), false, 1).Tensor()
	got := m.Energy(th, v, h).Tensor()
	for i := 0; i < 4; i++ {
		if d := math.Abs(got.Flat(i) - want.Flat(i)); d > 1e-12*math.Max(1, math.Abs(want.Flat(i))) {
			t.Fatalf("E[%d] = %.15g, concat form %.15g", i, got.Flat(i), want.Flat(i))
		}
	}
}

// substitute returns th with the named parameters replaced by values.
func substitute(p *nn.Params, repl map[string]*ad.Value) nn.Vals {
	names := p.Names()
	vs := make([]*ad.Value, len(names))
	for i, n := range names {
		if r, ok := repl[n]; ok {
			vs[i] = r
		} else {
			vs[i] = ad.Const(p.Get(n))
		}
	}
	return nn.NewVals(names, vs)
}

// TestResNetEnergyGradients checks the energies to second order by finite
// differences: score matching differentiates in v, then in θ. ELU is not
// C² at 0; with this seed no pre-activation is near enough 0 to matter.
func TestResNetEnergyGradients(t *testing.T) {
	rng := tensor.NewRNG(3)
	cfg := model.ResNetConfig{InChannels: 1, Height: 8, Width: 8, Ch: 2, Blocks: []model.BlockSpec{{Out: 3, Down: true}}}
	ebm := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: cfg, F: 4}, rng, tensor.Float64)
	v := rng.Uniform(tensor.Float64, 0, 1, 2, 1, 8, 8)
	t.Run("ebm", func(t *testing.T) {
		f := func(xs []*ad.Value) *ad.Value {
			th := substitute(ebm.Params(), map[string]*ad.Value{"res.0.conv1.W": xs[1], "out.b": xs[2]})
			return ebm.FreeEnergy(th, xs[0])
		}
		in := []*tensor.Tensor{v, ebm.Params().Get("res.0.conv1.W"), ebm.Params().Get("out.b")}
		res, err := ad.CheckGrad(f, in, ad.CheckOptions{Order: 2, Seed: 1, Tol: 1e-5})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Logf("order %d input %d rel err %.2e", r.Order, r.Input, r.RelErr)
		}
	})
	t.Run("eblvm", func(t *testing.T) {
		m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: cfg, H: 2, F: 4}, rng, tensor.Float64)
		h := rng.Normal(tensor.Float64, 0, 1, 2, 2)
		f := func(xs []*ad.Value) *ad.Value {
			th := substitute(m.Params(), map[string]*ad.Value{"res.0.short.W": xs[2], "g3.W": xs[3]})
			return m.Energy(th, xs[0], xs[1])
		}
		in := []*tensor.Tensor{v, h, m.Params().Get("res.0.short.W"), m.Params().Get("g3.W")}
		res, err := ad.CheckGrad(f, in, ad.CheckOptions{Order: 2, Seed: 2, Tol: 1e-5})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			t.Logf("order %d input %d rel err %.2e", r.Order, r.Input, r.RelErr)
		}
	})
}

// gaussModel is a test-only EBLVM that is Gaussian in h given v, with the
// mean and log-std a CNN posterior computes at fixed parameters φ*:
//
//	E(v,h) = 1/2 Σ_j (h_j - μ*_j(v))² / exp(2 log σ*_j(v)) + 1/2 |v|²,
//
// so p(h|v) = N(μ*(v), diag σ*(v)²) is exactly q(h|v;φ*).
type gaussModel struct {
	q    *model.CNNPosterior
	star nn.Vals
}

func (g gaussModel) Params() *nn.Params { return nn.NewParams() }

func (g gaussModel) Energy(_ nn.Vals, v, h *ad.Value) *ad.Value {
	mu, ls := g.q.MeanLogStd(g.star, v)
	quad := ad.Sum(ad.Div(ad.Square(ad.Sub(h, mu)), ad.Exp(ad.Scale(ls, 2))), false, 1)
	return ad.Scale(ad.Add(quad, ad.Sum(ad.Square(v), false, 1, 2, 3)), 0.5)
}

// TestPosteriorFisherZeroWhenExact is the check of Eq. 11: for an energy whose
// posterior q can represent exactly, D_F(q || p) of Eq. 11 vanishes (to
// float64 rounding), and for a mean off by δ it is 1/2 Σ_j δ²/σ_j⁴ exactly.
func TestPosteriorFisherZeroWhenExact(t *testing.T) {
	rng := tensor.NewRNG(4)
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 8, Width: 8, H: 3, Ch: 2}, rng, tensor.Float64)
	star := q.Params().Clone()
	m := gaussModel{q: q, star: star.Consts()}
	v := ad.Const(rng.Uniform(tensor.Float64, 0, 1, 5, 1, 8, 8))
	energy := model.EnergyGivenV(m, m.Params().Consts(), v)

	phi := q.Params().Consts()
	h := q.Sample(phi, v, rng)
	fisher := objective.PosteriorFisher(energy, q, phi, v, h).Tensor()
	// Scale: the size of each of the two cancelling terms.
	mu, ls := q.MeanLogStd(phi, v)
	scale := 0.0
	for i := 0; i < h.Tensor().Size(); i++ {
		d := (h.Tensor().Flat(i) - mu.Tensor().Flat(i)) / math.Exp(2*ls.Tensor().Flat(i))
		scale += d * d
	}
	for i := 0; i < fisher.Size(); i++ {
		if f := fisher.Flat(i); !(math.Abs(f) <= 1e-24*scale) {
			t.Fatalf("D_F at the exact posterior = %g for row %d (scale %g)", f, i, scale)
		}
	}

	// Shift the mean head's bias by δ: ∇_h(-E - log q) = -δ/σ², everywhere.
	const delta = 0.1
	tensor.AddInPlace(q.Params().Get("mean.b"), tensor.Full(tensor.Float64, delta, 3))
	phi = q.Params().Consts()
	fisher = objective.PosteriorFisher(energy, q, phi, v, q.Sample(phi, v, rng)).Tensor()
	for i := 0; i < 5; i++ {
		want := 0.0
		for j := 0; j < 3; j++ {
			s2 := math.Exp(2 * ls.Tensor().At(i, j))
			want += 0.5 * delta * delta / (s2 * s2)
		}
		if d := math.Abs(fisher.Flat(i) - want); d > 1e-9*want {
			t.Fatalf("D_F with mean off by %g = %.12g for row %d, want %.12g", delta, fisher.Flat(i), i, want)
		}
	}
}

// TestCNNPosteriorLogProb checks log q against the closed form and the
// shared sample-and-score path against Sample followed by LogProb.
func TestCNNPosteriorLogProb(t *testing.T) {
	rng := tensor.NewRNG(5)
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 8, Width: 8, H: 4, Ch: 2}, rng, tensor.Float64)
	phi := q.Params().Consts()
	v := ad.Const(rng.Uniform(tensor.Float64, 0, 1, 3, 1, 8, 8))
	h, logq := q.SampleWithLogProb(phi, v, rng)
	again := q.LogProb(phi, v, h).Tensor()
	mu, ls := q.MeanLogStd(phi, v)
	for i := 0; i < 3; i++ {
		want := 0.0
		for j := 0; j < 4; j++ {
			s := math.Exp(ls.Tensor().At(i, j))
			z := (h.Tensor().At(i, j) - mu.Tensor().At(i, j)) / s
			want += -0.5*z*z - math.Log(s) - 0.5*math.Log(2*math.Pi)
		}
		if math.Abs(logq.Tensor().Flat(i)-want) > 1e-10 || math.Abs(again.Flat(i)-want) > 1e-10 {
			t.Fatalf("log q row %d: joint %.12g, LogProb %.12g, want %.12g", i, logq.Tensor().Flat(i), again.Flat(i), want)
		}
	}
}

func checkGrads(t *testing.T, p *nn.Params, grads []*tensor.Tensor) {
	t.Helper()
	if len(grads) != p.Len() {
		t.Fatalf("%d gradients for %d parameters", len(grads), p.Len())
	}
	nonzero := 0
	for i, g := range grads {
		name := p.Names()[i]
		if !tensor.SameShape(g.Shape(), p.Get(name).Shape()) {
			t.Fatalf("gradient of %s has shape %v, want %v", name, g.Shape(), p.Get(name).Shape())
		}
		allFinite(t, "gradient of "+name, g)
		for _, x := range g.Values() {
			if x != 0 {
				nonzero++
				break
			}
		}
	}
	if nonzero < len(grads)/2 {
		t.Fatalf("only %d of %d gradients are nonzero", nonzero, len(grads))
	}
}

// TestBiLevelStepDeep runs Algorithm 1 with BiMDSM on a tiny deep EBLVM and
// CNN posterior (K = 1; N = 0 and N = 1).
//
// The images are 16×16 rather than 8×8: on 8×8 inputs the posterior's last
// convolution maps 2×2 to 1×1, so its kernel's first row and column only
// ever see padding and get exactly zero gradients, and the unrolled Adam
// step's derivative through sqrt(v) at v = 0 is 0·∞ (see docs/DEEP.md).
func TestBiLevelStepDeep(t *testing.T) {
	for _, n := range []int{0, 1} {
		rng := tensor.NewRNG(6)
		cfg := tinyResNet(4)
		cfg.Height, cfg.Width = 16, 16
		m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: cfg, H: 4}, rng, tensor.Float32)
		q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 16, Width: 16, H: 4, Ch: 4}, rng, tensor.Float32)
		before := q.Params().Clone()
		b := objective.BiLevel{
			Model: m, Posterior: q,
			Outer:    objective.Outer{Kind: objective.MDSM, SigmaBegin: 0.1, SigmaEnd: 3.0, Sigma0: 0.1, Geometric: true},
			K:        1,
			N:        n,
			InnerOpt: optim.NewAdam(1e-3, 0.9, 0.95),
		}
		v := rng.Uniform(tensor.Float32, 0, 1, 4, 1, 16, 16)
		res := b.Step(v, rng)
		if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) || math.IsNaN(res.InnerLoss) || math.IsInf(res.InnerLoss, 0) {
			t.Fatalf("N=%d: loss %g, inner loss %g", n, res.Loss, res.InnerLoss)
		}
		checkGrads(t, m.Params(), res.Grads)
		if q.Params().Get("mean.b").At(0) == before.Get("mean.b").At(0) {
			t.Fatalf("N=%d: the K = 1 inner step did not move φ", n)
		}
		t.Logf("N=%d: outer loss %.4g, inner loss %.4g", n, res.Loss, res.InnerLoss)
	}
}

// TestResNetEBMMarginalMDSM runs the fully visible baseline through MDSM.
func TestResNetEBMMarginalMDSM(t *testing.T) {
	rng := tensor.NewRNG(7)
	m := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: tinyResNet(4)}, rng, tensor.Float32)
	o := objective.Outer{Kind: objective.MDSM, SigmaBegin: 0.05, SigmaEnd: 1.2, Sigma0: 0.1}
	loss, grads := objective.MarginalStep(m, o, rng.Uniform(tensor.Float32, 0, 1, 4, 1, 8, 8), rng)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss %g", loss)
	}
	checkGrads(t, m.Params(), grads)
}

// TestResNetEBMBottleneck checks the bottleneck ablation: with B = H and
// the deep EBLVM's parameters copied in, the fully visible energy equals
// the EBLVM's E(v, h = 0) (its v enters only through g1(v) ∈ R^H), and the
// energy's derivatives in v and θ agree with finite differences.
func TestResNetEBMBottleneck(t *testing.T) {
	rng := tensor.NewRNG(11)
	cfg := model.ResNetConfig{InChannels: 1, Height: 8, Width: 8, Ch: 2, Blocks: []model.BlockSpec{{Out: 3, Down: true}}}
	const H, F = 3, 5
	eblvm := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: cfg, H: H, F: F}, rng, tensor.Float64)
	ebm := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: cfg, F: F, Bottleneck: H}, rng, tensor.Float64)
	rename := map[string]string{"neck.W": "g1.W", "neck.b": "g1.b", "out.b": "g3.b"}
	for _, n := range ebm.Params().Names() {
		src := rename[n]
		switch {
		case n == "out.W": // W_top, the rows of g3.W that multiply g1(v) + h
			ebm.Params().Get(n).CopyFrom(tensor.Slice(eblvm.Params().Get("g3.W"), 0, 0, H))
		case src != "":
			ebm.Params().Get(n).CopyFrom(eblvm.Params().Get(src))
		default:
			ebm.Params().Get(n).CopyFrom(eblvm.Params().Get(n))
		}
	}
	if got := ebm.Params().Get("out.W").Shape(); got[0] != H || got[1] != F {
		t.Fatalf("out.W has shape %v, want [%d %d]", got, H, F)
	}
	v := rng.Uniform(tensor.Float64, 0, 1, 4, 1, 8, 8)
	a := ebm.FreeEnergy(ebm.Params().Consts(), ad.Const(v)).Tensor()
	b := eblvm.Energy(eblvm.Params().Consts(), ad.Const(v), ad.Const(tensor.Zeros(tensor.Float64, 4, H))).Tensor()
	for i := 0; i < 4; i++ {
		if d := math.Abs(a.Flat(i) - b.Flat(i)); d > 1e-12*math.Max(1, math.Abs(b.Flat(i))) {
			t.Fatalf("example %d: bottleneck EBM energy %v, EBLVM E(v, 0) %v", i, a.Flat(i), b.Flat(i))
		}
	}
	f := func(xs []*ad.Value) *ad.Value {
		th := substitute(ebm.Params(), map[string]*ad.Value{"neck.W": xs[1], "out.W": xs[2]})
		return ebm.FreeEnergy(th, xs[0])
	}
	in := []*tensor.Tensor{v, ebm.Params().Get("neck.W"), ebm.Params().Get("out.W")}
	if _, err := ad.CheckGrad(f, in, ad.CheckOptions{Order: 2, Seed: 4, Tol: 1e-5}); err != nil {
		t.Fatal(err)
	}
}
