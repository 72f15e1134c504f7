package model

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// CNNPosteriorConfig sizes the Gaussian CNN posterior: the image shape, the
// latent dimension H, the first convolution's channels Ch (64 in the paper's network;
// the next two have 2Ch and 4Ch, so a smaller Ch scales every layer as
// MNISTResNet's width does) and the LeakyReLU slope (0 selects 0.2).
type CNNPosteriorConfig struct {
	InChannels, Height, Width int
	H, Ch                     int
	Slope                     float64
}

// CNNPosterior is the variational posterior of the deep EBLVM (Sec. 5.2,
// the paper's "3-layer CNN"):
//
//	conv3x3 s2 p1 (in→Ch) → LeakyReLU(0.2) → conv3x3 s2 p1 (Ch→2Ch) → LReLU
//	→ conv3x3 s2 p1 (2Ch→4Ch) → LReLU → flatten → heads μ(v), log σ(v) ∈ R^H,
//
// q(h|v) = N(μ(v), diag σ(v)²). On 32×32 images the flattened features are
// 4Ch·4·4 (4096 for Ch = 64). Parameters: "conv1", "conv2", "conv3" and the
// linear heads "mean" and "log_std", each with .W and .b, PyTorch-default
// initialised. h is continuous, so bi-level score matching uses the Fisher
// inner loss (Eq. 11) with it.
type CNNPosterior struct {
	Cfg                 CNNPosteriorConfig
	conv                [3]nn.Conv2d
	mean, logStd        nn.Linear
	params              *nn.Params
	flatDim, outH, outW int
}

// NewCNNPosterior builds the posterior. Ch = 0 selects 64.
func NewCNNPosterior(cfg CNNPosteriorConfig, rng *tensor.RNG, dt tensor.DType) *CNNPosterior {
	if cfg.Ch == 0 {
		cfg.Ch = 64
	}
	if cfg.Slope == 0 {
		cfg.Slope = 0.2
	}
	if cfg.InChannels < 1 || cfg.Height < 1 || cfg.Width < 1 || cfg.H < 1 || cfg.Ch < 1 {
		panic(fmt.Sprintf("model.NewCNNPosterior: invalid config %+v", cfg))
	}
	p := nn.NewParams()
	q := &CNNPosterior{Cfg: cfg, params: p}
	in, h, w := cfg.InChannels, cfg.Height, cfg.Width
	for i, out := range []int{cfg.Ch, 2 * cfg.Ch, 4 * cfg.Ch} {
		q.conv[i] = nn.NewConv2d(p, fmt.Sprintf("conv%d", i+1), in, out, 3, 2, 1, true, rng, dt)
		h, w = q.conv[i].OutSize(h, w)
		in = out
	}
	q.outH, q.outW, q.flatDim = h, w, in*h*w
	q.mean = nn.NewLinear(p, "mean", q.flatDim, cfg.H, true, rng, dt)
	q.logStd = nn.NewLinear(p, "log_std", q.flatDim, cfg.H, true, rng, dt)
	return q
}

// Params returns φ.
func (q *CNNPosterior) Params() *nn.Params { return q.params }

// Continuous is true: h ∈ R^H.
func (q *CNNPosterior) Continuous() bool { return true }

// FeatureDim is the length of the flattened convolutional features.
func (q *CNNPosterior) FeatureDim() int { return q.flatDim }

// MeanLogStd returns μ(v) and log σ(v), each [B,H], sharing the
// convolutional trunk.
func (q *CNNPosterior) MeanLogStd(phi nn.Vals, v *ad.Value) (mu, logStd *ad.Value) {
	c := q.Cfg
	if s := v.Shape(); len(s) != 4 || s[1] != c.InChannels || s[2] != c.Height || s[3] != c.Width {
		panic(fmt.Sprintf("model.CNNPosterior: input shape %v, want [B %d %d %d]", s, c.InChannels, c.Height, c.Width))
	}
	x := v
	for _, l := range q.conv {
		x = ad.LeakyReLU(l.Apply(phi, x), c.Slope)
	}
	f := nn.Flatten(x)
	return q.mean.Apply(phi, f), q.logStd.Apply(phi, f)
}

// Mean returns μ(v), [B,H]: the posterior mean used to sample "via q" and
// as features for a linear probe.
func (q *CNNPosterior) Mean(phi nn.Vals, v *ad.Value) *ad.Value {
	mu, _ := q.MeanLogStd(phi, v)
	return mu
}

// Sample draws h = μ(v) + exp(log σ(v)) ⊙ ε, ε ~ N(0, I): reparameterised,
// so h is a function of φ (and of v unless the caller detaches it).
func (q *CNNPosterior) Sample(phi nn.Vals, v *ad.Value, rng *tensor.RNG) *ad.Value {
	h, _ := q.sample(phi, v, rng)
	return h
}

func (q *CNNPosterior) sample(phi nn.Vals, v *ad.Value, rng *tensor.RNG) (h, logq *ad.Value) {
	mu, ls := q.MeanLogStd(phi, v)
	eps := ad.Const(rng.Normal(mu.DType(), 0, 1, mu.Shape()...))
	h = ad.Add(mu, ad.Mul(ad.Exp(ls), eps))
	return h, gaussLogProb(h, mu, ls)
}

// SampleWithLogProb draws h and returns log q(h|v) from one pass of the
// network (model.JointSampler).
func (q *CNNPosterior) SampleWithLogProb(phi nn.Vals, v *ad.Value, rng *tensor.RNG) (h, logq *ad.Value) {
	return q.sample(phi, v, rng)
}

// LogProb returns log N(h; μ(v), diag σ(v)²) per row, [B].
func (q *CNNPosterior) LogProb(phi nn.Vals, v, h *ad.Value) *ad.Value {
	mu, ls := q.MeanLogStd(phi, v)
	if !tensor.SameShape(h.Shape(), mu.Shape()) {
		panic(fmt.Sprintf("model.CNNPosterior.LogProb: h has shape %v, want %v", h.Shape(), mu.Shape()))
	}
	return gaussLogProb(h, mu, ls)
}

// gaussLogProb is Σ_j -1/2 ((h_j-μ_j)/σ_j)² - log σ_j - 1/2 log 2π per row.
func gaussLogProb(h, mu, logStd *ad.Value) *ad.Value {
	z := ad.Mul(ad.Sub(h, mu), ad.Exp(ad.Neg(logStd)))
	hdim := h.Shape()[len(h.Shape())-1]
	return ad.AddScalar(ad.Neg(rowSum(ad.Add(ad.Scale(ad.Square(z), 0.5), logStd))), -0.5*float64(hdim)*math.Log(2*math.Pi))
}
