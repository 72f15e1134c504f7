package objective_test

import (
	"fmt"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// Algorithm 1 in a loop of one's own: each BiLevel.Step takes K kept steps
// of the posterior's optimizer on the inner loss, unrolls N more
// differentiably, and returns θ's gradient of the outer loss, which the
// caller applies with any optimizer.
func ExampleBiLevel_Step() {
	rng := tensor.NewRNG(1)
	const d, h = 2, 4
	grbm := model.NewGRBM(d, h, false, rng, tensor.Float32)
	q := model.NewBernoulliPosterior(d, h, rng, tensor.Float32)
	b := &objective.BiLevel{
		Model: grbm, Posterior: q,
		Outer: objective.Outer{Kind: objective.DSM, Sigma: 0.1},
		K:     5, N: 5,
		InnerOpt: optim.NewAdam(1e-2, 0.9, 0.95),
	}
	thetaOpt := optim.NewAdam(1e-2, 0.9, 0.95)
	// Data: two clusters in the plane.
	data := tensor.Add(rng.Normal(tensor.Float32, 0, 0.1, 500, d), tensor.Scale(rng.Bernoulli(tensor.Full(tensor.Float32, 0.5, 500, 1)), 2))
	var first, last float64
	for it := 0; it < 200; it++ {
		batch := tensor.Slice(data, 0, (it%5)*100, (it%5)*100+100)
		r := b.Step(batch, rng)
		thetaOpt.Step(grbm.Params(), r.Grads)
		if it < 20 {
			first += r.Loss / 20
		}
		if it >= 180 {
			last += r.Loss / 20
		}
	}
	fmt.Println("outer loss fell:", last < first)
	// Output: outer loss fell: true
}
