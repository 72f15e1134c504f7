package objective

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// moments returns the mean and variance of t's elements.
func moments(t *tensor.Tensor) (mean, variance float64) {
	v := t.Values()
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(v))
}

// TestPerturbNoise checks the noise each objective draws: DSM's input is
// v + σε and MDSM's v + σ_i ε with ε standard normal and σ_i the example's
// level; SSM's projections are Rademacher (±1), or unit-variance Gaussian
// with GaussianSlices. A σ off by a factor, or Gaussian projections where
// Rademacher ones belong, fails here.
func TestPerturbNoise(t *testing.T) {
	const b, d = 400, 50 // 20,000 draws: the moments are known to about 1%
	v := tensor.NewRNG(1).Uniform(tensor.Float64, -1, 1, b, d)
	check := func(name string, o Outer, rowSigma func(i int) float64) {
		p := o.Perturb(v, tensor.NewRNG(2))
		if p.Eps == nil {
			t.Fatalf("%s: no noise recorded", name)
		}
		if m, s2 := moments(p.Eps); math.Abs(m) > 0.03 || math.Abs(s2-1) > 0.05 {
			t.Errorf("%s: ε has mean %.3f and variance %.3f, want 0 and 1", name, m, s2)
		}
		for i := 0; i < b; i++ {
			for j := 0; j < d; j++ {
				want := v.At(i, j) + rowSigma(i)*p.Eps.At(i, j)
				if got := p.X.At(i, j); math.Abs(got-want) > 1e-12 {
					t.Fatalf("%s: x[%d,%d] = %v, want v + σε = %v", name, i, j, got, want)
				}
			}
		}
	}
	check("DSM", Outer{Kind: DSM, Sigma: 0.3}, func(int) float64 { return 0.3 })
	for _, geo := range []bool{false, true} {
		o := Outer{Kind: MDSM, SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: geo}
		check("MDSM", o, func(i int) float64 {
			f := float64(i) / (b - 1)
			if geo {
				return 0.1 * math.Pow(30, f)
			}
			return 0.1 + f*2.9
		})
	}

	p := Outer{Kind: SSM}.Perturb(v, tensor.NewRNG(3))
	for _, u := range p.U.Values() {
		if u != 1 && u != -1 {
			t.Fatalf("SSM projection entry %v, want ±1 (Rademacher)", u)
		}
	}
	if m, _ := moments(p.U); math.Abs(m) > 0.03 {
		t.Errorf("SSM projections have mean %.3f, want 0", m)
	}
	if p.X != v {
		t.Error("SSM perturbs its input")
	}
	g := Outer{Kind: SSM, GaussianSlices: true}.Perturb(v, tensor.NewRNG(3))
	if m, s2 := moments(g.U); math.Abs(m) > 0.03 || math.Abs(s2-1) > 0.05 {
		t.Errorf("Gaussian projections have mean %.3f and variance %.3f, want 0 and 1", m, s2)
	}
}
