package data

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestCheckerboardSplit(t *testing.T) {
	sp := CheckerboardSplit(1)
	if sp.Train.N != 60000 || sp.Test.N != 10000 || sp.Val != nil {
		t.Fatalf("sizes: train %d, test %d, val %v", sp.Train.N, sp.Test.N, sp.Val)
	}
	for _, s := range []*Set{sp.Train, sp.Test} {
		if !slices.Equal(s.Shape, []int{2}) || len(s.X) != 2*s.N || s.Labels != nil {
			t.Fatalf("bad set: shape %v, len %d, N %d", s.Shape, len(s.X), s.N)
		}
	}
	var sx, sy, sxy, lower float64
	s := sp.Train
	for i := range s.N {
		x, y := float64(s.X[2*i]), float64(s.X[2*i+1])
		if CheckerboardDensity(x, y) != 2 {
			t.Fatalf("point %d (%v, %v) is off the support", i, x, y)
		}
		sx += x
		sy += y
		sxy += x * y
		if x < 0.5 {
			lower++
		}
	}
	n := float64(s.N)
	// Marginals are U[0, 1): the mean's standard error is sqrt(1/12/n) ~ 0.0012.
	if math.Abs(sx/n-0.5) > 0.01 || math.Abs(sy/n-0.5) > 0.01 {
		t.Errorf("mean (%v, %v), want about (0.5, 0.5)", sx/n, sy/n)
	}
	// cov(x, y) = E[xy] - 1/4 = (1/16 + 9/16)/2 - 1/4 = 1/16.
	if cov := sxy/n - sx/n*sy/n; math.Abs(cov-1.0/16) > 0.005 {
		t.Errorf("cov = %v, want about 1/16", cov)
	}
	if f := lower / n; math.Abs(f-0.5) > 0.01 {
		t.Errorf("fraction in the lower corner %v, want about 0.5", f)
	}

	again := CheckerboardSplit(1)
	if !slices.Equal(again.Train.X, sp.Train.X) || !slices.Equal(again.Test.X, sp.Test.X) {
		t.Error("same seed gave different data")
	}
	if other := CheckerboardSplit(2); slices.Equal(other.Train.X[:100], sp.Train.X[:100]) {
		t.Error("different seeds gave the same data")
	}
}

func TestCheckerboardRNG(t *testing.T) {
	a := Checkerboard(100, rand.New(rand.NewPCG(3, 4)))
	b := Checkerboard(100, rand.New(rand.NewPCG(3, 4)))
	if a.N != 100 || !slices.Equal(a.X, b.X) {
		t.Error("Checkerboard is not a function of its rng")
	}
	if Checkerboard(0, rand.New(rand.NewPCG(1, 1))).N != 0 {
		t.Error("Checkerboard(0) not empty")
	}
}

func TestCheckerboardDensity(t *testing.T) {
	for _, c := range []struct{ x, y, want float64 }{
		{0.1, 0.2, 2}, {0.7, 0.9, 2}, {0, 0, 2}, {0.5, 0.5, 2},
		{0.1, 0.7, 0}, {0.7, 0.1, 0}, {1, 1, 0}, {-0.1, 0.1, 0}, {0.5, 0.4999, 0},
		{math.NaN(), 0.1, 0},
	} {
		if got := CheckerboardDensity(c.x, c.y); got != c.want {
			t.Errorf("density(%v, %v) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	// Midpoint rule on a 200x200 grid over [-0.5, 1.5)^2: integral 1.
	const k = 200
	var sum float64
	for i := range k {
		for j := range k {
			sum += CheckerboardDensity(-0.5+2*(float64(i)+0.5)/k, -0.5+2*(float64(j)+0.5)/k)
		}
	}
	if integral := sum * 4 / (k * k); math.Abs(integral-1) > 1e-9 {
		t.Errorf("density integrates to %v", integral)
	}
}
