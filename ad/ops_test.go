package ad

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// opCase is one finite-difference check: f applied to inputs of the given
// shapes, drawn by gen (default N(0,1)).
type opCase struct {
	name   string
	shapes [][]int
	f      func(x []*Value) *Value
	gen    func(rng *tensor.RNG, shape []int) *tensor.Tensor
	order  int // highest order to check; 3 unless the op is piecewise linear
}

func normal(rng *tensor.RNG, shape []int) *tensor.Tensor {
	return rng.Normal(tensor.Float64, 0, 1, shape...)
}

func positive(rng *tensor.RNG, shape []int) *tensor.Tensor {
	return rng.Uniform(tensor.Float64, 0.5, 2, shape...)
}

// awayFromZero draws |x| in [0.3, 1.5] with random sign, so kinks at 0 are
// never within a finite-difference step.
func awayFromZero(rng *tensor.RNG, shape []int) *tensor.Tensor {
	u := rng.Uniform(tensor.Float64, 0.3, 1.5, shape...)
	return tensor.Mul(u, rng.Rademacher(tensor.Float64, shape...))
}

func distinct(rng *tensor.RNG, shape []int) *tensor.Tensor {
	// A random permutation of well-separated values: no ties for Max.
	n := tensor.SizeOf(shape)
	p := rng.Rand().Perm(n)
	t := tensor.New(tensor.Float64, shape...)
	for i := range p {
		t.SetFlat(i, float64(p[i])*0.37-1)
	}
	return t
}

func wellConditioned(rng *tensor.RNG, shape []int) *tensor.Tensor {
	x := rng.Normal(tensor.Float64, 0, 0.3, shape...)
	for i := 0; i < shape[0]; i++ {
		x.Set(x.At(i, i)+2, i, i)
	}
	return x
}

// smooth wraps a piecewise-linear op so its higher derivatives are non-zero.
func cubeOf(v *Value) *Value { return Mul(v, Square(v)) }

var opCases = []opCase{
	{name: "Inner", shapes: [][]int{{3, 4}, {5}, {3, 4}, {5}}, f: func(x []*Value) *Value {
		return cubeOf(Inner([]*Value{x[0], Square(x[1])}, []*Value{x[2], x[3]}))
	}},
	{name: "Add/broadcast", shapes: [][]int{{3, 4}, {4}}, f: func(x []*Value) *Value { return cubeOf(Add(x[0], x[1])) }},
	{name: "Add/broadcast-col", shapes: [][]int{{2, 3, 4}, {3, 1}}, f: func(x []*Value) *Value { return cubeOf(Add(x[0], x[1])) }},
	{name: "Sub/broadcast", shapes: [][]int{{1, 4}, {3, 1}}, f: func(x []*Value) *Value { return cubeOf(Sub(x[0], x[1])) }},
	{name: "Mul/broadcast", shapes: [][]int{{3, 4}, {3, 1}}, f: func(x []*Value) *Value { return Mul(x[0], Square(x[1])) }},
	{name: "Mul/scalar", shapes: [][]int{{2, 5}, {}}, f: func(x []*Value) *Value { return Mul(Square(x[0]), x[1]) }},
	{name: "Div/broadcast", shapes: [][]int{{3, 4}, {4}}, f: func(x []*Value) *Value { return Div(x[0], x[1]) }, gen: positive},
	{name: "Affine", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Affine(x[0], -1.5, 0.25)) }},
	{name: "Neg", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Neg(x[0])) }},
	{name: "Exp", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Exp(x[0]) }},
	{name: "Log", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Log(x[0]) }, gen: positive},
	{name: "Log1p", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Log1p(x[0]) }, gen: positive},
	{name: "Sqrt", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Sqrt(x[0]) }, gen: positive},
	{name: "Square", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Mul(Square(x[0]), x[0]) }},
	{name: "Abs", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Abs(x[0])) }, gen: awayFromZero},
	{name: "Sigmoid", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Sigmoid(x[0]) }},
	{name: "Softplus", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Softplus(x[0]) }},
	{name: "Tanh", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return Tanh(x[0]) }},
	{name: "ELU", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(ELU(x[0])) }, gen: awayFromZero},
	{name: "ReLU", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(ReLU(x[0])) }, gen: awayFromZero},
	{name: "LeakyReLU", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(LeakyReLU(x[0], 0.2)) }, gen: awayFromZero},
	{name: "Sum/all", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Sum(x[0], false)) }},
	{name: "Sum/axis0", shapes: [][]int{{3, 4, 2}}, f: func(x []*Value) *Value { return cubeOf(Sum(x[0], false, 0)) }},
	{name: "Sum/axes-keep", shapes: [][]int{{3, 4, 2}}, f: func(x []*Value) *Value { return cubeOf(Sum(x[0], true, 0, 2)) }},
	{name: "Mean/axis", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Mean(x[0], false, -1)) }},
	{name: "Max/axis", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Max(x[0], false, 1)) }, gen: distinct},
	{name: "Max/all", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Max(x[0], false)) }, gen: distinct},
	{name: "LogSumExp/axis", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return LogSumExp(x[0], false, 1) }},
	{name: "LogSumExp/all-keep", shapes: [][]int{{2, 3, 2}}, f: func(x []*Value) *Value { return LogSumExp(x[0], true, 0, 2) }},
	{name: "Reshape", shapes: [][]int{{3, 4}}, f: func(x []*Value) *Value { return cubeOf(Mul(Reshape(x[0], 2, 6), Reshape(x[0], 2, -1))) }},
	{name: "Permute", shapes: [][]int{{2, 3, 4}}, f: func(x []*Value) *Value { return cubeOf(Permute(x[0], 2, 0, 1)) }},
	{name: "Transpose", shapes: [][]int{{3, 4}, {4, 3}}, f: func(x []*Value) *Value { return cubeOf(Mul(Transpose(x[0]), x[1])) }},
	{name: "Slice", shapes: [][]int{{3, 5}}, f: func(x []*Value) *Value { return cubeOf(Slice(x[0], 1, 1, 4)) }},
	{name: "Pad", shapes: [][]int{{2, 3}}, f: func(x []*Value) *Value { return cubeOf(Pad(x[0], 0, 1, 4)) }},
	{name: "Concat", shapes: [][]int{{2, 3}, {2, 1}, {2, 2}}, f: func(x []*Value) *Value { return cubeOf(Concat(1, x[0], x[1], x[2])) }},
	{name: "BroadcastTo", shapes: [][]int{{3, 1}}, f: func(x []*Value) *Value { return cubeOf(BroadcastTo(x[0], []int{2, 3, 4})) }},
	{name: "SumTo", shapes: [][]int{{2, 3, 4}}, f: func(x []*Value) *Value { return cubeOf(SumTo(x[0], []int{3, 1})) }},
	{name: "MatMul/NN", shapes: [][]int{{3, 5}, {5, 4}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], false, false)) }},
	{name: "MatMul/TN", shapes: [][]int{{5, 3}, {5, 4}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], true, false)) }},
	{name: "MatMul/NT", shapes: [][]int{{3, 5}, {4, 5}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], false, true)) }},
	{name: "MatMul/TT", shapes: [][]int{{5, 3}, {4, 5}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], true, true)) }},
	{name: "MatMul/batched", shapes: [][]int{{2, 3, 5}, {2, 5, 4}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], false, false)) }},
	{name: "Linear", shapes: [][]int{{3, 5}, {5, 4}, {4}}, f: func(x []*Value) *Value { return cubeOf(Linear(x[0], x[1], x[2])) }},
	{name: "MatMul/batched-shared", shapes: [][]int{{2, 3, 5}, {4, 5}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], false, true)) }},
	{name: "LinComb", shapes: [][]int{{3, 4}, {3, 4}}, f: func(x []*Value) *Value { return cubeOf(LinComb(0.7, x[0], -1.3, x[1])) }},
	{name: "AdamDirection", shapes: [][]int{{3, 4}, {3, 4}}, f: func(x []*Value) *Value {
		return AdamDirection(x[0], Square(x[1]), 1e-3)
	}, gen: awayFromZero},
	{name: "AdamMomentsPacked", shapes: [][]int{{2, 5, 7}, {5, 7}}, f: func(x []*Value) *Value {
		return cubeOf(AdamMomentsPacked(x[0], x[1], 0.9, 0.99))
	}},
	{name: "AdamApplyPacked", shapes: [][]int{{5, 7}, {5, 7}, {5, 7}}, f: func(x []*Value) *Value {
		// v away from 0, where the third derivatives' finite differences
		// lose their accuracy.
		return cubeOf(AdamApplyPacked(x[0], pack(x[1], AddScalar(Square(x[2]), 0.25)), 0.3, 1e-3))
	}},
	{name: "SquaredDistance", shapes: [][]int{{4, 5}, {5}, {5}}, f: func(x []*Value) *Value {
		return cubeOf(SquaredDistance(x[0], x[1], x[2]))
	}},
	{name: "SigmoidScaledSum", shapes: [][]int{{4, 5}, {4, 5}}, f: func(x []*Value) *Value {
		return SigmoidScaledSum(x[0], x[1], 0.7)
	}},
	{name: "BernoulliLogProb", shapes: [][]int{{4, 5}, {4, 5}}, f: func(x []*Value) *Value {
		return cubeOf(BernoulliLogProb(x[0], x[1]))
	}},
	{name: "Inverse", shapes: [][]int{{3, 3}}, f: func(x []*Value) *Value { return Inverse(x[0]) }, gen: wellConditioned},
	{name: "Cholesky", shapes: [][]int{{3, 3}}, f: func(x []*Value) *Value {
		// Differentiate through a symmetric positive-definite input X Xᵀ + I.
		return Cholesky(AddScalarDiag(MatMul(x[0], x[0], false, true), 1))
	}},
	{name: "MatMul/batched-shared-left", shapes: [][]int{{5, 3}, {2, 5, 4}}, f: func(x []*Value) *Value { return cubeOf(MatMul(x[0], x[1], true, false)) }},
}

// TestOpGradients checks every differentiable op against finite differences
// to first, second and third order in float64.
func TestOpGradients(t *testing.T) {
	for i, c := range opCases {
		t.Run(c.name, func(t *testing.T) {
			rng := tensor.NewRNG(uint64(100 + i))
			gen := c.gen
			if gen == nil {
				gen = normal
			}
			xs := make([]*tensor.Tensor, len(c.shapes))
			for j, s := range c.shapes {
				xs[j] = gen(rng, s)
			}
			order := c.order
			if order == 0 {
				order = 3
			}
			res, err := CheckGrad(c.f, xs, CheckOptions{Order: order, Seed: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				t.Logf("order %d input %d rel err %.2e", r.Order, r.Input, r.RelErr)
			}
		})
	}
}

// TestCheckGradCatchesWrongRule makes sure the checker is not vacuous: a
// deliberately wrong backward rule must fail at the order where it is wrong.
func TestCheckGradCatchesWrongRule(t *testing.T) {
	// Correct first derivative, wrong second: d/dx returns g*2x computed from a
	// constant copy of x, so the second derivative is lost.
	badSquare := func(x *Value) *Value {
		return record("BadSquare", tensor.Square(x.t), func(g *Value, in []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
			return fill(res, Mul(g, Const(tensor.Scale(in[0].t, 2))))
		}, x)
	}
	xs := []*tensor.Tensor{normal(tensor.NewRNG(1), []int{3, 2})}
	f := func(x []*Value) *Value { return badSquare(x[0]) }
	if _, err := CheckGrad(f, xs, CheckOptions{Order: 1}); err != nil {
		t.Fatalf("first order should pass: %v", err)
	}
	if _, err := CheckGrad(f, xs, CheckOptions{Order: 2}); err == nil {
		t.Fatal("second order of a rule that drops x's dependence must fail")
	}
}

// AddScalarDiag adds c to the diagonal of a square matrix.
func AddScalarDiag(x *Value, c float64) *Value {
	n := x.Shape()[0]
	eye := tensor.New(x.DType(), n, n)
	for i := 0; i < n; i++ {
		eye.Set(c, i, i)
	}
	return Add(x, Const(eye))
}

// TestGradResultsOutliveScratch: Grad reuses its working memory between
// calls; gradients a first-order call returned keep their values and
// identity through later calls, even where a backward rule returns one of
// the constants Grad handed it (here x ↦ x²/2 under a unit cotangent,
// whose rule returns its input).
func TestGradResultsOutliveScratch(t *testing.T) {
	halfSquare := func(x *Value) *Value {
		y := tensor.Scale(tensor.Mul(x.t, x.t), 0.5)
		return record("HalfSquareUnit", y, func(g *Value, in []*Value, out *Value, _ *attrs, need []bool, res []*Value) []*Value {
			return fill(res, in[0]) // g·x with g = 1
		}, x)
	}
	rng := tensor.NewRNG(1)
	xt := rng.Normal(tensor.Float64, 0, 1, 3, 4)
	x := Var(xt.Clone())
	g1 := Grad(SumAll(halfSquare(x)), []*Value{x})[0]
	for range 3 {
		z := Var(rng.Normal(tensor.Float64, 0, 1, 5, 6))
		g2 := Grad(SumAll(Mul(Exp(Mul(z, z)), halfSquare(z))), []*Value{z, x})
		if g2[0] == g1 || g2[1] == g1 {
			t.Fatal("a later call returned the same value as an earlier one")
		}
	}
	if g1.Tensor() == nil {
		t.Fatal("the first gradient lost its tensor")
	}
	for i, v := range g1.Tensor().F64() {
		if v != xt.F64()[i] {
			t.Fatalf("element %d of the first gradient is %v after later calls, want %v", i, v, xt.F64()[i])
		}
	}
}

// TestRecordedValuesFollowTheArena: in an arena's step the values an
// operation records (with or without a node) come from the arena and are
// reused by the next step, as the results' storage is; outside a step,
// and under Poison, each is a new heap value.
func TestRecordedValuesFollowTheArena(t *testing.T) {
	a := tensor.NewArena()
	p := tensor.NewRNG(1).Normal(tensor.Float32, 0, 1, 4, 5)
	p.SetArena(a)
	c := tensor.Full(tensor.Float32, 2, 4, 5).InArena(a)
	var prev [2]*Value
	for step := range 3 {
		a.Step(func() {
			x := Var(p)
			y := Mul(x, x)     // a node
			z := Exp(Const(c)) // a constant result
			g := Grad(SumAll(y), []*Value{x})[0]
			if y.node == nil || z.node != nil || z.requiresGrad {
				t.Fatal("wrong kinds of value")
			}
			if got, want := g.Tensor().Flat(3), 2*p.Flat(3); got != want {
				t.Fatalf("gradient %v, want %v", got, want)
			}
			if step > 0 && (y != prev[0] || z != prev[1]) {
				t.Fatalf("step %d: recorded values not reused", step)
			}
			prev = [2]*Value{y, z}
		})
	}
	a.Poison = true
	a.Step(func() {
		if y := Mul(Var(p), Var(p)); y == prev[0] {
			t.Fatal("a recorded value reused under Poison")
		}
	})
	if y := Mul(Var(p), Var(p)); y == prev[0] {
		t.Fatal("a recorded value reused outside a step")
	}
}

// Vars and Consts bind several tensors at once, as Var and Const do one.
func TestVarsConsts(t *testing.T) {
	ts := []*tensor.Tensor{tensor.New(tensor.Float64, 2, 3), tensor.New(tensor.Float64, 3)}
	for _, c := range []struct {
		name string
		vs   []*Value
		grad bool
	}{{"Vars", Vars(ts), true}, {"Consts", Consts(ts), false}} {
		if len(c.vs) != len(ts) {
			t.Fatalf("%s: %d values for %d tensors", c.name, len(c.vs), len(ts))
		}
		for i, v := range c.vs {
			if v.Tensor() != ts[i] || v.RequiresGrad() != c.grad || v.Op() != "" {
				t.Errorf("%s[%d]: tensor %p (want %p), requires grad %v, op %q", c.name, i, v.Tensor(), ts[i], v.RequiresGrad(), v.Op())
			}
		}
	}
	// Each call's values are new leaves: gradients flow to each on its own.
	vs, ws := Vars(ts[:1]), Vars(ts[:1])
	if vs[0] == ws[0] {
		t.Fatal("two calls returned the same value")
	}
	ts[0].Fill(2)
	g := Grad(SumAll(Mul(vs[0], Square(ws[0]))), []*Value{vs[0], ws[0]})
	if g[0].Tensor().At(0, 0) != 4 || g[1].Tensor().At(0, 0) != 8 {
		t.Fatalf("gradients %v and %v, want 4 (w²) and 8 (2vw)", g[0].Tensor(), g[1].Tensor())
	}
}

// Operations on constants compute what they compute on leaves, without
// recording anything.
func TestConstantInputsRecordNothing(t *testing.T) {
	rng := tensor.NewRNG(3)
	x := rng.Normal(tensor.Float64, 0, 1, 4, 3)
	w := rng.Normal(tensor.Float64, 0, 1, 3, 5)
	b := rng.Normal(tensor.Float64, 0, 1, 5)
	for _, c := range []struct {
		name string
		f    func(x, w, b *Value) *Value
	}{
		{"Affine", func(x, _, _ *Value) *Value { return Affine(x, 1.5, -0.25) }},
		{"Sigmoid", func(x, _, _ *Value) *Value { return Sigmoid(x) }},
		{"Sum", func(x, _, _ *Value) *Value { return Sum(x, true, 1) }},
		{"SumTo", func(x, _, _ *Value) *Value { return SumTo(x, []int{1, 3}) }},
		{"BroadcastTo", func(_, _, b *Value) *Value { return BroadcastTo(b, []int{2, 5}) }},
		{"MatMul", func(x, w, _ *Value) *Value { return MatMul(x, w, false, false) }},
		{"Linear", func(x, w, b *Value) *Value { return Linear(x, w, b) }},
	} {
		got := c.f(Const(x), Const(w), Const(b))
		want := c.f(Var(x), Var(w), Var(b))
		if got.RequiresGrad() || got.Op() != "" {
			t.Errorf("%s of constants: requires grad %v, op %q", c.name, got.RequiresGrad(), got.Op())
		}
		if !want.RequiresGrad() {
			t.Errorf("%s of leaves does not require gradients", c.name)
		}
		g, h := got.Tensor().F64(), want.Tensor().F64()
		if !tensor.SameShape(got.Shape(), want.Shape()) || len(g) != len(h) {
			t.Fatalf("%s: shape %v on constants, %v on leaves", c.name, got.Shape(), want.Shape())
		}
		for i := range g {
			if math.Float64bits(g[i]) != math.Float64bits(h[i]) {
				t.Errorf("%s: element %d is %v on constants, %v on leaves", c.name, i, g[i], h[i])
				break
			}
		}
	}
}
