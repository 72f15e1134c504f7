package model

import (
	"fmt"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// Deep energy-based models on images (Sec. 5.2 and App. B.2 of the paper
// "Deep EBLVM"). The feature network g1 is the ResNet of MDSM (Li et al.,
// 2019), which the reference code copies: a 3×3 stem convolution followed by
// residual blocks
//
//	out = conv3x3_in→out,bias(ELU(conv3x3_in→in,no bias(ELU(x)))) [then AvgPool2d(2) if down]
//	    + shortcut(x),   shortcut = conv1x1_in→out,bias(AvgPool2d(2)(x)) if down, else conv1x1_in→out,bias(x)
//
// (the 1×1 shortcut is used even when in == out, as in the reference code),
// no normalisation, and no activation after the last block: its output is
// flattened as it is. All layers use PyTorch's default initialisation.

// BlockSpec is one residual block: its output channels and whether it
// halves the spatial size.
type BlockSpec struct {
	Out  int
	Down bool
}

// ResNetConfig describes a ResNet: input channels and spatial size, the
// stem's output channels Ch, and the residual blocks in order.
type ResNetConfig struct {
	InChannels    int
	Height, Width int
	Ch            int
	Blocks        []BlockSpec
}

// MNISTResNet is the 12-layer ResNet of the MNIST experiment (MDSM's
// Res12) on 1×32×32 inputs (MNIST zero-padded by 2): stem 1→ch, then
// ch→2ch down, 2ch, 2ch→4ch down, 4ch, 4ch→8ch down, 8ch, flattened to
// 8ch·4·4. The paper's network is ch = 64 (flatten 8192); every channel
// count scales with ch, so ch = 16 is a CPU-sized model with the same
// structure.
func MNISTResNet(ch int) ResNetConfig {
	return ResNetConfig{InChannels: 1, Height: 32, Width: 32, Ch: ch, Blocks: []BlockSpec{
		{2 * ch, true}, {2 * ch, false},
		{4 * ch, true}, {4 * ch, false},
		{8 * ch, true}, {8 * ch, false},
	}}
}

// CIFARResNet is the 18-layer ResNet of the CIFAR-10 experiment (MDSM's
// Res18) on 3×32×32 inputs: stem 3→ch, then ch→2ch down, 2ch, 2ch,
// 2ch→4ch down, 4ch, 4ch, 4ch→8ch down, 8ch, 8ch, flattened to 8ch·4·4.
// The paper's network is ch = 128 (flatten 16384).
func CIFARResNet(ch int) ResNetConfig {
	return ResNetConfig{InChannels: 3, Height: 32, Width: 32, Ch: ch, Blocks: []BlockSpec{
		{2 * ch, true}, {2 * ch, false}, {2 * ch, false},
		{4 * ch, true}, {4 * ch, false}, {4 * ch, false},
		{8 * ch, true}, {8 * ch, false}, {8 * ch, false},
	}}
}

// Validate reports a configuration that cannot run: non-positive sizes, or
// a down block on an odd spatial size (AvgPool2d(2) needs even sizes).
func (c ResNetConfig) Validate() error {
	if c.InChannels < 1 || c.Height < 1 || c.Width < 1 || c.Ch < 1 {
		return fmt.Errorf("model.ResNetConfig: invalid sizes (in %d, %d×%d, ch %d)", c.InChannels, c.Height, c.Width, c.Ch)
	}
	h, w := c.Height, c.Width
	for i, b := range c.Blocks {
		if b.Out < 1 {
			return fmt.Errorf("model.ResNetConfig: block %d has %d output channels", i, b.Out)
		}
		if b.Down {
			if h%2 != 0 || w%2 != 0 {
				return fmt.Errorf("model.ResNetConfig: block %d downsamples a %d×%d map", i, h, w)
			}
			h, w = h/2, w/2
		}
	}
	return nil
}

// OutShape is the shape (channels, height, width) of the last block's
// output for one input.
func (c ResNetConfig) OutShape() (ch, h, w int) {
	ch, h, w = c.Ch, c.Height, c.Width
	for _, b := range c.Blocks {
		ch = b.Out
		if b.Down {
			h, w = h/2, w/2
		}
	}
	return ch, h, w
}

// OutDim is the length of the flattened output, the input of g1's linear
// layer (8192 for MNISTResNet(64), 16384 for CIFARResNet(128)).
func (c ResNetConfig) OutDim() int {
	ch, h, w := c.OutShape()
	return ch * h * w
}

// ResNet is the feature network. Its parameters live in the Params set it
// was created in, under "<prefix>.stem", "<prefix>.<i>.conv1",
// "<prefix>.<i>.conv2" and "<prefix>.<i>.short" (each with .W and, except
// conv1, .b).
type ResNet struct {
	Cfg    ResNetConfig
	stem   nn.Conv2d
	blocks []resBlock
}

type resBlock struct {
	conv1, conv2, short nn.Conv2d
	down                bool
}

// NewResNet registers a ResNet's parameters in p under prefix.
func NewResNet(p *nn.Params, prefix string, cfg ResNetConfig, rng *tensor.RNG, dt tensor.DType) *ResNet {
	if err := cfg.Validate(); err != nil {
		panic(err.Error())
	}
	r := &ResNet{Cfg: cfg}
	r.stem = nn.NewConv2d(p, prefix+".stem", cfg.InChannels, cfg.Ch, 3, 1, 1, true, rng, dt)
	in := cfg.Ch
	for i, b := range cfg.Blocks {
		name := fmt.Sprintf("%s.%d", prefix, i)
		r.blocks = append(r.blocks, resBlock{
			conv1: nn.NewConv2d(p, name+".conv1", in, in, 3, 1, 1, false, rng, dt),
			conv2: nn.NewConv2d(p, name+".conv2", in, b.Out, 3, 1, 1, true, rng, dt),
			short: nn.NewConv2d(p, name+".short", in, b.Out, 1, 1, 0, true, rng, dt),
			down:  b.Down,
		})
		in = b.Out
	}
	return r
}

// Forward maps images v [B,C,H,W] to flattened features [B, Cfg.OutDim()].
func (r *ResNet) Forward(th nn.Vals, v *ad.Value) *ad.Value {
	c := r.Cfg
	if s := v.Shape(); len(s) != 4 || s[1] != c.InChannels || s[2] != c.Height || s[3] != c.Width {
		panic(fmt.Sprintf("model.ResNet: input shape %v, want [B %d %d %d]", s, c.InChannels, c.Height, c.Width))
	}
	x := r.stem.Apply(th, v)
	for _, b := range r.blocks {
		y := b.conv2.Apply(th, ad.ELU(b.conv1.Apply(th, ad.ELU(x))))
		s := x
		if b.down {
			y = ad.AvgPool2d(y, 2)
			s = ad.AvgPool2d(s, 2)
		}
		x = ad.Add(y, b.short.Apply(th, s))
	}
	return nn.Flatten(x)
}

// ---- the deep EBLVM ----

// DeepEBLVMConfig sizes the deep EBLVM: the ResNet of g1, the latent
// dimension H (20, 50 or 100 in the paper) and the width F of g3's linear
// layer (0 selects the reference code's OutDim/2: 4096 on MNIST, 8192 on
// CIFAR-10).
type DeepEBLVMConfig struct {
	ResNet ResNetConfig
	H, F   int
}

// DeepEBLVM is the deep EBLVM of Sec. 5.2, E(v,h) = g3(g2(g1(v), h)):
//
//	E(v,h) = Σ_k ELU( [g1(v) + h, h] W + b )_k²,   g1(v) = Linear(ResNet(v)) ∈ R^H,
//
// g2 being the additive coupling layer [g1(v) + h, h] and g3 a linear layer
// 2H → F followed by ELU, squared and summed (the reference code's
// LinearAFSquare). Parameters: the ResNet under "res.", g1's linear layer
// "g1.W" [OutDim,H], "g1.b" [H], and g3's "g3.W" [2H,F], "g3.b" [F].
//
// With W = [W_top; W_bot] split by rows, [g1(v) + h, h] W + b =
// (g1(v) W_top + b) + h (W_top + W_bot): the v-part is computed once per
// batch (EnergyGivenV) and each h costs one [B,H]×[H,F] product, the same
// function as the concatenated form at half the cost.
type DeepEBLVM struct {
	Cfg    DeepEBLVMConfig
	net    *ResNet
	g1, g3 nn.Linear
	params *nn.Params
}

// NewDeepEBLVM builds the model with PyTorch-default initialisation.
func NewDeepEBLVM(cfg DeepEBLVMConfig, rng *tensor.RNG, dt tensor.DType) *DeepEBLVM {
	if cfg.H < 1 {
		panic(fmt.Sprintf("model.NewDeepEBLVM: H = %d", cfg.H))
	}
	if cfg.F == 0 {
		cfg.F = max(cfg.ResNet.OutDim()/2, 1)
	}
	p := nn.NewParams()
	m := &DeepEBLVM{Cfg: cfg, params: p}
	m.net = NewResNet(p, "res", cfg.ResNet, rng, dt)
	m.g1 = nn.NewLinear(p, "g1", cfg.ResNet.OutDim(), cfg.H, true, rng, dt)
	m.g3 = nn.NewLinear(p, "g3", 2*cfg.H, cfg.F, true, rng, dt)
	return m
}

// Params returns θ.
func (m *DeepEBLVM) Params() *nn.Params { return m.params }

// Features returns g1(v) = Linear(ResNet(v)), [B,H].
func (m *DeepEBLVM) Features(th nn.Vals, v *ad.Value) *ad.Value {
	return m.g1.Apply(th, m.net.Forward(th, v))
}

// Energy returns E(v,h) per example, [B].
func (m *DeepEBLVM) Energy(th nn.Vals, v, h *ad.Value) *ad.Value {
	return m.EnergyGivenV(th, v).At(h)
}

// EnergyGivenV returns h -> E(v,h) with g1(v) and its product with W_top
// computed once (model.VisibleConditioner).
func (m *DeepEBLVM) EnergyGivenV(th nn.Vals, v *ad.Value) HiddenEnergy {
	w := th.Get(m.g3.WeightName())
	top := ad.Slice(w, 0, 0, m.Cfg.H)
	sum := ad.Add(top, ad.Slice(w, 0, m.Cfg.H, 2*m.Cfg.H)) // W_top + W_bot
	c := ad.Linear(m.Features(th, v), top, th.Get(m.g3.BiasName()))
	e := deepGivenVs.New(v.Tensor().Arena())
	*e = deepGivenV{m: m, c: c, sum: sum, b: v.Shape()[0]}
	return e
}

// deepGivenV is the deep EBLVM's energy at a fixed v: g1(v)'s product with
// W_top plus the bias, c, and W_top + W_bot. In an arena's Step it lives as
// long as the step's tensors.
type deepGivenV struct {
	m      *DeepEBLVM
	c, sum *ad.Value
	b      int
}

var deepGivenVs = tensor.NewSlab[deepGivenV]()

func (e *deepGivenV) At(h *ad.Value) *ad.Value {
	if s := h.Shape(); len(s) != 2 || s[0] != e.b || s[1] != e.m.Cfg.H {
		panic(fmt.Sprintf("model.DeepEBLVM: h has shape %v, want [%d %d]", s, e.b, e.m.Cfg.H))
	}
	return rowSum(ad.Square(ad.ELU(ad.Add(e.c, ad.MatMul(h, e.sum, false, false)))))
}

// ---- the fully visible baseline ----

// ResNetEBMConfig sizes the fully visible EBM: the ResNet, the width F
// of the output layer (0 selects OutDim/2, as the reference code) and an
// optional bottleneck B (0: none).
type ResNetEBMConfig struct {
	ResNet ResNetConfig
	F      int
	// Bottleneck, when positive, inserts a linear layer ResNet -> R^B
	// before the output layer: E(v) = Σ_k ELU(Linear_{B→F}(Linear(ResNet(v))))_k².
	// With B = H this is the deep EBLVM's energy at h = 0, whose v enters
	// only through g1(v) ∈ R^H; the ablation separates that bottleneck from
	// the estimator (not in the paper or the reference code).
	Bottleneck int
}

// ResNetEBM is the fully visible EBM of the MDSM baseline,
// E(v) = Σ_k ELU(Linear(ResNet(v)))_k², with the ResNet under "res." and
// the output layer "out.W" [OutDim,F], "out.b" [F] (with a bottleneck B:
// "neck.W" [OutDim,B], "neck.b" [B] and "out.W" [B,F]). It is a
// FreeEnergyModel (its energy is its free energy), so MDSM trains it
// through objective.MarginalEnergy and objective.MarginalStep.
type ResNetEBM struct {
	Cfg       ResNetEBMConfig
	net       *ResNet
	neck, out nn.Linear
	params    *nn.Params
}

// NewResNetEBM builds the model with PyTorch-default initialisation.
func NewResNetEBM(cfg ResNetEBMConfig, rng *tensor.RNG, dt tensor.DType) *ResNetEBM {
	if cfg.F == 0 {
		cfg.F = max(cfg.ResNet.OutDim()/2, 1)
	}
	if cfg.Bottleneck < 0 {
		panic(fmt.Sprintf("model.NewResNetEBM: bottleneck %d", cfg.Bottleneck))
	}
	p := nn.NewParams()
	m := &ResNetEBM{Cfg: cfg, params: p}
	m.net = NewResNet(p, "res", cfg.ResNet, rng, dt)
	in := cfg.ResNet.OutDim()
	if cfg.Bottleneck > 0 {
		m.neck = nn.NewLinear(p, "neck", in, cfg.Bottleneck, true, rng, dt)
		in = cfg.Bottleneck
	}
	m.out = nn.NewLinear(p, "out", in, cfg.F, true, rng, dt)
	return m
}

// Params returns θ.
func (m *ResNetEBM) Params() *nn.Params { return m.params }

// FreeEnergy returns E(v) per example, [B].
func (m *ResNetEBM) FreeEnergy(th nn.Vals, v *ad.Value) *ad.Value {
	f := m.net.Forward(th, v)
	if m.Cfg.Bottleneck > 0 {
		f = m.neck.Apply(th, f)
	}
	return rowSum(ad.Square(ad.ELU(m.out.Apply(th, f))))
}
