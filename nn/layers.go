package nn

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// Layers are descriptions, not owners: a layer records its name and sizes,
// registers its parameters in a Params set when it is created, and applies
// them from Vals when it is called. The same layer can therefore run at
// leaf parameters, at constants, or at the unrolled parameters φ^N(θ) of
// bi-level score matching (see the package comment), and checkpoints see
// plain named tensors such as "res.0.conv1.W".

// Conv2dInit returns PyTorch's default nn.Conv2d initialisation for a
// layer with in input channels, out output channels and a k×k kernel:
// weight [out,in,k,k] from kaiming_uniform(a=√5), which reduces to
// U(±1/√fan_in) with fan_in = in·k·k, and bias [out] from U(±1/√fan_in).
// The authors' code keeps these defaults everywhere.
func Conv2dInit(rng *tensor.RNG, dt tensor.DType, in, out, k int) (w, b *tensor.Tensor) {
	bound := 1 / math.Sqrt(float64(in*k*k))
	return Uniform(rng, dt, bound, out, in, k, k), Uniform(rng, dt, bound, out)
}

// Conv2d is a 2-D convolution layer (cross-correlation, NCHW) whose
// parameters are Name+".W" [Out,In,Kernel,Kernel] and, with Bias,
// Name+".b" [Out] (PyTorch's layouts, so checkpoints map one to one).
type Conv2d struct {
	Name                    string
	In, Out, Kernel, Stride int
	Pad                     int
	Bias                    bool

	names paramNames // made by NewConv2d, so that a step does not build them
}

// paramNames are a layer's parameter names, Name+".W" and Name+".b",
// made once.
type paramNames struct{ w, b string }

// weight returns the weight's name, from names when made.
func (n paramNames) weight(layer string) string {
	if n.w != "" {
		return n.w
	}
	return layer + ".W"
}

// bias returns the bias's name, from names when made.
func (n paramNames) bias(layer string) string {
	if n.b != "" {
		return n.b
	}
	return layer + ".b"
}

func namesOf(layer string) paramNames { return paramNames{layer + ".W", layer + ".b"} }

// NewConv2d registers a convolution's parameters in p, initialised as
// PyTorch does (Conv2dInit), and returns the layer.
func NewConv2d(p *Params, name string, in, out, kernel, stride, pad int, bias bool, rng *tensor.RNG, dt tensor.DType) Conv2d {
	if in < 1 || out < 1 || kernel < 1 || stride < 1 || pad < 0 {
		panic(fmt.Sprintf("nn.NewConv2d(%q): invalid sizes in=%d out=%d kernel=%d stride=%d pad=%d", name, in, out, kernel, stride, pad))
	}
	c := Conv2d{Name: name, In: in, Out: out, Kernel: kernel, Stride: stride, Pad: pad, Bias: bias, names: namesOf(name)}
	w, b := Conv2dInit(rng, dt, in, out, kernel)
	p.Add(c.WeightName(), w)
	if bias {
		p.Add(c.BiasName(), b)
	}
	return c
}

// WeightName is the weight parameter's name, Name+".W".
func (c Conv2d) WeightName() string { return c.names.weight(c.Name) }

// BiasName is the bias parameter's name, Name+".b" ("" without bias).
func (c Conv2d) BiasName() string {
	if !c.Bias {
		return ""
	}
	return c.names.bias(c.Name)
}

// Apply convolves x [N,In,H,W] with the layer's parameters from th and adds
// the bias, giving [N,Out,Ho,Wo].
func (c Conv2d) Apply(th Vals, x *ad.Value) *ad.Value {
	if s := x.Shape(); len(s) != 4 || s[1] != c.In {
		panic(fmt.Sprintf("nn.Conv2d(%q): input shape %v, want [N %d H W]", c.Name, s, c.In))
	}
	if c.Bias {
		return ad.Conv2dBias(x, th.Get(c.WeightName()), th.Get(c.BiasName()), c.Stride, c.Pad)
	}
	return ad.Conv2d(x, th.Get(c.WeightName()), c.Stride, c.Pad)
}

// OutSize returns the output's spatial size for an h×w input.
func (c Conv2d) OutSize(h, w int) (int, int) {
	return (h+2*c.Pad-c.Kernel)/c.Stride + 1, (w+2*c.Pad-c.Kernel)/c.Stride + 1
}

// Linear is a fully connected layer x @ W + b with an input-major weight
// Name+".W" [In,Out] (as LinearInit and the rest of bism store it) and,
// with Bias, Name+".b" [Out].
type Linear struct {
	Name    string
	In, Out int
	Bias    bool

	names paramNames // made by NewLinear
}

// NewLinear registers a linear layer's parameters in p with PyTorch's
// default initialisation (LinearInit) and returns the layer.
func NewLinear(p *Params, name string, in, out int, bias bool, rng *tensor.RNG, dt tensor.DType) Linear {
	if in < 1 || out < 1 {
		panic(fmt.Sprintf("nn.NewLinear(%q): invalid sizes in=%d out=%d", name, in, out))
	}
	l := Linear{Name: name, In: in, Out: out, Bias: bias, names: namesOf(name)}
	w, b := LinearInit(rng, dt, in, out)
	p.Add(l.WeightName(), w)
	if bias {
		p.Add(l.BiasName(), b)
	}
	return l
}

// WeightName is the weight parameter's name, Name+".W".
func (l Linear) WeightName() string { return l.names.weight(l.Name) }

// BiasName is the bias parameter's name, Name+".b" ("" without bias).
func (l Linear) BiasName() string {
	if !l.Bias {
		return ""
	}
	return l.names.bias(l.Name)
}

// Apply maps x [B,In] to x @ W + b, [B,Out].
func (l Linear) Apply(th Vals, x *ad.Value) *ad.Value {
	if s := x.Shape(); len(s) != 2 || s[1] != l.In {
		panic(fmt.Sprintf("nn.Linear(%q): input shape %v, want [B %d]", l.Name, s, l.In))
	}
	y := ad.MatMul(x, th.Get(l.WeightName()), false, false)
	if l.Bias {
		y = ad.Add(y, th.Get(l.BiasName()))
	}
	return y
}

// Flatten reshapes x [B,...] to [B, prod(...)], the layout of PyTorch's
// x.flatten(1) for contiguous NCHW tensors.
func Flatten(x *ad.Value) *ad.Value {
	s := x.Shape()
	if len(s) == 2 {
		return x
	}
	return ad.Reshape(x, s[0], -1)
}
