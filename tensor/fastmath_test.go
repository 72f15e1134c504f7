package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestFast32 compares the float32 kernels with float64 references over a
// wide range, in relative error (absolute near zero).
func TestFast32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		f    func(float32) float32
		ref  func(float64) float64
		lo   float64
		hi   float64
	}{
		{"exp", exp32, math.Exp, -87, 88},
		{"log", log32, math.Log, 1e-30, 1e30},
		{"log-near-1", log32, math.Log, 0.5, 2},
		{"log1p", log1p32, math.Log1p, -0.999, 1e6},
		{"log1p-small", log1p32, math.Log1p, -1e-3, 1e-3},
		{"sigmoid", sigmoid32, sigmoid, -50, 50},
		{"softplus", softplus32, softplus, -80, 80},
		{"tanh", tanh32, math.Tanh, -12, 12},
	}
	for _, c := range cases {
		worst := 0.0
		for i := 0; i < 200000; i++ {
			var x float64
			if c.name == "log" {
				x = math.Exp(math.Log(c.lo) + r.Float64()*(math.Log(c.hi)-math.Log(c.lo)))
			} else {
				x = c.lo + r.Float64()*(c.hi-c.lo)
			}
			x32 := float32(x)
			got := float64(c.f(x32))
			want := c.ref(float64(x32))
			err := math.Abs(got-want) / math.Max(math.Abs(want), 1e-30)
			if math.Abs(want) < 1e-6 {
				err = math.Abs(got - want)
			}
			worst = math.Max(worst, err)
		}
		if worst > 4e-7 {
			t.Errorf("%s: worst relative error %.3g", c.name, worst)
		}
		t.Logf("%s: worst relative error %.3g", c.name, worst)
	}
	// Special values.
	if !math.IsInf(float64(exp32(100)), 1) || exp32(-200) != 0 || !math.IsNaN(float64(log32(-1))) || !math.IsInf(float64(log32(0)), -1) {
		t.Fatal("special values")
	}
	if sigmoid32(-200) != 0 || sigmoid32(200) != 1 || softplus32(200) != 200 {
		t.Fatal("saturation")
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float32, 40000)
	d := make([]float32, 40000)
	for i := range x {
		x[i] = float32(i%200)/20 - 5
	}
	b.Run("fast32", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			fast32[FExp](d, x)
		}
	})
	b.Run("math", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			unaryRow(FExp, d, x)
		}
	})
}

// TestUnaryGrad compares the fused first-order derivatives with central
// differences of the functions themselves, in float64.
func TestUnaryGrad(t *testing.T) {
	rng := NewRNG(3)
	for _, f := range []UnaryFunc{FExp, FLog, FSqrt, FSquare, FSigmoid, FSoftplus, FTanh, FELU} {
		x := rng.Uniform(Float64, 0.2, 2, 50)
		if f != FLog && f != FSqrt {
			x = rng.Uniform(Float64, -3, 3, 50)
		}
		g := rng.Normal(Float64, 0, 1, 50)
		d, ok := UnaryGrad(f, g, x, Apply(f, x))
		if !ok {
			t.Fatalf("%v: no fused gradient", f)
		}
		for i := 0; i < 50; i++ {
			const h = 1e-6
			xp, xm := FromValues(Float64, []float64{x.Flat(i) + h}, 1), FromValues(Float64, []float64{x.Flat(i) - h}, 1)
			fd := (Apply(f, xp).Item() - Apply(f, xm).Item()) / (2 * h) * g.Flat(i)
			if math.Abs(fd-d.Flat(i)) > 1e-6*math.Max(1, math.Abs(fd)) {
				t.Fatalf("%v at %v: fused %v, finite difference %v", f, x.Flat(i), d.Flat(i), fd)
			}
		}
	}
}
