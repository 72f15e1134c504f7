package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMathMatchesScalar checks the vector kernels against the scalar
// float32 functions (and float64 math) on random and special inputs.
func TestVecMathMatchesScalar(t *testing.T) {
	if !hasVecMath {
		t.Skip("no vector kernels on this CPU/build")
	}
	r := rand.New(rand.NewPCG(1, 2))
	var xs []float32
	for i := 0; i < 20000; i++ {
		switch i % 4 {
		case 0:
			xs = append(xs, float32(r.NormFloat64()*3))
		case 1:
			xs = append(xs, float32(r.NormFloat64()*60))
		case 2:
			xs = append(xs, float32((r.Float64()*2-1)*200))
		default:
			xs = append(xs, float32(math.Exp((r.Float64()*2-1)*90)))
		}
	}
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	xs = append(xs, 0, float32(math.Copysign(0, -1)), inf, -inf, nan, 1e-40, 1.4e-45, -1e-40, 88.72283, 88.7229, -87.3, -87.31,
		-88, 89, 1, -1, 1e-8, -1e-8, 3.4e38, -3.4e38, 0.5, 2, 1.4142135, 1.4142137)
	for len(xs)%16 != 0 {
		xs = append(xs, 0.25)
	}
	cases := []struct {
		name   string
		vec    func(d, x []float32) int
		scalar func(float32) float32
		exact  func(float64) float64
	}{
		{"exp", vecExp, exp32, math.Exp},
		{"log", vecLog, log32, math.Log},
		{"sigmoid", vecSigmoid, sigmoid32, func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }},
		{"softplus", vecSoftplus, softplus32, func(x float64) float64 {
			return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
		}},
	}
	for _, c := range cases {
		d := make([]float32, len(xs))
		if n := c.vec(d, xs); n != len(xs) {
			t.Fatalf("%s: vector kernel did %d of %d", c.name, n, len(xs))
		}
		for i, x := range xs {
			got, want := d[i], c.scalar(x)
			if math.IsNaN(float64(want)) {
				if !math.IsNaN(float64(got)) {
					t.Fatalf("%s(%v) = %v, want NaN", c.name, x, got)
				}
				continue
			}
			if math.IsInf(float64(want), 0) || want == 0 {
				if got != want {
					t.Fatalf("%s(%v) = %v, want %v", c.name, x, got, want)
				}
				continue
			}
			if got != 0 && math.Abs(float64(got)) < 1.1754944e-38 {
				t.Fatalf("%s(%v) = %v is subnormal", c.name, x, got)
			}
			// Within a few float32 ulps of the exact value (as the scalar).
			ex := c.exact(float64(x))
			if rel := math.Abs(float64(got)-ex) / math.Abs(ex); rel > 4e-7 && !(want == 0 || math.Abs(ex) < 1.2e-38) {
				t.Fatalf("%s(%v) = %v, exact %v (rel. error %.2g; scalar %v)", c.name, x, got, ex, rel, want)
			}
		}
	}
}

// TestVecBinaryMatchesScalar checks binRow's vector kernels bit for bit
// against the scalar definition (IEEE +, -, *, / are exactly rounded), for
// every operation, operand layout and length around the 16- and 32-lane
// boundaries.
func TestVecBinaryMatchesScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 100; n++ {
		a, b := make([]float32, n+1), make([]float32, n+1)
		for i := range a {
			a[i], b[i] = float32(r.NormFloat64()), float32(r.NormFloat64()+0.1)
		}
		for _, op := range []binOp{opAdd, opSub, opMul, opDiv} {
			for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}} {
				sa, sb := st[0], st[1]
				d := make([]float32, n)
				binRow(op, d, a, b, n, sa, sb)
				for i := range d {
					x, y := a[i*sa], b[i*sb]
					var want float32
					switch op {
					case opAdd:
						want = x + y
					case opSub:
						want = x - y
					case opMul:
						want = x * y
					case opDiv:
						want = x / y
					}
					if d[i] != want {
						t.Fatalf("n=%d op=%v strides=%v: element %d = %v, want %v", n, op, st, i, d[i], want)
					}
				}
			}
		}
	}
}

// TestVecAxpyDot checks the fused kernels against float64 arithmetic, for
// lengths around the 16-, 32- and 64-lane boundaries.
func TestVecAxpyDot(t *testing.T) {
	if !hasVecMath {
		t.Skip("no vector kernels on this CPU/build")
	}
	r := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 200; n++ {
		x, y := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		var want, scale float64
		for i := range x {
			want += float64(x[i]) * float64(y[i])
			scale += math.Abs(float64(x[i]) * float64(y[i]))
		}
		got, k := vecDot(x, y)
		for i := k; i < n; i++ {
			got += x[i] * y[i]
		}
		if k != n&^15 || math.Abs(float64(got)-want) > 1e-6*(scale+1) {
			t.Fatalf("n=%d: dot %v (vector part %d), want %v", n, got, k, want)
		}
		z := append([]float32(nil), y...)
		k = vecAxpy(z, 0.7, x)
		if k != n&^15 {
			t.Fatalf("n=%d: axpy did %d", n, k)
		}
		for i := 0; i < k; i++ {
			if w := 0.7*float64(x[i]) + float64(y[i]); math.Abs(float64(z[i])-w) > 1e-6*(math.Abs(w)+1) {
				t.Fatalf("n=%d: axpy[%d] = %v, want %v", n, i, z[i], w)
			}
		}
		for i := k; i < n; i++ {
			if z[i] != y[i] {
				t.Fatalf("n=%d: axpy wrote past its prefix at %d", n, i)
			}
		}
	}
}

// TestVecELU checks the ELU kernels against the scalar definitions: the
// forward pass within float32 round-off of exp32(x) - 1 (absolute near 0,
// where both cancel), NaN kept, and the gradient bit for bit.
func TestVecELU(t *testing.T) {
	if !hasVecMath {
		t.Skip("no vector kernels on this CPU/build")
	}
	r := rand.New(rand.NewPCG(3, 4))
	xs := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		1e-40, -1e-40, -87.3, -87.31, -100, 89, 100, 3.4e38, -3.4e38, -1e-8, 1e-8}
	for len(xs) < 4096 {
		xs = append(xs, float32(r.NormFloat64()*[]float64{0.01, 1, 10}[len(xs)%3]))
	}
	d := make([]float32, len(xs))
	if n := vecELU(d, xs); n != len(xs) {
		t.Fatalf("vector kernel did %d of %d", n, len(xs))
	}
	for i, x := range xs {
		want := x
		if !(x > 0) {
			want = exp32(x) - 1
		}
		got := d[i]
		if math.IsNaN(float64(want)) != math.IsNaN(float64(got)) ||
			!math.IsNaN(float64(want)) && math.Abs(float64(got-want)) > 2.5e-7*math.Max(1, math.Abs(float64(want))) {
			t.Fatalf("elu(%v) = %v, want %v", x, got, want)
		}
	}
	g := make([]float32, len(xs))
	for i := range g {
		g[i] = float32(r.NormFloat64())
	}
	y := d
	dg := make([]float32, len(xs)-5) // a length that is not a multiple of 16
	n := vecELUGrad(dg, g, xs, y)
	if n != len(dg)&^15 {
		t.Fatalf("gradient kernel did %d of %d", n, len(dg))
	}
	for i := 0; i < n; i++ {
		want := g[i]
		if !(xs[i] > 0) {
			want = g[i] * (y[i] + 1)
		}
		if math.Float32bits(dg[i]) != math.Float32bits(want) && !(math.IsNaN(float64(want)) && math.IsNaN(float64(dg[i]))) {
			t.Fatalf("elu'(%v)·%v = %v, want %v", xs[i], g[i], dg[i], want)
		}
	}
}

// TestFusedOptimizerKernelsBitExact checks that the vector kernels of the
// optimizer's steps (affine, linear combination, Adam direction and its
// gradient, Adam update) give bit for bit the scalar loops' results, on
// random values, zeros (v = 0 takes the special branch of the direction's
// gradient), tiny and huge values, for lengths around the 16-lane boundary.
func TestFusedOptimizerKernelsBitExact(t *testing.T) {
	if !hasVecMath {
		t.Skip("no vector kernels on this CPU/build")
	}
	r := rand.New(rand.NewPCG(7, 8))
	val := func(i int) float32 {
		switch i % 7 {
		case 0:
			return 0
		case 1:
			return float32(r.NormFloat64() * 1e-20)
		case 2:
			return float32(r.NormFloat64() * 1e20)
		default:
			return float32(r.NormFloat64())
		}
	}
	same := func(name string, n int, got, want []float32) {
		t.Helper()
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s n=%d: element %d = %v, want %v", name, n, i, got[i], want[i])
			}
		}
	}
	for n := 0; n <= 70; n++ {
		x, y, g := make([]float32, n), make([]float32, n), make([]float32, n)
		m, v := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], y[i], g[i], m[i] = val(i), val(i+1), val(i+2), val(i+3)
			v[i] = float32(math.Abs(float64(val(i + 4))))
			if v[i] == 0 {
				m[i] = 0
			}
		}
		const a, b, eps = float32(0.3), float32(-1.7), float32(1e-8)

		d, want := make([]float32, n), make([]float32, n)
		k := vecAffine(d, x, a, b)
		for i := range want {
			want[i] = a*x[i] + b
		}
		same("affine", n, d[:k], want[:k])

		k = vecLinComb(d, a, x, b, y)
		for i := range want {
			want[i] = a*x[i] + b*y[i]
		}
		same("linComb", n, d[:k], want[:k])

		k = vecAdamDir(d, m, v, eps)
		for i := range want {
			want[i] = m[i] / (float32(math.Sqrt(float64(v[i]))) + eps)
		}
		same("adamDir", n, d[:k], want[:k])

		gm, gv := make([]float32, n), make([]float32, n)
		wm, wv := make([]float32, n), make([]float32, n)
		k = vecAdamDirGrad(gm, gv, g, m, v, eps)
		for i := 0; i < k; i++ {
			s := float32(math.Sqrt(float64(v[i])))
			r := 1 / (s + eps)
			wm[i], wv[i] = g[i]*r, 0
			if s != 0 {
				wv[i] = -g[i] * m[i] * r * r / (2 * s)
			}
		}
		same("adamDirGrad m", n, gm[:k], wm[:k])
		same("adamDirGrad v", n, gv[:k], wv[:k])

		const b1, b2, step = float32(0.9), float32(0.999), float32(1e-3)
		const c2, negStep = 1 - b2, -step

		k = vecAdamSecondMoment(d, v, g, b2, c2)
		for i := range want {
			want[i] = b2*v[i] + c2*(g[i]*g[i])
		}
		same("adamSecondMoment", n, d[:k], want[:k])

		gg, wg := make([]float32, n), make([]float32, n)
		const c1 = 1 - b1
		k = vecAdamMomentsGrad(gm, gv, gg, y, x, g, b1, c1, b2, c2)
		var zero float32
		for i := range want {
			wm[i], wv[i] = b1*y[i]+zero, b2*x[i]
			wg[i] = 2*(c2*x[i])*g[i] + (c1*y[i] + zero)
		}
		same("adamMomentsGrad m", n, gm[:k], wm[:k])
		same("adamMomentsGrad v", n, gv[:k], wv[:k])
		same("adamMomentsGrad g", n, gg[:k], wg[:k])

		k = vecAdamApply(d, x, m, v, negStep, eps)
		for i := range want {
			want[i] = x[i] + negStep*(m[i]/(float32(math.Sqrt(float64(v[i])))+eps))
		}
		same("adamApply", n, d[:k], want[:k])

		k = vecAdamApplyGrad(gm, gv, g, m, v, negStep, eps)
		for i := range wm {
			dd := negStep * g[i]
			s := float32(math.Sqrt(float64(v[i])))
			r := 1 / (s + eps)
			wm[i], wv[i] = dd*r, 0
			if s != 0 {
				wv[i] = -dd * m[i] * r * r / (2 * s)
			}
		}
		same("adamApplyGrad m", n, gm[:k], wm[:k])
		same("adamApplyGrad v", n, gv[:k], wv[:k])
		xs, ms, vs := append([]float32(nil), x...), append([]float32(nil), m...), append([]float32(nil), v...)
		k = vecAdamUpdate(x, g, m, v, b1, b2, eps, step)
		for j := 0; j < k; j++ {
			gj := g[j]
			ms[j] = b1*ms[j] + (1-b1)*gj
			vs[j] = b2*vs[j] + (1-b2)*gj*gj
			xs[j] -= step * ms[j] / (float32(math.Sqrt(float64(vs[j]))) + eps)
		}
		same("adamUpdate x", n, x, xs)
		same("adamUpdate m", n, m, ms)
		same("adamUpdate v", n, v, vs)
		if k != n&^15 {
			t.Fatalf("n=%d: kernels did %d elements, want %d", n, k, n&^15)
		}
	}
}

// TestVecNegSquareBitExact checks the vector negation and square against
// the scalar loops bit for bit (signed zeros, subnormals, infinities), at
// lengths with and without a tail.
func TestVecNegSquareBitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 15, 16, 17, 100, 1027} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 10)
		}
		specials := []float32{0, float32(math.Copysign(0, -1)), 1e-40, -1.4e-45, float32(math.Inf(1)), float32(math.Inf(-1)), 3.4e38}
		for i, v := range specials {
			x[(i*7)%n] = v
		}
		for _, f := range []UnaryFunc{FNeg, FSquare} {
			want := make([]float32, n)
			unaryRow(f, want, x)
			got := make([]float32, n)
			fast32[f](got, x)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%v, n=%d: element %d of %g: %g (bits %#x), want %g (bits %#x)",
						f, n, i, x[i], got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
				}
			}
		}
	}
}

// TestVecUnaryGradBitExact checks unaryGrad's float32 vector kernels
// against the scalar formulas bit for bit, at lengths with and without a
// tail.
func TestVecUnaryGradBitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	scalar := map[UnaryFunc]func(g, x, y float32) float32{
		FExp:     func(g, x, y float32) float32 { return g * y },
		FLog:     func(g, x, y float32) float32 { return g / x },
		FSqrt:    func(g, x, y float32) float32 { return g * 0.5 / y },
		FSquare:  func(g, x, y float32) float32 { return 2 * g * x },
		FSigmoid: func(g, x, y float32) float32 { return g * y * (1 - y) },
		FTanh:    func(g, x, y float32) float32 { return g * (1 - y*y) },
	}
	// Softplus' derivative is the sigmoid (vector kernel where it runs)
	// times g: check it against that sigmoid, so y is the sigmoid here.
	scalar[FSoftplus] = func(g, x, s float32) float32 { return s * g }
	for f, want := range scalar {
		for _, n := range []int{1, 15, 16, 17, 100, 1027} {
			g, x, y, d := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
			for i := range x {
				g[i] = float32(r.NormFloat64() * 3)
				x[i] = float32(r.NormFloat64() * 4)
				if f == FLog || f == FSqrt {
					x[i] = float32(math.Abs(float64(x[i]))) + 1e-3
				}
			}
			g[0], g[n/2] = 1e-40, float32(math.Copysign(0, -1))
			applyUnary(f, y, x)
			unaryGrad(f, d, g, x, y)
			if f == FSoftplus {
				y = make([]float32, n)
				applyUnary(FSigmoid, y, x)
			}
			for i := range d {
				w := want(g[i], x[i], y[i])
				if math.Float32bits(d[i]) != math.Float32bits(w) {
					t.Fatalf("%v, n=%d: element %d (g %g, x %g, y %g): %g, want %g", f, n, i, g[i], x[i], y[i], d[i], w)
				}
			}
		}
	}
}

// TestPackedAdamMatchesUnfused: the packed moments' operations give, bit
// for bit, what the unfused operations the unrolled Adam steps were made
// of give (two LinCombs for the moments, their backward passes' scalings
// and the sum of g's two cotangents, the parameter update on each half;
// -0 cotangents included, where a scaling's +0 shows), both dtypes, with
// and without a vector tail.
func TestPackedAdamMatchesUnfused(t *testing.T) {
	rng := NewRNG(3)
	// Variables, not constants: 1-b1 is then computed in float64, as the
	// optimizer computes it (a constant 1-0.9 would be exactly 0.1).
	b1, b2, step, eps := 0.9, 0.999, 0.0137, 1e-8
	for _, dt := range []DType{Float32, Float64} {
		for _, n := range []int{5, 37, 1000} {
			g, x, um, uv, up := rng.Normal(dt, 0, 1, n), rng.Normal(dt, 0, 1, n), rng.Normal(dt, 0, 1, n), rng.Normal(dt, 0, 1, n), rng.Normal(dt, 0, 1, n)
			m, v := rng.Normal(dt, 0, 0.1, n), Square(rng.Normal(dt, 0, 0.1, n))
			negZero := math.Copysign(0, -1)
			um.SetFlat(1, negZero)
			uv.SetFlat(2, negZero)
			pack := func(a, b *Tensor) *Tensor {
				s := New(dt, 2, n)
				for i := range n {
					s.SetFlat(i, a.Flat(i))
					s.SetFlat(n+i, b.Flat(i))
				}
				return s
			}
			scalar := func(c float64) *Tensor { return Full(dt, c) }
			name := fmt.Sprintf("%v n=%d", dt, n)
			s := pack(m, v)
			sameBits(t, name+" moments", AdamMomentsPacked(s, g, b1, b2), pack(LinComb(b1, m, 1-b1, g), LinComb(b2, v, 1-b2, Square(g))))

			// The second moment's backward pass: b2 U_v and 2 ((1-b2) U_v) g,
			// products without a scaling's +0.
			c2 := float64(float32(1 - b2))
			if dt == Float64 {
				c2 = 1 - b2
			}
			gv := Mul(uv, scalar(b2))
			ggV := Mul(Mul(scalar(2), Mul(scalar(c2), uv)), g)
			gs, gg := AdamMomentsPackedGrad(pack(um, uv), g, b1, b2)
			sameBits(t, name+" moments' gradient for s", gs, pack(Scale(um, b1), gv))
			sameBits(t, name+" moments' gradient for g", gg, Add(ggV, Scale(um, 1-b1)))

			// x + (-step) (m / (sqrt(v) + eps)).
			sameBits(t, name+" apply", AdamApplyPacked(x, s, step, eps), Add(x, Mul(scalar(-step), Div(m, AddScalar(Sqrt(v), eps)))))
			gm3, gv3 := New(dt, n), New(dt, n)
			if dt == Float32 {
				adamApplyGrad(gm3.f32, gv3.f32, up.f32, m.f32, v.f32, float32(-step), float32(eps))
			} else {
				adamApplyGrad(gm3.f64, gv3.f64, up.f64, m.f64, v.f64, -step, eps)
			}
			sameBits(t, name+" apply's gradient", AdamApplyPackedGrad(up, s, step, eps), pack(gm3, gv3))
		}
	}
}

// TestVecCompareBitExact: the step, ReLU and LeakyReLU kernels (masked
// moves on v > 0) give the scalar loops' bits, NaN, ±0, ±Inf and
// subnormals included, at lengths with and without a tail.
func TestVecCompareBitExact(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	specials := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, -1e-40}
	for _, n := range []int{1, 16, 17, 100, 1027} {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		for i, v := range specials {
			x[(i*5)%n] = v
		}
		check := func(name string, got, want []float32) {
			t.Helper()
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s, n=%d: element %d of %g: %g, want %g", name, n, i, x[i], got[i], want[i])
				}
			}
		}
		for _, f := range []UnaryFunc{FStep, FReLU} {
			got, want := make([]float32, n), make([]float32, n)
			fast32[f](got, x)
			unaryRow(f, want, x)
			check(f.String(), got, want)
		}
		got, want := make([]float32, n), make([]float32, n)
		leaky(got, x, 0.2)
		for i, v := range x {
			if v > 0 {
				want[i] = v
			} else {
				want[i] = 0.2 * v
			}
		}
		check("LeakyReLU", got, want)
	}
}
