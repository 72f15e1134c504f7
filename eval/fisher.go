package eval

import (
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// FisherSSM returns the "Fisher" metric of the paper's tables: the sliced
// score-matching objective of the model's exact marginal on clean data,
//
//	mean over rows v of x of  1/2 |s(v)|² + uᵀ ∇_v (s(v)·u),   s = -∇_v F,
//
// with one Rademacher projection u per row drawn from a generator seeded
// with seed. Its expectation over u is the SM objective 1/2|s|² + tr(∇_v s),
// which equals the Fisher divergence to the data distribution minus a
// constant of the data, hence negative values. Rows are processed chunkRows
// at a time, in the model's dtype, with θ held constant.
func FisherSSM(m model.FreeEnergyModel, x *tensor.Tensor, seed uint64) float64 {
	return scoreObjective(m, x, objective.Outer{Kind: objective.SSM}, seed)
}

// scoreObjective evaluates a score-matching objective of the marginal in
// chunks and returns its mean over rows.
func scoreObjective(m model.FreeEnergyModel, x *tensor.Tensor, o objective.Outer, seed uint64) float64 {
	rng := tensor.NewRNG(seed)
	dt := paramDType(m)
	energy := objective.MarginalEnergy(m, m.Params().Consts())
	n := x.Dim(0)
	sum := 0.0
	for lo := 0; lo < n; lo += chunkRows {
		hi := min(lo+chunkRows, n)
		xb := tensor.Slice(x, 0, lo, hi).As(dt)
		sum += o.Loss(energy, o.Perturb(xb, rng)).Item() * float64(hi-lo)
	}
	return sum / float64(n)
}
