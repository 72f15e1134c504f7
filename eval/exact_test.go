package eval

import (
	"math"
	"strings"
	"testing"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

const f64 = tensor.Float64

// tinyGRBM returns a GRBM with weights large enough that the hidden units
// matter, and non-trivial b, c and σ.
func tinyGRBM(d, h int, scalar bool, seed uint64, dt tensor.DType) *model.GRBM {
	rng := tensor.NewRNG(seed)
	m := model.NewGRBM(d, h, scalar, rng, dt)
	p := m.Params()
	p.Get("W").CopyFrom(rng.Uniform(dt, -1.2, 1.2, d, h))
	p.Get("b").CopyFrom(rng.Uniform(dt, -0.5, 0.5, d))
	p.Get("c").CopyFrom(rng.Uniform(dt, -1, 1, h))
	ls := p.Get("log_sigma")
	ls.CopyFrom(rng.Uniform(dt, -0.3, 0.3, ls.Shape()...))
	return m
}

// grid returns the points of a regular grid over [lo,hi]^d (n per axis) and
// the volume of one cell.
func grid(d, n int, lo, hi float64) (*tensor.Tensor, float64) {
	step := (hi - lo) / float64(n-1)
	total := 1
	for i := 0; i < d; i++ {
		total *= n
	}
	x := tensor.New(f64, total, d)
	xs := x.F64()
	for p := 0; p < total; p++ {
		q := p
		for i := d - 1; i >= 0; i-- {
			xs[p*d+i] = lo + step*float64(q%n)
			q /= n
		}
	}
	return x, math.Pow(step, float64(d))
}

func logSumExp(xs []float64) float64 {
	mx := math.Inf(-1)
	for _, x := range xs {
		mx = math.Max(mx, x)
	}
	s := 0.0
	for _, x := range xs {
		s += math.Exp(x - mx)
	}
	return mx + math.Log(s)
}

func TestExactLogZAgainstNumericalIntegration(t *testing.T) {
	for _, c := range []struct {
		d, h   int
		scalar bool
		n      int
	}{
		{1, 2, false, 4001}, {1, 3, true, 4001}, {2, 2, false, 641}, {2, 2, true, 641},
	} {
		m := tinyGRBM(c.d, c.h, c.scalar, uint64(10*c.d+c.h), f64)
		logZ, err := ExactLogZ(m)
		if err != nil {
			t.Fatal(err)
		}
		// The Riemann sum of a smooth, rapidly decaying integrand on a fine
		// grid is accurate to far below the tolerance.
		x, cell := grid(c.d, c.n, -16, 16)
		numeric := logSumExp(LogProbs(m, x, 0)) + math.Log(cell) // log ∫ exp(-F)
		t.Logf("D=%d H=%d scalar=%v: |diff| %.2e", c.d, c.h, c.scalar, math.Abs(numeric-logZ))
		if math.Abs(numeric-logZ) > 1e-7 {
			t.Errorf("D=%d H=%d scalar=%v: exact log Z %.10f, numerical %.10f", c.d, c.h, c.scalar, logZ, numeric)
		}
	}
}

func TestExactLogZFloat32MatchesFloat64(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		m64 := tinyGRBM(2, 4, scalar, 3, f64)
		m32 := tinyGRBM(2, 4, scalar, 3, tensor.Float32)
		for _, n := range m64.Params().Names() {
			m32.Params().Get(n).CopyFrom(m64.Params().Get(n).As(tensor.Float32))
		}
		a, _ := ExactLogZ(m64)
		b, _ := ExactLogZ(m32)
		if math.Abs(a-b) > 1e-5 {
			t.Errorf("scalar=%v: float64 %v, float32 %v", scalar, a, b)
		}
	}
}

func TestExactLogZRefusesLargeH(t *testing.T) {
	m := model.NewGRBM(2, MaxExactHidden+1, false, tensor.NewRNG(1), tensor.Float32)
	if _, err := ExactLogZ(m); err == nil || !strings.Contains(err.Error(), "AIS") {
		t.Fatalf("want an error pointing to AIS, got %v", err)
	}
}

// A density must integrate to one: ∫ exp(-F(v) - log Z) dv = 1.
func TestLogLikelihoodIsNormalised(t *testing.T) {
	for _, scalar := range []bool{false, true} {
		m := tinyGRBM(1, 2, scalar, 7, f64)
		logZ, err := ExactLogZ(m)
		if err != nil {
			t.Fatal(err)
		}
		x, cell := grid(1, 3001, -15, 15) // 3001 rows: exercises the chunking
		lp := LogProbs(m, x, logZ)
		mass := 0.0
		for _, l := range lp {
			mass += math.Exp(l) * cell
		}
		if math.Abs(mass-1) > 1e-8 {
			t.Errorf("scalar=%v: density integrates to %.12f", scalar, mass)
		}
		mean := 0.0
		for _, l := range lp {
			mean += l
		}
		mean /= float64(len(lp))
		if ll := LogLikelihood(m, x, logZ); math.Abs(ll-mean) > 1e-9*math.Abs(mean) {
			t.Errorf("scalar=%v: LogLikelihood %v, mean of LogProbs %v", scalar, ll, mean)
		}
	}
}
