package eval

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// Linear probe: how linearly decodable the labels are from a
// representation, e.g. the posterior means E_q[h|v] of a deep EBLVM. A
// multinomial logistic regression is fitted on the training features and
// scored on held-out ones; the problem is convex, so the result depends on
// the features, not on the optimiser's luck.

// ProbeConfig configures LinearProbe. Zero values select the defaults.
type ProbeConfig struct {
	Epochs    int     // passes over the training set (100)
	BatchSize int     // minibatch size (256)
	LR        float64 // Adam learning rate (0.01; betas 0.9, 0.999)
	L2        float64 // weight decay: L2/2·|W|² is added to the loss (0)
	Seed      uint64  // shuffling
	// Raw skips standardising the features (by default each dimension is
	// shifted and scaled by the training mean and standard deviation, which
	// makes one learning rate fit every representation).
	Raw bool
}

// Probe is a fitted multinomial logistic regression on standardised
// features: logits = ((x - Mean)/Std) W + B.
type Probe struct {
	W, B      *tensor.Tensor // [D,C], [C]
	Mean, Std []float64      // per feature (0 and 1 with Raw)
}

// ProbeResult reports a fitted probe and its accuracies.
type ProbeResult struct {
	Probe
	Classes           int
	TrainAcc, TestAcc float64
	TrainLoss         float64 // mean cross-entropy on the training set at the end
}

// LinearProbe fits softmax regression on trainX [N, ...] (each example
// flattened) with labels trainY in 0..C-1, by minibatch Adam on the mean
// cross-entropy, and returns it with its accuracy on the training set and
// on testX, testY (which may be empty).
func LinearProbe(trainX *tensor.Tensor, trainY []int, testX *tensor.Tensor, testY []int, cfg ProbeConfig) (ProbeResult, error) {
	if cfg.Epochs <= 0 {
		cfg.Epochs = 100
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 256
	}
	if cfg.LR <= 0 {
		cfg.LR = 0.01
	}
	n := trainX.Dim(0)
	if n == 0 || len(trainY) != n {
		return ProbeResult{}, fmt.Errorf("eval.LinearProbe: %d training examples and %d labels", n, len(trainY))
	}
	d := trainX.Size() / n
	x := trainX.As(tensor.Float64).Reshape(n, d)
	var xt *tensor.Tensor
	if testX != nil && testX.Dim(0) > 0 {
		if testX.Size()/testX.Dim(0) != d || len(testY) != testX.Dim(0) {
			return ProbeResult{}, fmt.Errorf("eval.LinearProbe: test set %v with %d labels for %d features", testX.Shape(), len(testY), d)
		}
		xt = testX.As(tensor.Float64).Reshape(testX.Dim(0), d)
	}
	classes := 0
	for _, ys := range [][]int{trainY, testY} {
		for _, y := range ys {
			if y < 0 {
				return ProbeResult{}, fmt.Errorf("eval.LinearProbe: negative label %d", y)
			}
			classes = max(classes, y+1)
		}
	}
	if classes < 2 {
		return ProbeResult{}, fmt.Errorf("eval.LinearProbe: %d classes", classes)
	}

	pr := Probe{Mean: make([]float64, d), Std: make([]float64, d)}
	for j := range pr.Std {
		pr.Std[j] = 1
	}
	if !cfg.Raw {
		pr.Mean, pr.Std = columnMoments(x.F64(), n, d)
	}
	xs := pr.standardize(x)

	params := nn.NewParams()
	params.Add("W", tensor.New(tensor.Float64, d, classes))
	params.Add("b", tensor.New(tensor.Float64, classes))
	opt := optim.NewAdam(cfg.LR, 0.9, 0.999)
	rng := tensor.NewRNG(cfg.Seed).Rand()
	bs := min(cfg.BatchSize, n)
	xb := make([]float64, bs*d)
	for epoch := 0; epoch < cfg.Epochs; epoch++ {
		perm := rng.Perm(n)
		for lo := 0; lo < n; lo += bs {
			idx := perm[lo:min(lo+bs, n)]
			m := len(idx)
			for i, r := range idx {
				copy(xb[i*d:(i+1)*d], xs.F64()[r*d:(r+1)*d])
			}
			batch := tensor.FromFloat64(xb[:m*d], m, d)
			ys := make([]int, m)
			for i, r := range idx {
				ys[i] = trainY[r]
			}
			th := params.Vars()
			loss := probeLoss(th, batch, ys, classes, cfg.L2)
			gs := ad.Grad(loss, th.List())
			opt.Step(params, []*tensor.Tensor{gs[0].Tensor(), gs[1].Tensor()})
		}
	}
	pr.W, pr.B = params.Get("W"), params.Get("b")

	res := ProbeResult{Probe: pr, Classes: classes}
	res.TrainLoss = probeLoss(params.Consts(), xs, trainY, classes, 0).Item()
	res.TrainAcc = accuracy(pr.predictStd(xs), trainY)
	if xt != nil {
		res.TestAcc = accuracy(pr.Predict(xt), testY)
	}
	return res, nil
}

// probeLoss is the mean cross-entropy logsumexp(z) - z_y of logits
// z = xW + b, plus L2/2·|W|².
func probeLoss(th nn.Vals, x *tensor.Tensor, ys []int, classes int, l2 float64) *ad.Value {
	z := ad.Linear(ad.Const(x), th.Get("W"), th.Get("b"))
	onehot := tensor.New(tensor.Float64, len(ys), classes)
	for i, y := range ys {
		onehot.Set(1, i, y)
	}
	ce := ad.Sub(ad.LogSumExp(z, false, 1), ad.Sum(ad.Mul(z, ad.Const(onehot)), false, 1))
	loss := ad.Mean(ce, false)
	if l2 > 0 {
		loss = ad.Add(loss, ad.Scale(ad.SumAll(ad.Square(th.Get("W"))), 0.5*l2))
	}
	return loss
}

// Predict returns the most probable class of each row of x [N, ...].
func (p Probe) Predict(x *tensor.Tensor) []int {
	n := x.Dim(0)
	return p.predictStd(p.standardize(x.As(tensor.Float64).Reshape(n, x.Size()/n)))
}

func (p Probe) predictStd(xs *tensor.Tensor) []int {
	z := tensor.Add(tensor.MatMul(xs, p.W, false, false), p.B).F64()
	c := p.B.Size()
	out := make([]int, xs.Dim(0))
	for i := range out {
		best := 0
		for k := 1; k < c; k++ {
			if z[i*c+k] > z[i*c+best] {
				best = k
			}
		}
		out[i] = best
	}
	return out
}

// standardize returns (x - Mean)/Std for x [N,D] float64 (a new tensor).
func (p Probe) standardize(x *tensor.Tensor) *tensor.Tensor {
	n, d := x.Dim(0), x.Dim(1)
	if d != len(p.Mean) {
		panic(fmt.Sprintf("eval.Probe: %d features, fitted on %d", d, len(p.Mean)))
	}
	out := make([]float64, n*d)
	src := x.F64()
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			out[i*d+j] = (src[i*d+j] - p.Mean[j]) / p.Std[j]
		}
	}
	return tensor.FromFloat64(out, n, d)
}

// columnMoments returns each column's mean and standard deviation (1 where
// a column is constant, so it stays 0 after centring).
func columnMoments(x []float64, n, d int) (mean, std []float64) {
	mean, std = make([]float64, d), make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			mean[j] += x[i*d+j]
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			e := x[i*d+j] - mean[j]
			std[j] += e * e
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / float64(n))
		if !(std[j] > 1e-12) {
			std[j] = 1
		}
	}
	return mean, std
}

func accuracy(pred, ys []int) float64 {
	if len(ys) == 0 {
		return 0
	}
	ok := 0
	for i, y := range ys {
		if pred[i] == y {
			ok++
		}
	}
	return float64(ok) / float64(len(ys))
}
