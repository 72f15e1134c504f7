package sample

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
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
			cfg := Default()
			cfg.Temps = []float64{1}
			cfg.Denoise, cfg.Clamp = false, false
			LangevinFrom(e, x, cfg, rng) // warm-up
			cfg.Temps = make([]float64, b.N)
			for i := range cfg.Temps {
				cfg.Temps[i] = 1
			}
			b.ResetTimer()
			LangevinFrom(e, x, cfg, rng)
			perStep := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perStep*1000, "ms/step")
			b.ReportMetric(batch/(perStep*float64(len(Default().Temperatures())+1)), "images/s")
		})
	}
}
