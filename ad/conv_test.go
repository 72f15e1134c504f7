package ad

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// convCases checks the convolution family and pooling to third order. The
// ops are linear in each argument, so cubeOf makes every order non-trivial;
// the second and third orders differentiate conv2dInputGrad and
// conv2dWeightGrad, whose backward rules are in turn checked directly.
var convCases = []opCase{
	{name: "Conv2d/s1p0", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}}, f: func(x []*Value) *Value { return cubeOf(Conv2d(x[0], x[1], 1, 0)) }},
	{name: "Conv2d/s1p1", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}}, f: func(x []*Value) *Value { return cubeOf(Conv2d(x[0], x[1], 1, 1)) }},
	{name: "Conv2d/s2p0", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}}, f: func(x []*Value) *Value { return cubeOf(Conv2d(x[0], x[1], 2, 0)) }},
	{name: "Conv2d/s2p1", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}}, f: func(x []*Value) *Value { return cubeOf(Conv2d(x[0], x[1], 2, 1)) }},
	{name: "Conv2d/1x1", shapes: [][]int{{2, 3, 3, 2}, {2, 3, 1, 1}}, f: func(x []*Value) *Value { return cubeOf(Conv2d(x[0], x[1], 1, 0)) }},
	{name: "Conv2d/same-input", shapes: [][]int{{1, 2, 4, 4}}, f: func(x []*Value) *Value {
		// x is both the image and (a slice of) the kernel: the two gradient
		// paths must add up, at every order.
		w := Reshape(Slice(Reshape(x[0], 2, 16), 1, 0, 9), 1, 2, 3, 3)
		return cubeOf(Conv2d(x[0], w, 1, 1))
	}},
	// A constant operand makes every backward rule in the family run with
	// one need flag false, at every order.
	{name: "Conv2d/const-x", shapes: [][]int{{3, 2, 3, 3}}, f: func(x []*Value) *Value {
		img := Const(normal(tensor.NewRNG(5), []int{2, 2, 5, 4}))
		return cubeOf(Conv2d(img, x[0], 2, 1))
	}},
	{name: "Conv2d/const-w", shapes: [][]int{{2, 2, 5, 4}}, f: func(x []*Value) *Value {
		w := Const(normal(tensor.NewRNG(6), []int{3, 2, 3, 3}))
		return cubeOf(Conv2d(x[0], w, 1, 1))
	}},
	{name: "conv2dInputGrad/s2p1", shapes: [][]int{{2, 3, 3, 2}, {3, 2, 3, 3}}, f: func(x []*Value) *Value {
		return cubeOf(conv2dInputGrad(x[0], x[1], []int{2, 2, 5, 4}, 2, 1))
	}},
	{name: "conv2dWeightGrad/s2p1", shapes: [][]int{{2, 2, 5, 4}, {2, 3, 3, 2}}, f: func(x []*Value) *Value {
		return cubeOf(conv2dWeightGrad(x[0], x[1], []int{3, 2, 3, 3}, 2, 1))
	}},
	{name: "Conv2dBias/s1p1", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}, {3}}, f: func(x []*Value) *Value {
		return cubeOf(Conv2dBias(x[0], x[1], x[2], 1, 1))
	}},
	{name: "Conv2dBias/s2p1", shapes: [][]int{{2, 2, 5, 4}, {3, 2, 3, 3}, {3}}, f: func(x []*Value) *Value {
		return cubeOf(Conv2dBias(x[0], x[1], x[2], 2, 1))
	}},
	{name: "AvgPool2d/k2", shapes: [][]int{{2, 2, 4, 6}}, f: func(x []*Value) *Value { return cubeOf(AvgPool2d(x[0], 2)) }},
	{name: "AvgPool2d/k3", shapes: [][]int{{1, 2, 3, 6}}, f: func(x []*Value) *Value { return cubeOf(AvgPool2d(x[0], 3)) }},
	{name: "avgUnpool2d/k2", shapes: [][]int{{2, 2, 2, 3}}, f: func(x []*Value) *Value { return cubeOf(avgUnpool2d(x[0], 2)) }},
}

func TestConvGradients(t *testing.T) {
	for i, c := range convCases {
		t.Run(c.name, func(t *testing.T) {
			rng := tensor.NewRNG(uint64(300 + i))
			xs := make([]*tensor.Tensor, len(c.shapes))
			for j, s := range c.shapes {
				xs[j] = normal(rng, s)
			}
			res, err := CheckGrad(c.f, xs, CheckOptions{Order: 3, Seed: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				t.Logf("order %d input %d rel err %.2e", r.Order, r.Input, r.RelErr)
			}
		})
	}
}

// convNet is conv -> +bias -> ELU -> avgpool -> sum of squares.
func convNet(x, w, b *Value) *Value {
	z := Add(Conv2d(x, w, 1, 1), b)
	return SumAll(Square(AvgPool2d(ELU(z), 2)))
}

// TestConvNetGradient checks a small convolutional network to third order
// in its input, weight and bias. ELU is not C2 at 0, so inputs are drawn
// until every pre-activation is well away from 0.
func TestConvNetGradient(t *testing.T) {
	rng := tensor.NewRNG(42)
	var xs []*tensor.Tensor
	for tries := 0; ; tries++ {
		if tries == 100 {
			t.Fatal("no draw kept pre-activations away from 0")
		}
		xs = []*tensor.Tensor{
			normal(rng, []int{2, 2, 4, 4}),
			tensor.Scale(normal(rng, []int{3, 2, 3, 3}), 0.5),
			normal(rng, []int{3, 1, 1}),
		}
		z := tensor.Add(tensor.Conv2d(xs[0], xs[1], 1, 1), xs[2])
		minAbs := math.Inf(1)
		for _, v := range z.Values() {
			minAbs = math.Min(minAbs, math.Abs(v))
		}
		if minAbs > 0.02 {
			break
		}
	}
	f := func(v []*Value) *Value { return convNet(v[0], v[1], v[2]) }
	res, err := CheckGrad(f, xs, CheckOptions{Order: 3, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		t.Logf("order %d input %d rel err %.2e", r.Order, r.Input, r.RelErr)
	}
}

// TestConvFloat32 runs the family in float32 and compares to float64.
func TestConvFloat32(t *testing.T) {
	rng := tensor.NewRNG(2)
	x64 := normal(rng, []int{2, 3, 6, 6})
	w64 := normal(rng, []int{4, 3, 3, 3})
	run := func(dt tensor.DType) []*tensor.Tensor {
		x, w := Var(x64.As(dt)), Var(w64.As(dt))
		l := SumAll(Square(AvgPool2d(Conv2d(x, w, 2, 1), 3)))
		gs := Grad(l, []*Value{x, w})
		return []*tensor.Tensor{l.Tensor(), gs[0].Tensor(), gs[1].Tensor()}
	}
	a, b := run(tensor.Float32), run(tensor.Float64)
	for i := range a {
		if a[i].DType() != tensor.Float32 {
			t.Fatalf("result %d is %v", i, a[i].DType())
		}
		var d, s float64
		for j := 0; j < b[i].Size(); j++ {
			d = math.Max(d, math.Abs(a[i].Flat(j)-b[i].Flat(j)))
			s = math.Max(s, math.Abs(b[i].Flat(j)))
		}
		if d > 1e-4*math.Max(s, 1) {
			t.Fatalf("result %d: float32 differs from float64 by %.3g (scale %.3g)", i, d, s)
		}
	}
}
