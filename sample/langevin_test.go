package sample

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

func TestDefaultSchedule(t *testing.T) {
	ts := Default().Temperatures()
	if len(ts) != 2700 {
		t.Fatalf("%d steps, want 2700", len(ts))
	}
	checks := map[int]float64{
		0:    100,
		499:  100,
		500:  100,                                      // decay, i = 0
		1500: 100 * math.Exp(-1000*math.Log(100)/2000), // = 10
		2499: 100 * math.Exp(-1999*math.Log(100)/2000),
		2500: 1, // linear 1 -> 0
		2699: 0,
	}
	for i, want := range checks {
		if math.Abs(ts[i]-want) > 1e-12*math.Max(1, want) {
			t.Fatalf("T[%d] = %.15g, want %.15g", i, ts[i], want)
		}
	}
	if math.Abs(ts[1500]-10) > 1e-9 {
		t.Fatalf("T[1500] = %g, want 10", ts[1500])
	}
	for i := 2501; i < 2700; i++ {
		if !(ts[i] < ts[i-1]) {
			t.Fatalf("final ramp not decreasing at %d", i)
		}
	}
}

// TestLangevinGaussian samples E(x) = 1/2 |x - μ|²/τ² at constant
// temperature 1 (no denoising or clamping). The discretised chain
// x' = x - a(x - μ) + s ξ, a = s²/(2τ²), is Gaussian with mean μ and
// variance s²/(1 - (1-a)²) = τ²/(1 - a/2) at stationarity, which the sample
// moments must match within Monte-Carlo error.
func TestLangevinGaussian(t *testing.T) {
	const (
		chains = 4000
		steps  = 600
		tau    = 0.5
		s      = 0.1
	)
	mu := []float64{0.3, -1.2}
	muT := tensor.FromFloat64(mu, 2)
	e := func(x *ad.Value) *ad.Value {
		return ad.Scale(ad.Sum(ad.Square(ad.Sub(x, ad.Const(muT))), false, 1), 0.5/(tau*tau))
	}
	temps := make([]float64, steps)
	for i := range temps {
		temps[i] = 1
	}
	calls := 0
	cfg := Config{StepSize: s, Temps: temps, InitMean: 0, InitStd: 1,
		Progress: func(step, total int, _ float64) {
			calls++
			if step != calls || total != steps {
				t.Fatalf("progress(%d, %d) on call %d", step, total, calls)
			}
		}}
	x := Langevin(e, []int{chains, 2}, tensor.Float64, cfg, tensor.NewRNG(5))
	if calls != steps {
		t.Fatalf("progress called %d times", calls)
	}
	a := s * s / (2 * tau * tau)
	wantVar := tau * tau / (1 - a/2)
	for j := 0; j < 2; j++ {
		var m, v float64
		for i := 0; i < chains; i++ {
			m += x.At(i, j)
		}
		m /= chains
		for i := 0; i < chains; i++ {
			d := x.At(i, j) - m
			v += d * d
		}
		v /= chains - 1
		seMean := math.Sqrt(wantVar / chains)
		seVar := wantVar * math.Sqrt(2.0/(chains-1))
		t.Logf("dim %d: mean %.4f (want %.4f ± %.4f), var %.4f (want %.4f ± %.4f)", j, m, mu[j], seMean, v, wantVar, seVar)
		if math.Abs(m-mu[j]) > 4*seMean {
			t.Fatalf("dim %d: mean %.4f, want %.4f ± %.4f", j, m, mu[j], seMean)
		}
		if math.Abs(v-wantVar) > 4*seVar {
			t.Fatalf("dim %d: variance %.4f, want %.4f ± %.4f", j, v, wantVar, seVar)
		}
	}
}

// TestDenoiseAndClamp checks the final step on a Gaussian: with no
// Langevin steps, x - σ0² ∇E moves each chain toward μ by σ0²/τ², and
// clamping keeps [0, 1].
func TestDenoiseAndClamp(t *testing.T) {
	mu := tensor.FromFloat64([]float64{0.5}, 1)
	e := func(x *ad.Value) *ad.Value {
		return ad.Scale(ad.Sum(ad.Square(ad.Sub(x, ad.Const(mu))), false, 1), 0.5)
	}
	x0 := tensor.FromFloat64([]float64{0.9, 0.1, 3, -2}, 4, 1)
	out := LangevinFrom(e, x0, Config{StepSize: 0.02, Temps: []float64{}, Denoise: true, Sigma0: 0.1}, tensor.NewRNG(2))
	for i := 0; i < 4; i++ {
		want := x0.Flat(i) - 0.01*(x0.Flat(i)-0.5)
		if math.Abs(out.Flat(i)-want) > 1e-12 {
			t.Fatalf("denoised %g, want %g", out.Flat(i), want)
		}
	}
	if x0.Flat(2) != 3 {
		t.Fatal("LangevinFrom modified its input")
	}
	out = LangevinFrom(e, x0, Config{StepSize: 0.02, Temps: []float64{}, Clamp: true}, tensor.NewRNG(2))
	for i, want := range []float64{0.9, 0.1, 1, 0} {
		if out.Flat(i) != want {
			t.Fatalf("clamped %v", out.Values())
		}
	}
}

// TestViaPosterior runs a short "via q" chain on a tiny deep EBLVM.
func TestViaPosterior(t *testing.T) {
	rng := tensor.NewRNG(3)
	rc := model.ResNetConfig{InChannels: 1, Height: 8, Width: 8, Ch: 2, Blocks: []model.BlockSpec{{Out: 4, Down: true}}}
	m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: rc, H: 3}, rng, tensor.Float32)
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 8, Width: 8, H: 3, Ch: 2}, rng, tensor.Float32)
	v0 := rng.Uniform(tensor.Float32, 0, 1, 5, 1, 8, 8)
	cfg := Default()
	cfg.HoldSteps, cfg.DecaySteps, cfg.FinalSteps = 3, 4, 3
	steps := 0
	cfg.Progress = func(step, total int, meanE float64) {
		steps++
		if total != 10 || math.IsNaN(meanE) {
			t.Fatalf("progress(%d, %d, %g)", step, total, meanE)
		}
	}
	x, h := ViaPosterior(m, q, v0, cfg, rng)
	if steps != 10 {
		t.Fatalf("%d steps, want 10", steps)
	}
	if !tensor.SameShape(x.Shape(), v0.Shape()) || !tensor.SameShape(h.Shape(), []int{5, 3}) {
		t.Fatalf("shapes: samples %v, h %v", x.Shape(), h.Shape())
	}
	for _, v := range x.Values() {
		if !(v >= 0 && v <= 1) {
			t.Fatalf("sample value %g outside [0, 1]", v)
		}
	}
	// h is the posterior mean, batch by batch or at once.
	h2 := PosteriorMean(q, v0, 2)
	for i := 0; i < h.Size(); i++ {
		if math.Abs(h.Flat(i)-h2.Flat(i)) > 1e-6 {
			t.Fatalf("batched posterior mean differs at %d: %g vs %g", i, h.Flat(i), h2.Flat(i))
		}
	}
	ebm := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: rc}, rng, tensor.Float32)
	y := Marginal(ebm, []int{2, 1, 8, 8}, tensor.Float32, cfg, rng)
	if !tensor.SameShape(y.Shape(), []int{2, 1, 8, 8}) || y.HasNaNOrInf() {
		t.Fatalf("marginal samples %v", y)
	}
}
