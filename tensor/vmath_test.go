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
