package tensor

import (
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
