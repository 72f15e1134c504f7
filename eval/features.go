package eval

import (
	"bytes"
	_ "embed"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// A small MNIST classifier whose penultimate layer provides the features of
// FID and KID for MNIST samples (a stand-in for Inception-v3, which bism
// does not have: numbers computed with it are comparable between bism runs,
// not with published FIDs):
//
//	conv3x3 s2 p1 (1→16) → LReLU(0.2) → conv3x3 s2 p1 (16→32) → LReLU
//	→ conv3x3 s2 p1 (32→32) → LReLU → flatten (32·4·4 = 512)
//	→ linear 512→128 → LReLU (the features) → linear 128→10 (logits).
//
// Input: [N,1,32,32] images in [0,1] (data.LoadMNIST's padded layout).
// Parameters "conv1".."conv3", "fc", "out" (each .W and .b).

// MNISTFeatureDim is the length of MNISTNet's feature vectors.
const MNISTFeatureDim = 128

// MNISTNetFile is the shipped trained network, relative to this package's
// directory (embedded in the binary; see DefaultMNISTNet).
const MNISTNetFile = "testdata/mnist_classifier.safetensors"

//go:embed testdata/mnist_classifier.safetensors
var shippedMNISTNet []byte

const mnistNetFormat = "bism-mnist-classifier-v1"

// MNISTNet is the feature network.
type MNISTNet struct {
	params  *nn.Params
	conv    [3]nn.Conv2d
	fc, out nn.Linear
	// Meta records how the network was trained (iterations, seed, test
	// accuracy) when it was loaded from a file.
	Meta map[string]string
}

// NewMNISTNet builds an untrained network (PyTorch-default initialisation).
func NewMNISTNet(rng *tensor.RNG) *MNISTNet {
	p := nn.NewParams()
	n := &MNISTNet{params: p, Meta: map[string]string{}}
	in := 1
	for i, out := range []int{16, 32, 32} {
		n.conv[i] = nn.NewConv2d(p, fmt.Sprintf("conv%d", i+1), in, out, 3, 2, 1, true, rng, tensor.Float32)
		in = out
	}
	n.fc = nn.NewLinear(p, "fc", 32*4*4, MNISTFeatureDim, true, rng, tensor.Float32)
	n.out = nn.NewLinear(p, "out", MNISTFeatureDim, 10, true, rng, tensor.Float32)
	return n
}

// Params returns the network's parameters.
func (n *MNISTNet) Params() *nn.Params { return n.params }

func (n *MNISTNet) forward(th nn.Vals, x *ad.Value) (feat, logits *ad.Value) {
	if s := x.Shape(); len(s) != 4 || s[1] != 1 || s[2] != 32 || s[3] != 32 {
		panic(fmt.Sprintf("eval.MNISTNet: input shape %v, want [N 1 32 32]", s))
	}
	for _, c := range n.conv {
		x = ad.LeakyReLU(c.Apply(th, x), 0.2)
	}
	feat = ad.LeakyReLU(n.fc.Apply(th, nn.Flatten(x)), 0.2)
	return feat, n.out.Apply(th, feat)
}

// apply runs the network on x [N,1,32,32] (any N) in chunks without
// recording gradients and returns features [N,128] and logits [N,10].
func (n *MNISTNet) apply(x *tensor.Tensor) (feat, logits *tensor.Tensor) {
	const chunk = 500
	x = x.As(tensor.Float32)
	th := n.params.Consts()
	var fs, ls []*tensor.Tensor
	for lo := 0; lo < x.Dim(0); lo += chunk {
		hi := min(lo+chunk, x.Dim(0))
		f, l := n.forward(th, ad.Const(tensor.Slice(x, 0, lo, hi)))
		fs, ls = append(fs, f.Tensor()), append(ls, l.Tensor())
	}
	if len(fs) == 1 {
		return fs[0], ls[0]
	}
	return tensor.Concat(0, fs...), tensor.Concat(0, ls...)
}

// Features returns the 128-dimensional features of images x [N,1,32,32].
func (n *MNISTNet) Features(x *tensor.Tensor) *tensor.Tensor {
	f, _ := n.apply(x)
	return f
}

// Predict returns the predicted digit of each image.
func (n *MNISTNet) Predict(x *tensor.Tensor) []int {
	_, l := n.apply(x)
	return argmaxRows(l)
}

// argmaxRows returns the index of the largest entry of each row of l [N, C]
// (the first one on ties).
func argmaxRows(l *tensor.Tensor) []int {
	c := l.Dim(1)
	pred := make([]int, l.Dim(0))
	for i := range pred {
		best := 0
		for j := 1; j < c; j++ {
			if l.At(i, j) > l.At(i, best) {
				best = j
			}
		}
		pred[i] = best
	}
	return pred
}

// Accuracy is the fraction of the set's images classified correctly.
func (n *MNISTNet) Accuracy(s *data.Set) (float64, error) {
	if s.Labels == nil {
		return 0, fmt.Errorf("eval: the set has no labels")
	}
	return accuracy(n.Predict(SetImages(s)), s.Labels), nil
}

// SetImages returns a data set's examples as one [N, C, H, W] tensor
// (sharing memory with the set).
func SetImages(s *data.Set) *tensor.Tensor {
	return tensor.FromFloat32(s.X, append([]int{s.N}, s.Shape...)...)
}

// TrainMNISTClassifier trains the feature network on train (MNIST's
// [1,32,32] images with labels) for the given number of Adam iterations
// (lr 1e-3, betas (0.9, 0.999), batch 64, cross-entropy), shuffling with
// seed.
func TrainMNISTClassifier(train *data.Set, iterations int, seed uint64) (*MNISTNet, error) {
	if train.Labels == nil || len(train.Shape) != 3 || train.Shape[0] != 1 || train.Shape[1] != 32 || train.Shape[2] != 32 {
		return nil, fmt.Errorf("eval.TrainMNISTClassifier: need labelled [1 32 32] images, got shape %v", train.Shape)
	}
	if iterations < 1 {
		return nil, fmt.Errorf("eval.TrainMNISTClassifier: %d iterations", iterations)
	}
	rng := tensor.NewRNG(seed)
	n := NewMNISTNet(rng)
	opt := optim.NewAdam(1e-3, 0.9, 0.999)
	const bs = 64
	perm := rng.Rand().Perm(train.N)
	pos := 0
	idx := make([]int, bs)
	var buf []float32
	var ys []int
	for it := 0; it < iterations; it++ {
		for i := range idx {
			if pos == len(perm) {
				perm, pos = rng.Rand().Perm(train.N), 0
			}
			idx[i] = perm[pos]
			pos++
		}
		buf = train.Batch(idx, buf)
		ys = train.BatchLabels(idx, ys)
		x := tensor.FromFloat32(buf, bs, 1, 32, 32)
		th := n.params.Vars()
		_, logits := n.forward(th, ad.Const(x))
		onehot := tensor.New(tensor.Float32, bs, 10)
		for i, y := range ys {
			onehot.Set(1, i, y)
		}
		loss := ad.Mean(ad.Sub(ad.LogSumExp(logits, false, 1), ad.Sum(ad.Mul(logits, ad.Const(onehot)), false, 1)), false)
		gs := ad.Grad(loss, th.List())
		grads := make([]*tensor.Tensor, len(gs))
		for i, g := range gs {
			grads[i] = g.Tensor()
		}
		opt.Step(n.params, grads)
	}
	n.Meta = map[string]string{"iterations": strconv.Itoa(iterations), "seed": strconv.FormatUint(seed, 10)}
	return n, nil
}

// Save writes the network's parameters (and Meta) as safetensors.
func (n *MNISTNet) Save(path string) error {
	ts := map[string]checkpoint.Tensor{}
	for _, name := range n.params.Names() {
		t := n.params.Get(name)
		ts[name] = checkpoint.F32(t.Shape(), t.F32())
	}
	meta := map[string]string{"format": mnistNetFormat}
	for k, v := range n.Meta {
		meta[k] = v
	}
	return checkpoint.Save(path, ts, meta)
}

// LoadMNISTNet reads a network written by Save.
func LoadMNISTNet(path string) (*MNISTNet, error) {
	ts, meta, err := checkpoint.Load(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	return mnistNetFrom(ts, meta, filepath.Base(path))
}

// DefaultMNISTNet returns the shipped trained network (MNISTNetFile,
// embedded in the binary).
func DefaultMNISTNet() (*MNISTNet, error) {
	ts, meta, err := checkpoint.Read(bytes.NewReader(shippedMNISTNet))
	if err != nil {
		return nil, fmt.Errorf("eval: shipped MNIST classifier: %w", err)
	}
	return mnistNetFrom(ts, meta, MNISTNetFile)
}

func mnistNetFrom(ts map[string]checkpoint.Tensor, meta map[string]string, name string) (*MNISTNet, error) {
	if meta["format"] != mnistNetFormat {
		return nil, fmt.Errorf("eval: %s is not an MNIST feature network (format %q)", name, meta["format"])
	}
	n := NewMNISTNet(tensor.NewRNG(0))
	for _, p := range n.params.Names() {
		t, ok := ts[p]
		dst := n.params.Get(p)
		if !ok || t.DType != checkpoint.DTypeF32 || !tensor.SameShape(t.Shape, dst.Shape()) {
			return nil, fmt.Errorf("eval: %s: missing or misshapen tensor %q (want F32 %v)", name, p, dst.Shape())
		}
		dst.CopyFrom(tensor.FromFloat32(append([]float32(nil), t.F32...), t.Shape...))
	}
	n.Meta = meta
	return n, nil
}
