package sample_test

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

// Annealed Langevin dynamics on an energy: here E(x) = |x - 2|²/2, a unit
// Gaussian around 2, whose chains end near its mean with its spread.
func ExampleLangevin() {
	energy := func(x *ad.Value) *ad.Value {
		d := ad.AddScalar(x, -2)
		return ad.Scale(ad.Sum(ad.Mul(d, d), false, 1), 0.5) // per chain
	}
	cfg := sample.Default() // the paper's anneal, replaced below by a constant temperature
	cfg.StepSize, cfg.Denoise, cfg.Clamp = 0.1, false, false
	cfg.Temps = make([]float64, 2000)
	for i := range cfg.Temps {
		cfg.Temps[i] = 1 // sample the energy itself, no annealing
	}
	x := sample.Langevin(energy, []int{4000, 1}, tensor.Float64, cfg, tensor.NewRNG(1))
	m, v := 0.0, 0.0
	for _, xi := range x.Values() {
		m += xi / 4000
	}
	for _, xi := range x.Values() {
		v += (xi - m) * (xi - m) / 4000
	}
	fmt.Printf("mean %.1f, standard deviation %.1f\n", m, math.Sqrt(v))
	// Output: mean 2.0, standard deviation 1.0
}
