package tensor_test

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// TestShiftedConvolutionsAgreeWithGEMM: which same-size convolutions run as
// sums of shifted planes (fmaPlanes4) and which as GEMMs changes the order
// of their float32 sums, and so the bits of a deep model's results. On a
// CPU-scale MNIST ResNet EBM (ch 16, where the 8x8 and 16x16 stages are
// wide enough for either path) one MDSM step's loss and gradients, and the
// model's score, must agree within 1e-5 relative between the two, on fixed
// inputs and noise.
func TestShiftedConvolutionsAgreeWithGEMM(t *testing.T) {
	if !tensor.HasVectorMath() {
		t.Skip("the shifted-plane kernel needs AVX-512")
	}
	run := func(pairs int) (loss float64, grads []*tensor.Tensor, score *tensor.Tensor) {
		defer tensor.SetShiftedForwardPairs(pairs)()
		rng := tensor.NewRNG(3)
		m := model.NewResNetEBM(model.ResNetEBMConfig{ResNet: model.MNISTResNet(16)}, rng, tensor.Float32)
		v := rng.Uniform(tensor.Float32, 0, 1, 6, 1, 32, 32)
		o := objective.Outer{Kind: objective.MDSM, SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: true}
		loss, grads = objective.MarginalStep(m, o, v, rng)
		x := ad.Var(v)
		score = ad.Grad(ad.SumAll(m.FreeEnergy(m.Params().Consts(), x)), []*ad.Value{x})[0].Tensor()
		return loss, grads, score
	}
	gemmLoss, gemmGrads, gemmScore := run(0) // every same-size convolution by GEMMs
	loss, grads, score := run(1 << 30)       // every one by shifted planes
	rel := func(a, b *tensor.Tensor) float64 {
		var d, n float64
		for i := 0; i < a.Size(); i++ {
			d += (a.Flat(i) - b.Flat(i)) * (a.Flat(i) - b.Flat(i))
			n += b.Flat(i) * b.Flat(i)
		}
		return math.Sqrt(d / n)
	}
	if e := math.Abs(loss-gemmLoss) / math.Abs(gemmLoss); e > 1e-5 {
		t.Fatalf("MDSM loss %v, by GEMMs %v: relative difference %.2g", loss, gemmLoss, e)
	}
	worst := 0.0
	for i := range grads {
		e := rel(grads[i], gemmGrads[i])
		worst = math.Max(worst, e)
		if e > 1e-5 {
			t.Errorf("gradient %d %v: relative difference %.2g", i, grads[i].Shape(), e)
		}
	}
	if worst == 0 {
		t.Fatal("the two settings gave the same bits: they did not take different paths")
	}
	if e := rel(score, gemmScore); e > 1e-5 {
		t.Errorf("score: relative difference %.2g", e)
	}
	t.Logf("loss %.2g, gradients at most %.2g, score %.2g relative", math.Abs(loss-gemmLoss)/math.Abs(gemmLoss), worst, rel(score, gemmScore))
}
