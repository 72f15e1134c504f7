package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestSplitSameBits runs operations that split over cores on one worker and
// on three, with the grain lowered so that even these shapes split, and
// wants the same bits: splitting decides who computes a piece, never how.
func TestSplitSameBits(t *testing.T) {
	defer func(w, g int) { parallel.Workers, grainElems = w, g }(parallel.Workers, grainElems)
	rng := NewRNG(3)
	for _, shape := range [][]int{{100, 400}, {37, 129}, {50, 16}, {1000, 3}} {
		x := rng.Normal(Float32, 0, 1, shape...)
		y := rng.Normal(Float32, 0, 1, shape...)
		row := rng.Normal(Float32, 0, 1, shape[1])
		ops := []struct {
			name string
			f    func() *Tensor
		}{
			{"Mul", func() *Tensor { return Mul(x, y) }},
			{"Add row", func() *Tensor { return Add(x, row) }},
			{"Affine", func() *Tensor { return Affine(x, 1.5, -0.25) }},
			{"Sigmoid", func() *Tensor { return Sigmoid(x) }},
			{"Softplus", func() *Tensor { return Softplus(x) }},
			{"softplus'", func() *Tensor { d, _ := UnaryGrad(FSoftplus, y, x, Softplus(x)); return d }},
			{"LinComb", func() *Tensor { return LinComb(0.9, x, 0.1, y) }},
			{"row sums", func() *Tensor { return Sum(x, false, 1) }},
			{"column sums", func() *Tensor { return Sum(x, false, 0) }},
			{"Axpy", func() *Tensor { z := y.Clone(); AxpyInPlace(z, -0.3, x); return z }},
		}
		for _, op := range ops {
			parallel.Workers, grainElems = 1, 1<<14
			want := op.f()
			parallel.Workers, grainElems = 3, 2*block
			sameBits(t, fmt.Sprintf("%s %v", op.name, shape), op.f(), want)
		}
	}
}
