package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

func check(t *testing.T, name string, vec func(d, x []float32), scalar func(float32) float32, ref func(float64) float64, xs []float32) {
	t.Helper()
	d := make([]float32, len(xs))
	vec(d, xs)
	worst := 0.0
	for i, x := range xs {
		s := scalar(x)
		if math.IsNaN(float64(s)) != math.IsNaN(float64(d[i])) || (!math.IsNaN(float64(s)) && math.IsInf(float64(s), 0) != math.IsInf(float64(d[i]), 0)) {
			t.Fatalf("%s(%v): vector %v, scalar %v", name, x, d[i], s)
		}
		if math.IsNaN(float64(s)) || math.IsInf(float64(s), 0) {
			continue
		}
		want := ref(float64(x))
		err := math.Abs(float64(d[i])-want) / math.Max(math.Abs(want), 1e-30)
		if math.Abs(want) < 1e-6 {
			err = math.Abs(float64(d[i]) - want)
		}
		worst = math.Max(worst, err)
	}
	if worst > 3e-7 {
		t.Errorf("%s: worst relative error %.3g", name, worst)
	}
	t.Logf("%s: worst relative error %.3g (AVX2 %v)", name, worst, useAVX2)
}

func TestExpLog(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var xs, ls []float32
	for i := 0; i < 100003; i++ {
		xs = append(xs, float32(-100+r.Float64()*200))
		ls = append(ls, float32(math.Exp(-90+r.Float64()*180)))
	}
	special := []float32{0, -0, 1, -1, 88, 88.5, 88.72, 89, -87, -87.5, -100, -104, float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e-40, 1e-45, math.MaxFloat32, 1.17549435e-38}
	xs = append(special, xs...)
	ls = append(special, ls...)
	check(t, "exp", Exp, Exp32, math.Exp, xs)
	check(t, "log", Log, Log32, math.Log, ls)
}

func BenchmarkExp(b *testing.B) {
	x, d := make([]float32, 40000), make([]float32, 40000)
	for i := range x {
		x[i] = float32(i%200)/20 - 5
	}
	for i := 0; i < b.N; i++ {
		Exp(d, x)
	}
}

func BenchmarkLog(b *testing.B) {
	x, d := make([]float32, 40000), make([]float32, 40000)
	for i := range x {
		x[i] = float32(i%200)/20 + 0.01
	}
	for i := 0; i < b.N; i++ {
		Log(d, x)
	}
}
