package eval

import (
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// probeData draws n points in d dimensions, labelled by the argmax of a
// fixed random linear map and kept only if the best score beats the others
// by a margin (so the classes are linearly separable with room to spare),
// with features offset and scaled unevenly as raw representations are.
func probeData(rng *tensor.RNG, w *tensor.Tensor, n int) (*tensor.Tensor, []int) {
	d, c := w.Dim(0), w.Dim(1)
	x := tensor.New(tensor.Float64, n, d)
	ys := make([]int, n)
	for i := 0; i < n; {
		p := rng.Normal(tensor.Float64, 0, 1, 1, d)
		z := tensor.MatMul(p, w, false, false).F64()
		best, second := 0, -1
		for k := 1; k < c; k++ {
			if z[k] > z[best] {
				best, second = k, best
			} else if second < 0 || z[k] > z[second] {
				second = k
			}
		}
		if z[best]-z[second] < 0.5 {
			continue
		}
		copy(x.F64()[i*d:(i+1)*d], p.F64())
		ys[i] = best
		i++
	}
	// Uneven offsets and scales: the probe standardises them away.
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			x.Set(x.At(i, j)*float64(1+3*j)+float64(10*j), i, j)
		}
	}
	return x, ys
}

func TestLinearProbeSeparable(t *testing.T) {
	rng := tensor.NewRNG(1)
	w := rng.Normal(tensor.Float64, 0, 1, 5, 3)
	xtr, ytr := probeData(rng, w, 600)
	xte, yte := probeData(rng, w, 300)
	res, err := LinearProbe(xtr, ytr, xte, yte, ProbeConfig{Epochs: 60, BatchSize: 64, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("train acc %.3f (loss %.3f), test acc %.3f", res.TrainAcc, res.TrainLoss, res.TestAcc)
	if res.Classes != 3 || res.TrainAcc < 0.95 || res.TestAcc < 0.95 {
		t.Fatalf("probe: %d classes, train %.3f, test %.3f", res.Classes, res.TrainAcc, res.TestAcc)
	}
	// Predict reproduces the test accuracy, float32 input included.
	pred := res.Predict(xte.As(tensor.Float32))
	if acc := accuracy(pred, yte); acc != res.TestAcc {
		t.Fatalf("Predict accuracy %.4f, result %.4f", acc, res.TestAcc)
	}
}

// TestLinearProbeRandomLabels: labels independent of the features cannot
// be predicted on held-out data.
func TestLinearProbeRandomLabels(t *testing.T) {
	rng := tensor.NewRNG(3)
	xtr := rng.Normal(tensor.Float64, 0, 1, 400, 4)
	xte := rng.Normal(tensor.Float64, 0, 1, 400, 4)
	lab := func(n int) []int {
		ys := make([]int, n)
		for i := range ys {
			ys[i] = rng.Rand().IntN(4)
		}
		return ys
	}
	res, err := LinearProbe(xtr, lab(400), xte, lab(400), ProbeConfig{Epochs: 20, BatchSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.TestAcc > 0.35 {
		t.Fatalf("held-out accuracy %.3f on random labels (chance 0.25)", res.TestAcc)
	}
}

func TestLinearProbeErrors(t *testing.T) {
	x := tensor.New(tensor.Float64, 3, 2)
	if _, err := LinearProbe(x, []int{0, 1}, nil, nil, ProbeConfig{}); err == nil {
		t.Fatal("label count mismatch accepted")
	}
	if _, err := LinearProbe(x, []int{0, 0, 0}, nil, nil, ProbeConfig{}); err == nil {
		t.Fatal("one class accepted")
	}
	if _, err := LinearProbe(x, []int{0, 1, -1}, nil, nil, ProbeConfig{}); err == nil {
		t.Fatal("negative label accepted")
	}
	if _, err := LinearProbe(x, []int{0, 1, 1}, tensor.New(tensor.Float64, 2, 3), []int{0, 1}, ProbeConfig{}); err == nil {
		t.Fatal("test feature mismatch accepted")
	}
}
