package eval

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/tensor"
)

// Inception-v3 as the feature network of the usual FID/KID protocol: the
// 2048 pool3 features of Szegedy et al.'s network, for users who have its
// weights (bism cannot download them here, hence the shipped MNISTNet).
//
// The weights are read from a safetensors file with torchvision's
// state-dict names (Conv2d_1a_3x3.conv.weight, Conv2d_1a_3x3.bn.weight,
// .bn.bias, .bn.running_mean, .bn.running_var, Mixed_5b.branch1x1.conv.weight,
// ...): `safetensors.torch.save_file(model.state_dict(), path)` on either
// torchvision's inception_v3 or pytorch-fid's FID network writes one. Other
// tensors (AuxLogits.*, fc.*, num_batches_tracked) are ignored. Inference
// only: batch norm is folded into each convolution at load time.

// Inception variants: the two published weight sets differ in three pooling
// layers, so the architecture must match the weights.
const (
	// InceptionTorchvision is torchvision's inception_v3 (ImageNet weights).
	InceptionTorchvision = "torchvision"
	// InceptionFID is pytorch-fid's port of TensorFlow's 2015 Inception, the
	// network of published FIDs: its 3x3 average pools exclude the padding
	// from the count, and Mixed_7c pools by maximum.
	InceptionFID = "fid"
)

// InceptionSize is the input side length the network expects; Features
// resizes to it.
const InceptionSize = 299

// InceptionV3 computes Inception-v3 pool3 features. Build it with
// LoadInceptionV3.
type InceptionV3 struct {
	Variant string // InceptionFID or InceptionTorchvision
	convs   map[string]*foldedConv
}

// foldedConv is a convolution followed by eval-mode batch norm, folded into
// one weight and bias, then ReLU (torchvision's BasicConv2d).
type foldedConv struct {
	w      *tensor.Tensor // [O,C,KH,KW]
	b      []float32      // [O]
	stride int
	ph, pw int
}

// inceptionConv describes one BasicConv2d of the network.
type inceptionConv struct {
	name                            string
	in, out, kh, kw, stride, ph, pw int
}

// inceptionLayers lists every convolution of Inception-v3 up to pool3, with
// torchvision's names, channels, kernels, strides and paddings.
func inceptionLayers() []inceptionConv {
	var ls []inceptionConv
	c := func(name string, in, out, kh, kw, stride, ph, pw int) {
		ls = append(ls, inceptionConv{name, in, out, kh, kw, stride, ph, pw})
	}
	c("Conv2d_1a_3x3", 3, 32, 3, 3, 2, 0, 0)
	c("Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0, 0)
	c("Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1)
	c("Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0, 0)
	c("Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0, 0)
	for _, a := range []struct {
		name   string
		in, pf int
	}{{"Mixed_5b", 192, 32}, {"Mixed_5c", 256, 64}, {"Mixed_5d", 288, 64}} {
		p := a.name + "."
		c(p+"branch1x1", a.in, 64, 1, 1, 1, 0, 0)
		c(p+"branch5x5_1", a.in, 48, 1, 1, 1, 0, 0)
		c(p+"branch5x5_2", 48, 64, 5, 5, 1, 2, 2)
		c(p+"branch3x3dbl_1", a.in, 64, 1, 1, 1, 0, 0)
		c(p+"branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1)
		c(p+"branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1)
		c(p+"branch_pool", a.in, a.pf, 1, 1, 1, 0, 0)
	}
	c("Mixed_6a.branch3x3", 288, 384, 3, 3, 2, 0, 0)
	c("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1, 1, 0, 0)
	c("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1)
	c("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0)
	for _, m := range []struct {
		name string
		c7   int
	}{{"Mixed_6b", 128}, {"Mixed_6c", 160}, {"Mixed_6d", 160}, {"Mixed_6e", 192}} {
		p, c7 := m.name+".", m.c7
		c(p+"branch1x1", 768, 192, 1, 1, 1, 0, 0)
		c(p+"branch7x7_1", 768, c7, 1, 1, 1, 0, 0)
		c(p+"branch7x7_2", c7, c7, 1, 7, 1, 0, 3)
		c(p+"branch7x7_3", c7, 192, 7, 1, 1, 3, 0)
		c(p+"branch7x7dbl_1", 768, c7, 1, 1, 1, 0, 0)
		c(p+"branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0)
		c(p+"branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3)
		c(p+"branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0)
		c(p+"branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3)
		c(p+"branch_pool", 768, 192, 1, 1, 1, 0, 0)
	}
	c("Mixed_7a.branch3x3_1", 768, 192, 1, 1, 1, 0, 0)
	c("Mixed_7a.branch3x3_2", 192, 320, 3, 3, 2, 0, 0)
	c("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1, 1, 0, 0)
	c("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3)
	c("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0)
	c("Mixed_7a.branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0)
	for _, e := range []struct {
		name string
		in   int
	}{{"Mixed_7b", 1280}, {"Mixed_7c", 2048}} {
		p := e.name + "."
		c(p+"branch1x1", e.in, 320, 1, 1, 1, 0, 0)
		c(p+"branch3x3_1", e.in, 384, 1, 1, 1, 0, 0)
		c(p+"branch3x3_2a", 384, 384, 1, 3, 1, 0, 1)
		c(p+"branch3x3_2b", 384, 384, 3, 1, 1, 1, 0)
		c(p+"branch3x3dbl_1", e.in, 448, 1, 1, 1, 0, 0)
		c(p+"branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1)
		c(p+"branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1)
		c(p+"branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0)
		c(p+"branch_pool", e.in, 192, 1, 1, 1, 0, 0)
	}
	return ls
}

// inceptionBNEps is torchvision's BasicConv2d batch-norm epsilon.
const inceptionBNEps = 0.001

// LoadInceptionV3 reads Inception-v3 weights from a safetensors file with
// torchvision's state-dict names (see the comment at the top of this file). The
// variant is the file's metadata key "inception_variant" ("fid" or
// "torchvision") when present, otherwise it is read off fc.weight: 1008
// classes is pytorch-fid's FID network, 1000 torchvision's.
func LoadInceptionV3(path string) (*InceptionV3, error) {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return nil, fmt.Errorf("eval: Inception-v3 weights: %w", err)
	}
	return inceptionFrom(ts, meta, filepath.Base(path))
}

func inceptionFrom(ts map[string]checkpoint.Tensor, meta map[string]string, name string) (*InceptionV3, error) {
	variant := meta["inception_variant"]
	if variant == "" {
		fc, ok := ts["fc.weight"]
		switch {
		case ok && len(fc.Shape) == 2 && fc.Shape[0] == 1008:
			variant = InceptionFID
		case ok && len(fc.Shape) == 2 && fc.Shape[0] == 1000:
			variant = InceptionTorchvision
		default:
			return nil, fmt.Errorf("eval: %s: cannot tell the Inception variant: no fc.weight with 1008 (FID) or 1000 (torchvision) rows and no inception_variant metadata", name)
		}
	}
	if variant != InceptionFID && variant != InceptionTorchvision {
		return nil, fmt.Errorf("eval: %s: unknown inception_variant %q (want %q or %q)", name, variant, InceptionFID, InceptionTorchvision)
	}
	n := &InceptionV3{Variant: variant, convs: map[string]*foldedConv{}}
	for _, l := range inceptionLayers() {
		get := func(key string, shape ...int) ([]float64, error) {
			t, ok := ts[key]
			if !ok {
				return nil, fmt.Errorf("eval: %s: missing tensor %q (want %v); is this an Inception-v3 state dict with torchvision's names?", name, key, shape)
			}
			if !tensor.SameShape(t.Shape, shape) {
				return nil, fmt.Errorf("eval: %s: tensor %q has shape %v, want %v", name, key, t.Shape, shape)
			}
			switch t.DType {
			case checkpoint.DTypeF32:
				v := make([]float64, len(t.F32))
				for i, x := range t.F32 {
					v[i] = float64(x)
				}
				return v, nil
			case checkpoint.DTypeF64:
				return t.F64, nil
			}
			return nil, fmt.Errorf("eval: %s: tensor %q is %s, want F32 or F64", name, key, t.DType)
		}
		w, err := get(l.name+".conv.weight", l.out, l.in, l.kh, l.kw)
		if err != nil {
			return nil, err
		}
		var bn [4][]float64
		for i, k := range []string{"weight", "bias", "running_mean", "running_var"} {
			if bn[i], err = get(l.name+".bn."+k, l.out); err != nil {
				return nil, err
			}
		}
		fc := &foldedConv{b: make([]float32, l.out), stride: l.stride, ph: l.ph, pw: l.pw}
		wf := make([]float32, len(w))
		per := l.in * l.kh * l.kw
		for o := 0; o < l.out; o++ {
			if bn[3][o] < 0 {
				return nil, fmt.Errorf("eval: %s: %s.bn.running_var[%d] = %g is negative", name, l.name, o, bn[3][o])
			}
			s := bn[0][o] / math.Sqrt(bn[3][o]+inceptionBNEps)
			for i := o * per; i < (o+1)*per; i++ {
				wf[i] = float32(w[i] * s)
			}
			fc.b[o] = float32(bn[1][o] - bn[2][o]*s)
		}
		fc.w = tensor.FromFloat32(wf, l.out, l.in, l.kh, l.kw)
		n.convs[l.name] = fc
	}
	return n, nil
}

// NewInceptionV3 returns an untrained Inception-v3 of the given variant
// with random weights (uniform convolutions of variance 2/fan-in, batch-norm
// statistics near 1 and 0): for tests and timing. Its features do not
// measure anything; load real weights with LoadInceptionV3.
func NewInceptionV3(variant string, rng *tensor.RNG) (*InceptionV3, error) {
	u := func(_ string, n int) []float64 { return rng.Uniform(tensor.Float64, -1, 1, n).F64() }
	return inceptionFrom(inceptionStateDict(1000, u), map[string]string{"inception_variant": variant}, "NewInceptionV3")
}

// inceptionStateDict is an Inception-v3 state dict with torchvision's names
// whose values come from uniform(name, n) in [-1, 1): convolutions scaled to
// variance 2/fan-in, batch-norm weight 1 ± 0.1, bias and running mean ±0.1,
// running variance in [1, 1.5); plus the fc and num_batches_tracked tensors
// a real file carries.
func inceptionStateDict(classes int, uniform func(name string, n int) []float64) map[string]checkpoint.Tensor {
	ts := map[string]checkpoint.Tensor{}
	put := func(name string, scale, shift float64, shape ...int) {
		n := tensor.SizeOf(shape)
		d := make([]float32, n)
		for i, x := range uniform(name, n) {
			d[i] = float32(x*scale + shift)
		}
		ts[name] = checkpoint.F32(shape, d)
	}
	for _, l := range inceptionLayers() {
		fan := l.in * l.kh * l.kw
		put(l.name+".conv.weight", math.Sqrt(6/float64(fan)), 0, l.out, l.in, l.kh, l.kw)
		bn := l.name + ".bn."
		put(bn+"weight", 0.1, 1, l.out)
		put(bn+"bias", 0.1, 0, l.out)
		put(bn+"running_mean", 0.1, 0, l.out)
		put(bn+"running_var", 0.25, 1.25, l.out)
		ts[bn+"num_batches_tracked"] = checkpoint.I64(nil, []int64{0})
	}
	ts["fc.weight"] = checkpoint.F32([]int{classes, 2048}, make([]float32, classes*2048))
	ts["fc.bias"] = checkpoint.F32([]int{classes}, make([]float32, classes))
	return ts
}

// conv applies the named BasicConv2d: convolution, folded batch norm, ReLU.
func (n *InceptionV3) conv(name string, x *tensor.Tensor) *tensor.Tensor {
	c := n.convs[name]
	pad := c.ph
	if c.ph != c.pw {
		// tensor.Conv2d pads both sides alike; pad the asymmetric 1x7-style
		// kernels' input explicitly.
		s := x.Shape()
		x = tensor.Pad(tensor.Pad(x, 2, c.ph, s[2]+2*c.ph), 3, c.pw, s[3]+2*c.pw)
		pad = 0
	}
	y := tensor.Conv2d(x, c.w, c.stride, pad)
	s := y.Shape()
	plane := s[2] * s[3]
	d := y.F32()
	parallel.For(s[0]*s[1], 1+(1<<14)/plane, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			b := c.b[p%s[1]]
			row := d[p*plane : (p+1)*plane]
			for i, v := range row {
				row[i] = max(v+b, 0)
			}
		}
	})
	return y
}

func (n *InceptionV3) seq(x *tensor.Tensor, names ...string) *tensor.Tensor {
	for _, nm := range names {
		x = n.conv(nm, x)
	}
	return x
}

// pool3 is the 3x3 pool inside the A, C and E blocks (stride 1, pad 1):
// average counting the padding (torchvision), average over the window's
// pixels inside the image (FID), or maximum (FID's Mixed_7c).
func (n *InceptionV3) pool3(x *tensor.Tensor, last bool) *tensor.Tensor {
	switch {
	case n.Variant == InceptionFID && last:
		return pool2d(x, 3, 1, 1, poolMax)
	case n.Variant == InceptionFID:
		return pool2d(x, 3, 1, 1, poolAvgValid)
	}
	return pool2d(x, 3, 1, 1, poolAvgAll)
}

// Features returns the 2048 pool3 features [N,2048] of images x [N,C,H,W]
// with values in [0,1] and C = 1 (copied to three channels) or 3: x is
// resized to 299x299 bilinearly (PyTorch's align_corners=False) and scaled
// to [-1,1] as pytorch-fid does, in chunks of 25 images to bound memory.
// It costs about 5.7 GFLOP per image.
func (n *InceptionV3) Features(x *tensor.Tensor) *tensor.Tensor {
	s := x.Shape()
	if len(s) != 4 || (s[1] != 1 && s[1] != 3) {
		panic(fmt.Sprintf("eval.InceptionV3.Features: input %v is not [N,1,H,W] or [N,3,H,W]", s))
	}
	x = x.As(tensor.Float32)
	var parts []*tensor.Tensor
	const chunk = 25
	for lo := 0; lo < s[0]; lo += chunk {
		parts = append(parts, n.features(tensor.Slice(x, 0, lo, min(lo+chunk, s[0]))))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return tensor.Concat(0, parts...)
}

func (n *InceptionV3) features(x *tensor.Tensor) *tensor.Tensor {
	x = resizeBilinear(x, InceptionSize, InceptionSize) // a new tensor: scaled in place
	d := x.F32()
	for i, v := range d {
		d[i] = 2*v - 1
	}
	if x.Dim(1) == 1 {
		x = tensor.Concat(1, x, x, x)
	}
	x = pool2d(n.seq(x, "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"), 3, 2, 0, poolMax)
	x = pool2d(n.seq(x, "Conv2d_3b_1x1", "Conv2d_4a_3x3"), 3, 2, 0, poolMax)
	for _, m := range []string{"Mixed_5b.", "Mixed_5c.", "Mixed_5d."} {
		x = tensor.Concat(1,
			n.conv(m+"branch1x1", x),
			n.seq(x, m+"branch5x5_1", m+"branch5x5_2"),
			n.seq(x, m+"branch3x3dbl_1", m+"branch3x3dbl_2", m+"branch3x3dbl_3"),
			n.conv(m+"branch_pool", n.pool3(x, false)))
	}
	m := "Mixed_6a."
	x = tensor.Concat(1,
		n.conv(m+"branch3x3", x),
		n.seq(x, m+"branch3x3dbl_1", m+"branch3x3dbl_2", m+"branch3x3dbl_3"),
		pool2d(x, 3, 2, 0, poolMax))
	for _, m := range []string{"Mixed_6b.", "Mixed_6c.", "Mixed_6d.", "Mixed_6e."} {
		x = tensor.Concat(1,
			n.conv(m+"branch1x1", x),
			n.seq(x, m+"branch7x7_1", m+"branch7x7_2", m+"branch7x7_3"),
			n.seq(x, m+"branch7x7dbl_1", m+"branch7x7dbl_2", m+"branch7x7dbl_3", m+"branch7x7dbl_4", m+"branch7x7dbl_5"),
			n.conv(m+"branch_pool", n.pool3(x, false)))
	}
	m = "Mixed_7a."
	x = tensor.Concat(1,
		n.seq(x, m+"branch3x3_1", m+"branch3x3_2"),
		n.seq(x, m+"branch7x7x3_1", m+"branch7x7x3_2", m+"branch7x7x3_3", m+"branch7x7x3_4"),
		pool2d(x, 3, 2, 0, poolMax))
	for i, m := range []string{"Mixed_7b.", "Mixed_7c."} {
		y := n.conv(m+"branch3x3_1", x)
		z := n.seq(x, m+"branch3x3dbl_1", m+"branch3x3dbl_2")
		x = tensor.Concat(1,
			n.conv(m+"branch1x1", x),
			n.conv(m+"branch3x3_2a", y), n.conv(m+"branch3x3_2b", y),
			n.conv(m+"branch3x3dbl_3a", z), n.conv(m+"branch3x3dbl_3b", z),
			n.conv(m+"branch_pool", n.pool3(x, i == 1)))
	}
	s := x.Shape()
	return tensor.Mean(x.Reshape(s[0], s[1], s[2]*s[3]), false, 2)
}

type poolMode int

const (
	poolMax      poolMode = iota
	poolAvgAll            // average with padded zeros counted (count_include_pad=True)
	poolAvgValid          // average over the pixels inside the image
)

// pool2d pools x [N,C,H,W] over k x k windows with the given stride and
// padding (floor mode, as PyTorch's default); padding never wins a max.
func pool2d(x *tensor.Tensor, k, stride, pad int, mode poolMode) *tensor.Tensor {
	s := x.Shape()
	if len(s) != 4 || s[2]+2*pad < k || s[3]+2*pad < k {
		panic(fmt.Sprintf("eval.pool2d: input %v too small for kernel %d, stride %d, pad %d", s, k, stride, pad))
	}
	h, w := s[2], s[3]
	ho, wo := (h+2*pad-k)/stride+1, (w+2*pad-k)/stride+1
	out := tensor.New(tensor.Float32, s[0], s[1], ho, wo)
	src, dst := x.F32(), out.F32()
	parallel.For(s[0]*s[1], 1+(1<<14)/(h*w), func(lo, hi int) {
		for p := lo; p < hi; p++ {
			in, o := src[p*h*w:(p+1)*h*w], dst[p*ho*wo:(p+1)*ho*wo]
			for i := 0; i < ho; i++ {
				r0, r1 := max(i*stride-pad, 0), min(i*stride-pad+k, h)
				for j := 0; j < wo; j++ {
					c0, c1 := max(j*stride-pad, 0), min(j*stride-pad+k, w)
					acc := float32(math.Inf(-1))
					if mode != poolMax {
						acc = 0
					}
					for r := r0; r < r1; r++ {
						for _, v := range in[r*w+c0 : r*w+c1] {
							if mode == poolMax {
								acc = max(acc, v)
							} else {
								acc += v
							}
						}
					}
					switch mode {
					case poolAvgAll:
						acc /= float32(k * k)
					case poolAvgValid:
						acc /= float32((r1 - r0) * (c1 - c0))
					}
					o[i*wo+j] = acc
				}
			}
		}
	})
	return out
}

// resizeBilinear resizes x [N,C,H,W] to [N,C,oh,ow] by bilinear
// interpolation with PyTorch's align_corners=False convention: output pixel
// i samples the input at (i+0.5)·H/oh - 0.5, clamped at 0 from below, with
// the last row and column repeated past the edge.
func resizeBilinear(x *tensor.Tensor, oh, ow int) *tensor.Tensor {
	s := x.Shape()
	h, w := s[2], s[3]
	out := tensor.New(tensor.Float32, s[0], s[1], oh, ow)
	type tap struct {
		i0, i1 int
		l      float32
	}
	taps := func(in, out int) []tap {
		t := make([]tap, out)
		scale := float64(in) / float64(out)
		for i := range t {
			src := max((float64(i)+0.5)*scale-0.5, 0)
			i0 := min(int(src), in-1)
			t[i] = tap{i0, min(i0+1, in-1), float32(src - float64(i0))}
		}
		return t
	}
	rows, cols := taps(h, oh), taps(w, ow)
	src, dst := x.F32(), out.F32()
	parallel.For(s[0]*s[1], 1, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			in, o := src[p*h*w:(p+1)*h*w], dst[p*oh*ow:(p+1)*oh*ow]
			for i, r := range rows {
				a, b := in[r.i0*w:(r.i0+1)*w], in[r.i1*w:(r.i1+1)*w]
				for j, c := range cols {
					top := a[c.i0] + c.l*(a[c.i1]-a[c.i0])
					bot := b[c.i0] + c.l*(b[c.i1]-b[c.i0])
					o[i*ow+j] = top + r.l*(bot-top)
				}
			}
		}
	})
	return out
}
