package eval

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// For a Gaussian marginal N(b, C) the Hessian of log p is A = -C⁻¹, so the
// per-row SSM term uᵀAu differs from SM's tr(A) by Σ_{i≠j} A_ij u_i u_j:
// mean zero, variance 2 Σ_{i≠j} A_ij² for Rademacher u.
func TestFisherSSMMatchesSM(t *testing.T) {
	const d, rows = 6, 3000
	rng := tensor.NewRNG(4)
	m := model.NewLinearGaussian(d, 3, rng, f64)
	x := rng.Normal(f64, 0.2, 1.3, rows, d)

	ssm := FisherSSM(m, x, 9)
	sm := scoreObjective(m, x, objective.Outer{Kind: objective.SM}, 0)

	prec := tensor.Inverse(m.MarginalCov(m.Params().Consts()).Tensor())
	off := 0.0
	for i := 0; i < d; i++ {
		for j := 0; j < d; j++ {
			if i != j {
				off += prec.At(i, j) * prec.At(i, j)
			}
		}
	}
	se := math.Sqrt(2 * off / rows)
	t.Logf("SSM %.5f, SM %.5f, Monte-Carlo standard error %.5f", ssm, sm, se)
	if se < 1e-3 {
		t.Fatalf("standard error %v: the projections hardly matter, the test is vacuous", se)
	}
	if math.Abs(ssm-sm) > 4*se {
		t.Errorf("SSM %v and SM %v differ by more than 4 standard errors (%v)", ssm, sm, se)
	}
	if again := FisherSSM(m, x, 9); again != ssm {
		t.Errorf("same seed, different value: %v vs %v", again, ssm)
	}
	if other := FisherSSM(m, x, 10); other == ssm {
		t.Error("the seed has no effect")
	}
}

// On a GRBM, the metric is the SM objective's expectation too; check the
// chunked evaluation against a single batch.
func TestFisherSSMChunking(t *testing.T) {
	m := tinyGRBM(3, 4, false, 5, f64)
	x := tensor.NewRNG(6).Normal(f64, 0, 1, chunkRows+250, 3)
	got := FisherSSM(m, x, 1)
	o := objective.Outer{Kind: objective.SSM}
	rng := tensor.NewRNG(1)
	a := o.Loss(objective.MarginalEnergy(m, m.Params().Consts()), o.Perturb(tensor.Slice(x, 0, 0, chunkRows), rng)).Item()
	b := o.Loss(objective.MarginalEnergy(m, m.Params().Consts()), o.Perturb(tensor.Slice(x, 0, chunkRows, chunkRows+250), rng)).Item()
	want := (a*chunkRows + b*250) / (chunkRows + 250)
	if math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Errorf("chunked %v, direct %v", got, want)
	}
}
