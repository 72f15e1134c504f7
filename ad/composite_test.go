package ad

import (
	"math"
	"strings"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// mlpEnergy is a small MLP energy E(v) = sum(tanh(v W1 + b1) w2) + 1/2|v|^2,
// summed over the batch: the kind of function score matching differentiates.
func mlpEnergy(v, w1, b1, w2 *Value) *Value {
	h := Tanh(Add(MatMul(v, w1, false, false), b1))
	return Add(SumAll(MatMul(h, w2, false, false)), Scale(SumAll(Square(v)), 0.5))
}

// TestHessianVectorProduct checks the Hessian-vector product of an MLP energy
// (grad of <grad_v E, u>) against finite differences of the gradient.
func TestHessianVectorProduct(t *testing.T) {
	rng := tensor.NewRNG(7)
	v := rng.Normal(tensor.Float64, 0, 1, 4, 5)
	w1 := rng.Normal(tensor.Float64, 0, 0.5, 5, 6)
	b1 := rng.Normal(tensor.Float64, 0, 0.5, 6)
	w2 := rng.Normal(tensor.Float64, 0, 0.5, 6, 1)
	u := rng.Normal(tensor.Float64, 0, 1, 4, 5)
	gradAt := func(vt *tensor.Tensor) *tensor.Tensor {
		vv := Var(vt)
		return Grad(mlpEnergy(vv, Const(w1), Const(b1), Const(w2)), []*Value{vv})[0].Tensor()
	}
	vv := Var(v)
	g := Grad(mlpEnergy(vv, Const(w1), Const(b1), Const(w2)), []*Value{vv}, CreateGraph())[0]
	hvp := Grad(Dot(g, Const(u)), []*Value{vv})[0].Tensor()

	const eps = 1e-5
	fd := tensor.Scale(tensor.Sub(gradAt(tensor.Add(v, tensor.Scale(u, eps))), gradAt(tensor.Sub(v, tensor.Scale(u, eps)))), 0.5/eps)
	if e := relErr(hvp, fd); e > 1e-7 {
		t.Fatalf("Hessian-vector product relative error %.3g", e)
	}
}

// TestThirdOrderSSMQuantity checks the parameter gradient of
// u^T grad_v(u . grad_v E) (the sliced score matching term) against finite
// differences in the parameters: a third-order derivative of E.
func TestThirdOrderSSMQuantity(t *testing.T) {
	rng := tensor.NewRNG(8)
	v := rng.Normal(tensor.Float64, 0, 1, 3, 4)
	u := rng.Rademacher(tensor.Float64, 3, 4)
	params := []*tensor.Tensor{
		rng.Normal(tensor.Float64, 0, 0.5, 4, 5),
		rng.Normal(tensor.Float64, 0, 0.5, 5),
		rng.Normal(tensor.Float64, 0, 0.5, 5, 1),
	}
	f := func(p []*Value) *Value {
		vv := Var(v)
		s := Grad(mlpEnergy(vv, p[0], p[1], p[2]), []*Value{vv}, CreateGraph())[0]
		hu := Grad(Dot(s, Const(u)), []*Value{vv}, CreateGraph())[0]
		return Add(Dot(hu, Const(u)), Scale(SumAll(Square(s)), 0.5))
	}
	if _, err := CheckGrad(f, params, CheckOptions{Order: 1, Tol: 1e-7}); err != nil {
		t.Fatal(err)
	}
}

func TestUnusedInputGetsZeros(t *testing.T) {
	x := Var(tensor.Ones(tensor.Float64, 2, 3))
	unused := Var(tensor.Ones(tensor.Float64, 4))
	gs := Grad(SumAll(Square(x)), []*Value{x, unused})
	if !tensor.SameShape(gs[1].Shape(), []int{4}) {
		t.Fatalf("unused gradient shape %v", gs[1].Shape())
	}
	for _, v := range gs[1].Tensor().Values() {
		if v != 0 {
			t.Fatalf("unused gradient %v", gs[1].Tensor())
		}
	}
}

func TestGradWithoutCreateGraphRecordsNothing(t *testing.T) {
	x := Var(tensor.Ones(tensor.Float64, 2))
	g := Grad(SumAll(Exp(x)), []*Value{x})[0]
	if g.RequiresGrad() {
		t.Fatal("gradient without CreateGraph requires grad")
	}
	g2 := Grad(SumAll(Exp(x)), []*Value{x}, CreateGraph())[0]
	if !g2.RequiresGrad() {
		t.Fatal("gradient with CreateGraph is not differentiable")
	}
	if c := Exp(Detach(x)); c.RequiresGrad() || c.Op() != "" {
		t.Fatal("an operation on a constant recorded a node")
	}
}

func TestCotangent(t *testing.T) {
	x := Var(tensor.FromFloat64([]float64{1, 2, 3}, 3))
	c := Const(tensor.FromFloat64([]float64{1, 0, -1}, 3))
	g := Grad(Square(x), []*Value{x}, Cotangent(c))[0].Tensor().Values()
	want := []float64{2, 0, -6}
	for i := range want {
		if math.Abs(g[i]-want[i]) > 1e-12 {
			t.Fatalf("got %v want %v", g, want)
		}
	}
}

func expectPanic(t *testing.T, contains []string, f func()) {
	t.Helper()
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("expected a panic")
		}
		msg, _ := r.(string)
		for _, c := range contains {
			if !strings.Contains(msg, c) {
				t.Fatalf("panic %q does not mention %q", msg, c)
			}
		}
	}()
	f()
}

func TestMisuseMessages(t *testing.T) {
	a := Var(tensor.Ones(tensor.Float32, 3, 4))
	b := Var(tensor.Ones(tensor.Float32, 5))
	expectPanic(t, []string{"Add", "[3 4]", "[5]"}, func() { Add(a, b) })
	expectPanic(t, []string{"MatMul", "[3 4]", "[3 4]"}, func() { MatMul(a, a, false, false) })
	expectPanic(t, []string{"not a single element"}, func() { Grad(a, []*Value{a}) })
	expectPanic(t, []string{"dtype mismatch"}, func() { Add(a, Var(tensor.Ones(tensor.Float64, 3, 4))) })
}

// ssmEnergy is the benchmark energy E(v) = 1/2|v|^2 - sum softplus(v W + c).
func ssmEnergy(v, w, c *Value) *Value {
	return Sub(Scale(SumAll(Square(v)), 0.5), SumAll(Softplus(Add(MatMul(v, w, false, false), c))))
}

// ssmLoss is one sliced score matching loss: mean over the batch of
// 1/2|s|^2 + u^T grad_v(s . u), with s = -grad_v E.
func ssmLoss(v, u, w, c *Value) *Value {
	s := Neg(Grad(ssmEnergy(v, w, c), []*Value{v}, CreateGraph())[0])
	hu := Grad(Dot(s, u), []*Value{v}, CreateGraph())[0]
	n := float64(v.Shape()[0])
	return Scale(Add(Scale(SumAll(Square(s)), 0.5), Dot(hu, u)), 1/n)
}

// BenchmarkSSMStep measures one sliced score matching step (loss plus
// parameter gradients, third order) at batch 100, D = 560, H = 400.
// BenchmarkSSMStep times one SSM step in steady state: each step's tensors
// come from an arena reset before the next (tensor.Arena), as in training.
// BenchmarkSSMStep/heap allocates every tensor afresh.
func BenchmarkSSMStep(b *testing.B) {
	b.Run("arena", func(b *testing.B) { benchSSMStep(b, tensor.NewArena()) })
	b.Run("heap", func(b *testing.B) { benchSSMStep(b, nil) })
}

func benchSSMStep(b *testing.B, a *tensor.Arena) {
	rng := tensor.NewRNG(1)
	const B, D, H = 100, 560, 400
	w := Var(rng.Uniform(tensor.Float32, -0.05, 0.05, D, H))
	c := Var(rng.Uniform(tensor.Float32, -0.05, 0.05, H))
	data := rng.Uniform(tensor.Float32, 0, 1, B, D)
	step := func() {
		v := Var(data)
		u := Const(rng.Rademacher(tensor.Float32, B, D))
		loss := ssmLoss(v, u, w, c)
		_ = Grad(loss, []*Value{w, c})
	}
	if a != nil {
		heapStep := step
		step = func() { a.Step(heapStep) }
	}
	step()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step()
	}
}

func TestSSMStepGradient(t *testing.T) {
	// The benchmarked step, small and in float64, against finite differences.
	rng := tensor.NewRNG(3)
	v := rng.Uniform(tensor.Float64, 0, 1, 3, 5)
	u := rng.Rademacher(tensor.Float64, 3, 5)
	ps := []*tensor.Tensor{rng.Normal(tensor.Float64, 0, 0.5, 5, 4), rng.Normal(tensor.Float64, 0, 0.5, 4)}
	f := func(p []*Value) *Value { return ssmLoss(Var(v), Const(u), p[0], p[1]) }
	if _, err := CheckGrad(f, ps, CheckOptions{Order: 2}); err != nil {
		t.Fatal(err)
	}
}

// TestFirstOrderPassReleasesGradients: a first-order backward pass in an
// arena's Step accumulates gradients in place and gives consumed ones back
// to the arena (tensor.Release). On a graph where gradients fan in, pass
// through (Add, Sub, Reshape hand the cotangent on) and a target is an
// intermediate value, or one new tensor is the gradient of two inputs, the gradients must equal the heap's bit for bit, with
// released storage reused or poisoned, and reuse must save allocations.
func TestFirstOrderPassReleasesGradients(t *testing.T) {
	rng := tensor.NewRNG(5)
	w0 := rng.Normal(tensor.Float32, 0, 0.3, 6, 5)
	x0 := rng.Normal(tensor.Float32, 0, 1, 4, 6)
	run := func(a *tensor.Arena, opts ...GradOption) (grads [][]float32) {
		body := func() {
			w, x := Var(w0.InArena(a)), Var(x0.InArena(a))
			h := Tanh(MatMul(x, w, false, false)) // [4, 5]
			s := Add(h, Mul(h, h))                // h fans out four ways
			r := Reshape(Sub(s, Sigmoid(h)), 20)  // Sub and Reshape pass g on
			// a + b whose backward rule gives both inputs one new tensor.
			plus := func(a, b *Value) *Value {
				return record("Plus", tensor.Add(a.t, b.t), func(g *Value, _ []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
					d := Affine(g, 1, 0)
					return fill(res, d, d)
				}, a, b)
			}
			y := Add(SumAll(Mul(r, r)), SumAll(Exp(plus(Reshape(h, 20), r))))
			for _, g := range Grad(y, []*Value{w, x, h}, opts...) {
				grads = append(grads, append([]float32(nil), g.Tensor().F32()...))
			}
		}
		if a == nil {
			body()
		} else {
			a.Step(body)
		}
		return grads
	}
	want := run(nil)
	// The recorded backward pass owns and releases nothing (its kernels may
	// round differently).
	for j, g := range run(nil, CreateGraph()) {
		for k := range g {
			if d := math.Abs(float64(g[k] - want[j][k])); d > 1e-5*(1+math.Abs(float64(g[k]))) {
				t.Fatalf("gradient %d: %v, the recorded pass's %v", j, want[j], g)
			}
		}
	}
	var misses [2]int64
	for i, poison := range []bool{true, false} {
		a := tensor.NewArena()
		a.MinElems, a.Poison = 1, poison
		for step := 0; step < 2; step++ {
			got := run(a)
			for j := range want {
				for k := range want[j] {
					if math.Float32bits(got[j][k]) != math.Float32bits(want[j][k]) {
						t.Fatalf("poison %v, step %d: gradient %d differs from the heap's: %v, want %v", poison, step, j, got[j], want[j])
					}
				}
			}
		}
		misses[i] = a.Misses()
	}
	// Under Poison nothing released is reused (every request of the first
	// Step allocates; the second reuses them all).
	if misses[1] >= misses[0] {
		t.Fatalf("released gradients were not reused: %d allocations, %d with nothing reused", misses[1], misses[0])
	}
}

// TestAddVJPMatchesTheRule: in a first-order pass the packed Adam update
// adds its product for the moments straight into their gradient when the
// pass owns it (node.addVJP: here the moments' update gave the first
// contribution), with the bits of the rule's product added after; on the
// heap, where the pass owns no first contribution, the rule runs.
func TestAddVJPMatchesTheRule(t *testing.T) {
	rng := tensor.NewRNG(6)
	const p = 3000
	x0 := rng.Normal(tensor.Float32, 0, 1, p)
	s0 := rng.Uniform(tensor.Float32, 0, 1, 2, p)
	g0 := rng.Normal(tensor.Float32, 0, 1, p)
	w := rng.Normal(tensor.Float32, 0, 1, p)
	ws := rng.Normal(tensor.Float32, 0, 1, 2, p)
	addedOnce(t, func(a *tensor.Arena, counted func(*Value) *Value) (grad []float32) {
		inStep(a, func() {
			x, s, g := Var(x0.InArena(a)), Var(s0.InArena(a)), Var(g0.InArena(a))
			y := counted(AdamApplyPacked(x, s, 1e-3, 1e-8))
			s2 := AdamMomentsPacked(s, g, 0.9, 0.999) // a later use of s: its gradient comes first
			loss := Add(SumAll(Mul(y, Const(w))), SumAll(Mul(s2, Const(ws))))
			grad = Grad(loss, []*Value{s, x})[0].Tensor().F32() // x: the rule still runs, for x
		})
		return grad
	})
}

// TestMulAddVJP: in a first-order pass a product whose input's gradient the
// pass already owns (here from the input's tanh, met first) adds g·(the
// other operand) straight into it, with the bits of the rule's product
// added after; a product with a broadcast operand, met last, takes the
// rule.
func TestMulAddVJP(t *testing.T) {
	rng := tensor.NewRNG(16)
	x0, c0 := rng.Normal(tensor.Float32, 0, 1, 100, 40), rng.Normal(tensor.Float32, 0, 1e3, 100, 40)
	r0 := rng.Normal(tensor.Float32, 0, 1, 40)
	addedOnce(t, func(a *tensor.Arena, counted func(*Value) *Value) (grad []float32) {
		inStep(a, func() {
			x := Var(x0.InArena(a))
			q := counted(Mul(x, Const(r0.InArena(a)))) // broadcast: the rule, met last
			p := counted(Mul(x, Const(c0.InArena(a))))
			// The pass meets Tanh(x), then p's product, then q's.
			loss := Add(Add(SumAll(Sigmoid(q)), SumAll(Square(p))), SumAll(Tanh(x)))
			grad = Grad(loss, []*Value{x})[0].Tensor().F32()
		})
		return grad
	})
}

// TestHandedOnGradientIsOwned: a rule that hands its cotangent on
// unchanged (the packed Adam update's product for the parameters, in an
// unrolled step φ1 = φ0 + Δ) hands on the pass's ownership of it too, so
// that φ0's own use in a product (MatMul(x, φ0), met later in the pass)
// adds its weight gradient straight into it, with the bits of the rule's
// product added after.
func TestHandedOnGradientIsOwned(t *testing.T) {
	rng := tensor.NewRNG(8)
	x0 := rng.Normal(tensor.Float32, 0, 1, 100, 56) // a product the kernels add into
	phi0 := rng.Normal(tensor.Float32, 0, 0.3, 56, 40)
	s0 := rng.Uniform(tensor.Float32, 0, 1, 2, 56, 40)
	c0 := rng.Normal(tensor.Float32, 0, 1, 100, 40)
	addedOnce(t, func(a *tensor.Arena, counted func(*Value) *Value) (grad []float32) {
		inStep(a, func() {
			x, phi, s, c := Const(x0.InArena(a)), Var(phi0.InArena(a)), Const(s0.InArena(a)), Const(c0.InArena(a))
			h0 := counted(MatMul(x, phi, false, false))
			phi1 := AdamApplyPacked(phi, s, 1e-2, 1e-8)
			h1 := MatMul(x, phi1, false, false)
			loss := Add(SumAll(Mul(h0, c)), SumAll(Mul(Tanh(h1), c)))
			grad = Grad(loss, []*Value{phi})[0].Tensor().F32()
		})
		return grad
	})
}

// addedOnce runs grad, a first-order pass through values passed to
// counted, on the heap and in an arena's Step: their nodes' addVJP must add
// a product once in the arena, where the pass owns a first contribution,
// and never on the heap, where it owns none and the rule runs, and the
// gradients must have the same bits.
func addedOnce(t *testing.T, grad func(a *tensor.Arena, counted func(*Value) *Value) []float32) {
	t.Helper()
	run := func(a *tensor.Arena) (g []float32, added int) {
		counted := func(y *Value) *Value {
			add := y.node.addVJP
			y.node.addVJP = func(up *Value, in []*Value, at *attrs, j int, acc *tensor.Tensor) bool {
				ok := add(up, in, at, j, acc)
				if ok {
					added++
				}
				return ok
			}
			return y
		}
		g = append([]float32(nil), grad(a, counted)...)
		return g, added
	}
	want, added := run(nil)
	if added != 0 {
		t.Fatal("a product was added on the heap, where the pass owns no gradient")
	}
	got, added := run(tensor.NewArena())
	if added != 1 {
		t.Fatalf("products added %d times, want once", added)
	}
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("gradient entry %d: %v, the rule's %v", i, got[i], want[i])
		}
	}
}

// sameGradsAsComposition checks a fused operation against the composition
// it stands for: grads(a, fused, order) returns the gradients a training
// step takes at that order, with the fused operation or the composition,
// computed in a's Step (the heap when a is nil). The composition's on the
// heap are the reference; the fused operation's, on the heap and in an
// arena with released storage reused and poisoned, must have their bits.
func sameGradsAsComposition(t *testing.T, orders []int, grads func(a *tensor.Arena, fused bool, order int) [][]float32) {
	t.Helper()
	for _, order := range orders {
		want := grads(nil, false, order)
		for _, poison := range []bool{false, true} {
			a := tensor.NewArena()
			a.MinElems, a.Poison = 1, poison
			for _, arena := range []*tensor.Arena{nil, a} {
				got := grads(arena, true, order)
				for j := range want {
					for k := range want[j] {
						if math.Float32bits(got[j][k]) != math.Float32bits(want[j][k]) {
							t.Fatalf("order %d, arena %v, poison %v: gradient %d entry %d is %v, the composition's %v", order, arena != nil, poison, j, k, got[j][k], want[j][k])
						}
					}
				}
			}
		}
	}
}

// inStep runs body in a's Step, or directly when a is nil.
func inStep(a *tensor.Arena, body func()) {
	if a == nil {
		body()
		return
	}
	a.Step(body)
}

// float32s copies the values' data.
func float32s(vs []*Value) (out [][]float32) {
	for _, v := range vs {
		out = append(out, append([]float32(nil), v.Tensor().F32()...))
	}
	return out
}

// TestSquaredDistanceMatchesComposition: SquaredDistance stands for
// Sum(Mul(Square(Sub(x, c)), w), false, -1) in a GRBM's free energy. The
// gradients that training takes through it must have the composition's
// bits: first order (contrastive divergence), second order (the
// parameters' gradient of a score-matching loss on -∂F/∂v), third order
// (sliced score matching's Hessian-vector product, differentiated once
// more).
func TestSquaredDistanceMatchesComposition(t *testing.T) {
	rng := tensor.NewRNG(8)
	const b, d, h = 37, 40, 9
	v0 := rng.Normal(tensor.Float32, 0, 1, b, d)
	u0 := rng.Rademacher(tensor.Float32, b, d)
	p0 := []*tensor.Tensor{rng.Normal(tensor.Float32, 0, 0.3, d, h), rng.Normal(tensor.Float32, 0, 1, d),
		rng.Normal(tensor.Float32, 0, 1, h), rng.Normal(tensor.Float32, 0, 0.3, d)}
	sameGradsAsComposition(t, []int{1, 2, 3}, func(a *tensor.Arena, fused bool, order int) (grads [][]float32) {
		quad := func(v, c, w *Value) *Value { return Sum(Mul(Square(Sub(v, c)), w), false, -1) }
		if fused {
			quad = SquaredDistance
		}
		inStep(a, func() {
			ps := make([]*Value, len(p0))
			for i, p := range p0 {
				ps[i] = Var(p.InArena(a))
			}
			v := Var(v0.InArena(a))
			freeEnergy := func(v *Value) *Value {
				prec := Exp(Scale(ps[3], -2))
				return Sub(Scale(quad(v, ps[1], prec), 0.5), Sum(Softplus(Add(MatMul(v, ps[0], false, false), ps[2])), false, -1))
			}
			loss := Mean(freeEnergy(v), false)
			if order > 1 {
				score := Neg(Grad(SumAll(freeEnergy(v)), []*Value{v}, CreateGraph())[0])
				loss = SumAll(Square(score))
				if order == 3 {
					u := Const(u0.InArena(a))
					hvp := Grad(score, []*Value{v}, CreateGraph(), Cotangent(u))[0]
					loss = Add(loss, SumAll(Mul(hvp, u)))
				}
			}
			grads = float32s(Grad(loss, append(ps, v)))
		})
		return grads
	})
}

// TestELUBackwardMatchesComposition: ELU's recorded backward rule is one
// operation (eluBackward); a score-matching loss on a network of ELUs
// differentiates it once more. The parameters' gradients must have the
// bits of the rule written as its composition, at second order (the
// score's loss) and third (its Hessian-vector product, differentiated).
func TestELUBackwardMatchesComposition(t *testing.T) {
	eluByParts := func(x *Value) *Value {
		return unary(tensor.FELU, x, func(g, x, out *Value) *Value {
			pos := tensor.Apply(tensor.FStep, x.t)
			neg := Const(tensor.Affine(pos, -1, 1))
			return Mul(g, Add(Const(pos), Mul(neg, AddScalar(out, 1))))
		})
	}
	rng := tensor.NewRNG(9)
	const b, d, h = 23, 30, 40
	v0 := rng.Normal(tensor.Float32, 0, 1, b, d)
	u0 := rng.Rademacher(tensor.Float32, b, d)
	w0 := rng.Normal(tensor.Float32, 0, 0.3, d, h)
	a0 := rng.Normal(tensor.Float32, 0, 1, h)
	sameGradsAsComposition(t, []int{2, 3}, func(a *tensor.Arena, fused bool, order int) (grads [][]float32) {
		elu := eluByParts
		if fused {
			elu = ELU
		}
		inStep(a, func() {
			w, av, v := Var(w0.InArena(a)), Var(a0.InArena(a)), Var(v0.InArena(a))
			energy := func(v *Value) *Value { return Sum(Mul(elu(MatMul(v, w, false, false)), av), false, -1) }
			score := Neg(Grad(SumAll(energy(v)), []*Value{v}, CreateGraph())[0])
			loss := SumAll(Square(score))
			if order == 3 {
				u := Const(u0.InArena(a))
				hu := Grad(score, []*Value{v}, CreateGraph(), Cotangent(u))[0]
				loss = Add(loss, SumAll(Mul(hu, u)))
			}
			grads = float32s(Grad(loss, []*Value{w, av, v}))
		})
		return grads
	})
}

// TestRelaxedBernoulliMatchesComposition: a relaxed Bernoulli posterior's
// sample (SigmoidScaledSum) and log-density (BernoulliLogProb) stand for
// Sigmoid(Scale(Add(l, g), 1/τ)) and Sum(Sub(Mul(h, l), Softplus(l)),
// false, -1) in the bi-level objectives' inner loss E(v, h) + log q(h|v).
// The gradients training takes through them must have the compositions'
// bits: the inner loss's φ-gradient at first order (the K inner steps),
// and, with that gradient recorded, a loss of it differentiated once more
// (the unrolled steps), with respect to φ and θ.
func TestRelaxedBernoulliMatchesComposition(t *testing.T) {
	rng := tensor.NewRNG(10)
	const b, d, h = 21, 30, 40
	v0 := rng.Normal(tensor.Float32, 0, 1, b, d)
	g0 := rng.Logistic(tensor.Float32, b, h)
	a0 := rng.Normal(tensor.Float32, 0, 0.3, d, h) // φ
	w0 := rng.Normal(tensor.Float32, 0, 0.3, d, h) // θ
	sameGradsAsComposition(t, []int{1, 2}, func(a *tensor.Arena, fused bool, order int) (grads [][]float32) {
		sample := func(l, g *Value, a float64) *Value { return Sigmoid(Scale(Add(l, g), a)) }
		logProb := func(l, h *Value) *Value { return Sum(Sub(Mul(h, l), Softplus(l)), false, -1) }
		if fused {
			sample, logProb = SigmoidScaledSum, BernoulliLogProb
		}
		inStep(a, func() {
			phi, theta, v := Var(a0.InArena(a)), Var(w0.InArena(a)), Const(v0.InArena(a))
			l := MatMul(v, phi, false, false)
			hs := sample(l, Const(g0.InArena(a)), 10)
			energy := Neg(Sum(Mul(MatMul(v, theta, false, false), hs), false, -1))
			inner := Mean(Add(energy, logProb(l, hs)), false)
			if order == 1 {
				grads = float32s(Grad(inner, []*Value{phi, theta}))
				return
			}
			gphi := Grad(inner, []*Value{phi}, CreateGraph())[0]
			grads = float32s(Grad(SumAll(Square(gphi)), []*Value{phi, theta}))
		})
		return grads
	})
}

// TestMatMulAddVJP: a weight used in two products (a step's two phases)
// gets the second product added to its gradient by the matrix kernels
// (tensor.MatMulAddInPlace) when the first-order pass owns the gradient,
// with the bits of the rule's product added after; on the heap, where the
// pass owns no first contribution, the rule runs.
func TestMatMulAddVJP(t *testing.T) {
	rng := tensor.NewRNG(12)
	x10, x20 := rng.Normal(tensor.Float32, 0, 1, 100, 56), rng.Normal(tensor.Float32, 0, 1, 100, 56)
	w0 := rng.Normal(tensor.Float32, 0, 0.3, 56, 40)
	addedOnce(t, func(a *tensor.Arena, counted func(*Value) *Value) (grad []float32) {
		inStep(a, func() {
			w := Var(w0.InArena(a))
			y1 := counted(MatMul(Const(x10.InArena(a)), w, false, false))
			y2 := counted(MatMul(Const(x20.InArena(a)), w, false, false))
			loss := Add(SumAll(Tanh(y1)), SumAll(Sigmoid(y2)))
			grad = Grad(loss, []*Value{w})[0].Tensor().F32()
		})
		return grad
	})
}

// TestLinearMatchesComposition: a dense layer's pre-activation is one
// operation (Linear) standing for Add(MatMul(x, w), b). A score-matching
// loss on a small ELU network of such layers, one of them as wide as a
// Frey posterior's (so that its product takes the packed, split paths),
// must give the composition's bits for every parameter and the input at
// first order, second (a loss on the score) and third (its Hessian-vector
// product, differentiated once more).
func TestLinearMatchesComposition(t *testing.T) {
	rng := tensor.NewRNG(13)
	x0 := rng.Normal(tensor.Float32, 0, 1, 100, 56)
	u0 := rng.Rademacher(tensor.Float32, 100, 56)
	p0 := []*tensor.Tensor{
		rng.Normal(tensor.Float32, 0, 0.2, 56, 400), rng.Normal(tensor.Float32, 0, 1, 400),
		rng.Normal(tensor.Float32, 0, 0.1, 400, 7), rng.Normal(tensor.Float32, 0, 1, 7),
	}
	sameGradsAsComposition(t, []int{1, 2, 3}, func(a *tensor.Arena, fused bool, order int) (grads [][]float32) {
		layer := func(x, w, b *Value) *Value { return Add(MatMul(x, w, false, false), b) }
		if fused {
			layer = Linear
		}
		return scoreLossGrads(a, order, x0, u0, p0, func(x *Value, ps []*Value) *Value {
			h := ELU(layer(x, ps[0], ps[1]))
			return SumAll(Square(layer(h, ps[2], ps[3])))
		})
	})
}

// TestConv2dBiasMatchesComposition: a convolution layer's output with its
// bias is one operation (Conv2dBias) standing for Add(Conv2d(x, w),
// Reshape(b, O, 1, 1)). A score-matching loss on a small ELU network of
// such layers (same-size, strided and 1x1, as a ResNet's blocks have) must
// give the composition's bits for every parameter, at first order (the
// loss itself), second (a loss on the score -∂E/∂x, as MDSM) and third (its
// Hessian-vector product, differentiated once more).
func TestConv2dBiasMatchesComposition(t *testing.T) {
	rng := tensor.NewRNG(11)
	x0 := rng.Normal(tensor.Float32, 0, 1, 5, 2, 8, 8)
	u0 := rng.Rademacher(tensor.Float32, 5, 2, 8, 8)
	p0 := []*tensor.Tensor{
		rng.Normal(tensor.Float32, 0, 0.3, 4, 2, 3, 3), rng.Normal(tensor.Float32, 0, 1, 4),
		rng.Normal(tensor.Float32, 0, 0.3, 6, 4, 3, 3), rng.Normal(tensor.Float32, 0, 1, 6),
		rng.Normal(tensor.Float32, 0, 0.3, 3, 6, 1, 1), rng.Normal(tensor.Float32, 0, 1, 3),
	}
	sameGradsAsComposition(t, []int{1, 2, 3}, func(a *tensor.Arena, fused bool, order int) (grads [][]float32) {
		layer := func(x, w, b *Value, stride, pad int) *Value {
			return Add(Conv2d(x, w, stride, pad), Reshape(b, b.Shape()[0], 1, 1))
		}
		if fused {
			layer = Conv2dBias
		}
		return scoreLossGrads(a, order, x0, u0, p0, func(x *Value, ps []*Value) *Value {
			h := ELU(layer(x, ps[0], ps[1], 1, 1))
			h = ELU(layer(h, ps[2], ps[3], 2, 1))
			return SumAll(Square(layer(h, ps[4], ps[5], 1, 0)))
		})
	})
}

// scoreLossGrads returns, in a's Step (the heap when a is nil), the
// gradients for the parameters p0 and the input x0 of a loss on
// energy(x, ps) at the given order: the energy itself (1), the squared
// score -∂E/∂x as MDSM's loss (2), plus the score's Hessian-vector
// product with u0, differentiated once more (3).
func scoreLossGrads(a *tensor.Arena, order int, x0, u0 *tensor.Tensor, p0 []*tensor.Tensor, energy func(x *Value, ps []*Value) *Value) (grads [][]float32) {
	inStep(a, func() {
		ps := make([]*Value, len(p0))
		for i, p := range p0 {
			ps[i] = Var(p.InArena(a))
		}
		x := Var(x0.InArena(a))
		loss := energy(x, ps)
		if order > 1 {
			score := Neg(Grad(energy(x, ps), []*Value{x}, CreateGraph())[0])
			loss = SumAll(Square(score))
			if order == 3 {
				u := Const(u0.InArena(a))
				hvp := Grad(score, []*Value{x}, CreateGraph(), Cotangent(u))[0]
				loss = Add(loss, SumAll(Mul(hvp, u)))
			}
		}
		grads = float32s(Grad(loss, append(ps, x)))
	})
	return grads
}
