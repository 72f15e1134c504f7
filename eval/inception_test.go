package eval

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/tensor"
)

// hashUniform returns n values in [-1, 1), each exactly a float32:
// splitmix64(fnv1a(name) + i), as scripts/inception/fixture.py computes them.
func hashUniform(name string, n int) []float64 {
	h := uint64(0xCBF29CE484222325)
	for i := 0; i < len(name); i++ {
		h ^= uint64(name[i])
		h *= 0x100000001B3
	}
	u := make([]float64, n)
	for i := range u {
		z := h + uint64(i) + 0x9E3779B97F4A7C15
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
		z = (z ^ (z >> 27)) * 0x94D049BB133111EB
		z ^= z >> 31
		u[i] = float64(z>>40)/(1<<23) - 1
	}
	return u
}

// hashInception is an untrained Inception-v3 state dict with the fixture
// script's weights.
func hashInception(classes int) map[string]checkpoint.Tensor {
	return inceptionStateDict(classes, hashUniform)
}

// TestInceptionV3MatchesPyTorch compares pool3 features of both variants
// with PyTorch's (eval/testdata/inception_fixture.safetensors, written by
// scripts/inception/fixture.py from torch.nn.functional primitives) for the
// same hash-generated weights and two 28x28 grey images: every layer, pool,
// concatenation order, the batch-norm folding and the resize must agree.
func TestInceptionV3MatchesPyTorch(t *testing.T) {
	want, _, err := checkpoint.Load(filepath.Join("testdata", "inception_fixture.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	in := hashUniform("input", 2*28*28)
	x := tensor.New(tensor.Float32, 2, 1, 28, 28)
	for i, v := range in {
		x.F32()[i] = float32((v + 1) / 2)
	}
	for _, tc := range []struct {
		variant string
		classes int
	}{{InceptionTorchvision, 1000}, {InceptionFID, 1008}} {
		n, err := inceptionFrom(hashInception(tc.classes), nil, "hash")
		if err != nil {
			t.Fatal(err)
		}
		if n.Variant != tc.variant {
			t.Fatalf("fc.weight with %d rows: variant %q, want %q", tc.classes, n.Variant, tc.variant)
		}
		got := n.Features(x)
		if s := got.Shape(); !tensor.SameShape(s, []int{2, 2048}) {
			t.Fatalf("%s: features shape %v, want [2 2048]", tc.variant, s)
		}
		ref := want[tc.variant].F32
		var maxErr, scale float64
		for i, g := range got.F32() {
			maxErr = max(maxErr, math.Abs(float64(g)-float64(ref[i])))
			scale = max(scale, math.Abs(float64(ref[i])))
		}
		t.Logf("%s: max |bism - PyTorch| = %.3g, max |feature| = %.3g", tc.variant, maxErr, scale)
		if maxErr > 1e-4*scale {
			t.Errorf("%s: features differ from PyTorch's by up to %.3g (largest feature %.3g)", tc.variant, maxErr, scale)
		}
	}
}

func TestInceptionV3LoadErrors(t *testing.T) {
	good := hashInception(1008)
	for _, tc := range []struct {
		name  string
		edit  func(map[string]checkpoint.Tensor, map[string]string)
		inErr string
	}{
		{"no fc and no metadata", func(ts map[string]checkpoint.Tensor, _ map[string]string) { delete(ts, "fc.weight") }, "cannot tell the Inception variant"},
		{"unknown variant", func(_ map[string]checkpoint.Tensor, m map[string]string) { m["inception_variant"] = "v4" }, `unknown inception_variant "v4"`},
		{"missing tensor", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			delete(ts, "Mixed_6c.branch7x7_2.conv.weight")
		},
			`missing tensor "Mixed_6c.branch7x7_2.conv.weight"`},
		{"wrong shape", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			ts["Mixed_7c.branch_pool.bn.bias"] = checkpoint.F32([]int{191}, make([]float32, 191))
		}, `"Mixed_7c.branch_pool.bn.bias" has shape [191], want [192]`},
		{"integer weights", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			ts["Conv2d_1a_3x3.bn.weight"] = checkpoint.I64([]int{32}, make([]int64, 32))
		}, `"Conv2d_1a_3x3.bn.weight" is I64`},
		{"negative variance", func(ts map[string]checkpoint.Tensor, _ map[string]string) {
			v := make([]float32, 64)
			v[3] = -1
			ts["Conv2d_2b_3x3.bn.running_var"] = checkpoint.F32([]int{64}, v)
		}, "running_var[3] = -1 is negative"},
	} {
		ts := map[string]checkpoint.Tensor{}
		for k, v := range good {
			ts[k] = v
		}
		meta := map[string]string{}
		tc.edit(ts, meta)
		_, err := inceptionFrom(ts, meta, "w.safetensors")
		if err == nil || !strings.Contains(err.Error(), tc.inErr) || !strings.Contains(err.Error(), "w.safetensors") {
			t.Errorf("%s: error %v, want one naming the file and containing %q", tc.name, err, tc.inErr)
		}
	}
	// The metadata key overrides fc.weight's row count.
	n, err := inceptionFrom(good, map[string]string{"inception_variant": "torchvision"}, "w")
	if err != nil || n.Variant != InceptionTorchvision {
		t.Errorf("inception_variant metadata: variant %v, error %v", n, err)
	}
	if _, err := LoadInceptionV3(filepath.Join(t.TempDir(), "absent.safetensors")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestPool2dAndResize(t *testing.T) {
	x := tensor.Full(tensor.Float32, 1, 1, 1, 4, 4)
	x.Set(5, 0, 0, 1, 2)
	for _, tc := range []struct {
		mode   poolMode
		corner float64 // output [0,0]: window rows/cols -1..1
		middle float64 // output [1,1]: rows/cols 0..2, holding the 5
	}{
		{poolMax, 1, 5},
		{poolAvgAll, 4.0 / 9, 13.0 / 9},
		{poolAvgValid, 1, 13.0 / 9},
	} {
		y := pool2d(x, 3, 1, 1, tc.mode)
		if !tensor.SameShape(y.Shape(), []int{1, 1, 4, 4}) {
			t.Fatalf("mode %d: shape %v", tc.mode, y.Shape())
		}
		if c, m := y.At(0, 0, 0, 0), y.At(0, 0, 1, 1); math.Abs(c-tc.corner) > 1e-6 || math.Abs(m-tc.middle) > 1e-6 {
			t.Errorf("mode %d: corner %g middle %g, want %g and %g", tc.mode, c, m, tc.corner, tc.middle)
		}
	}
	if y := pool2d(x, 3, 2, 0, poolMax); !tensor.SameShape(y.Shape(), []int{1, 1, 1, 1}) || y.At(0, 0, 0, 0) != 5 {
		t.Errorf("3x3 stride-2 max of 4x4: %v", y)
	}
	// Resizing 2 -> 4 with align_corners=False: samples at -0.25 (clamped
	// to 0), 0.25, 0.75, 1.25 (clamped to the last pixel).
	r := resizeBilinear(tensor.FromFloat32([]float32{0, 4}, 1, 1, 1, 2), 1, 4)
	for j, want := range []float64{0, 1, 3, 4} {
		if got := r.At(0, 0, 0, j); math.Abs(got-want) > 1e-6 {
			t.Errorf("resize column %d: %g, want %g", j, got, want)
		}
	}
	if r := resizeBilinear(x, 4, 4); !tensor.SameShape(r.Shape(), x.Shape()) || r.At(0, 0, 1, 2) != 5 || r.At(0, 0, 3, 3) != 1 {
		t.Errorf("same-size resize is not the identity: %v", r)
	}
}

// BenchmarkInceptionV3Features times pool3 features of 25 28x28 grey images
// (resized to 299x299) with untrained weights; report images/s as
// 25 / (s/op).
func BenchmarkInceptionV3Features(b *testing.B) {
	n, err := inceptionFrom(hashInception(1008), nil, "hash")
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(tensor.Float32, 25, 1, 28, 28)
	for i, v := range hashUniform("input", x.Size()) {
		x.F32()[i] = float32((v + 1) / 2)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n.Features(x)
	}
	b.ReportMetric(float64(25*b.N)/b.Elapsed().Seconds(), "images/s")
}
