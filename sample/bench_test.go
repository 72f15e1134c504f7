package sample

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// BenchmarkLangevinMNIST times Langevin steps of the MNIST ResNet EBM on a
// batch of 100 chains at CPU scale (ch = 16, the MDSM CPU config; ch = 8, its
// predecessor) and paper scale (ch = 64), and
// reports the sampler's throughput: images per second of a full default run
// (2700 steps plus the denoising gradient).
//
//	go test ./sample -run xxx -bench LangevinMNIST -benchtime 20x
func BenchmarkLangevinMNIST(b *testing.B) {
	for _, ch := range []int{8, 16, 64} {
		b.Run(fmt.Sprintf("ch%d", ch), func(b *testing.B) {
			rng := tensor.NewRNG(1)
			m := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: model.MNISTResNet(ch)}, rng, tensor.Float32)
			th := m.Params().Consts()
			e := func(x *ad.Value) *ad.Value { return m.FreeEnergy(th, x) }
			const batch = 100
			x := rng.Normal(tensor.Float32, 0.5, 1, batch, 1, 32, 32)
			benchSteps(b, e, x, rng)
		})
	}
}

// benchSteps times b.N Langevin steps at T = 1 of the chains x (a batch of
// 100) after one untimed step, and reports ms per step and the images per
// second of a full default run (2700 steps plus the denoising gradient).
func benchSteps(b *testing.B, e EnergyFn, x *tensor.Tensor, rng *tensor.RNG) {
	cfg := Default()
	cfg.Temps = []float64{1}
	cfg.Denoise, cfg.Clamp = false, false
	LangevinFrom(e, x, cfg, rng) // warm-up
	cfg.Temps = make([]float64, b.N)
	for i := range cfg.Temps {
		cfg.Temps[i] = 1
	}
	b.ResetTimer()
	flops0 := blas.Flops()
	LangevinFrom(e, x, cfg, rng)
	perStep := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perStep*1000, "ms/step")
	// The products' and convolutions' work, as bism bench counts it.
	b.ReportMetric(float64(blas.Flops()-flops0)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	b.ReportMetric(float64(x.Dim(0))/(perStep*float64(len(Default().Temperatures())+1)), "images/s")
}

// BenchmarkDeepEBLVMSamplers times one Langevin step of the deep EBLVM's
// two marginal samplers at the CPU config's size (ch = 16, H = 50, F =
// 1024, posterior ch = 16) on 100 chains: the paper's joint sampler, on
// E(v,h) over rows [v, h], and the bi-level-score sampler on v alone with a
// fresh h ~ q(h|v) per step (objective.BiEnergy, which also differentiates
// log q through the posterior network).
//
//	go test ./sample -run xxx -bench DeepEBLVMSamplers -benchtime 20x
func BenchmarkDeepEBLVMSamplers(b *testing.B) {
	rng := tensor.NewRNG(1)
	const batch, h = 100, 50
	m := model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: model.MNISTResNet(16), H: h}, rng, tensor.Float32)
	q := model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: 1, Height: 32, Width: 32, H: h, Ch: 16}, rng, tensor.Float32)
	th, phi := m.Params().Consts(), q.Params().Consts()
	joint := func(x *ad.Value) *ad.Value {
		v := ad.Reshape(ad.Slice(x, 1, 0, 1024), batch, 1, 32, 32)
		return m.Energy(th, v, ad.Slice(x, 1, 1024, 1024+h))
	}
	for _, c := range []struct {
		name  string
		e     EnergyFn
		shape []int
	}{
		{"joint", joint, []int{batch, 1024 + h}},
		{"bilevel", EnergyFn(objective.BiEnergy(m, q, th, phi, tensor.NewRNG(2))), []int{batch, 1, 32, 32}},
	} {
		b.Run(c.name, func(b *testing.B) {
			x := rng.Normal(tensor.Float32, 0.5, 1, c.shape...)
			benchSteps(b, c.e, x, rng)
		})
	}
}
