package nn

import (
	"math"

	"github.com/bism-ml/bism/tensor"
)

// Uniform returns a tensor drawn from U(-bound, bound).
func Uniform(rng *tensor.RNG, dt tensor.DType, bound float64, shape ...int) *tensor.Tensor {
	return rng.Uniform(dt, -bound, bound, shape...)
}

// LinearInit returns PyTorch's default nn.Linear initialisation for a layer
// with fanIn inputs: weight [fanIn, fanOut] and bias [fanOut], both
// U(-1/sqrt(fanIn), 1/sqrt(fanIn)) (kaiming_uniform with a = sqrt(5) reduces
// to this bound for the weight). bism stores weights input-major so that a
// layer is x @ W + b.
func LinearInit(rng *tensor.RNG, dt tensor.DType, fanIn, fanOut int) (w, b *tensor.Tensor) {
	bound := 1 / math.Sqrt(float64(fanIn))
	return Uniform(rng, dt, bound, fanIn, fanOut), Uniform(rng, dt, bound, fanOut)
}
