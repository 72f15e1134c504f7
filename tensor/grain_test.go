package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// BenchmarkGrain times cheap (Affine, memory-bound) and costly (Exp)
// elementwise operations on 1 and 2 workers across sizes around the
// parallel grain (grainElems for cheap operations, grainElems/8 for
// transcendental ones), where splitting starts to pay:
//
//	go test ./tensor -run XXX -bench Grain
//
// docs/PERFORMANCE.md holds its output and the rule taken from it.
func BenchmarkGrain(b *testing.B) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	for _, op := range []struct {
		name string
		f    func(x *Tensor) *Tensor
	}{{"affine", func(x *Tensor) *Tensor { return Affine(x, 1.5, 0.5) }}, {"exp", Exp}} {
		for _, n := range []int{1 << 11, 1 << 12, 1 << 13, 1 << 14, 1 << 15, 1 << 16, 1 << 17, 1 << 18} {
			x := NewRNG(1).Normal(Float32, 0, 1, n)
			a := NewArena()
			x = x.InArena(a)
			for _, w := range []int{1, 2} {
				b.Run(fmt.Sprintf("%s/n=%d/workers=%d", op.name, n, w), func(b *testing.B) {
					parallel.Workers = w
					if w > 1 { // split at any size
						defer func(g int) { grainElems = g }(grainElems)
						grainElems = block
					}
					for i := 0; i < b.N; i++ {
						a.Step(func() { op.f(x) })
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/elem")
				})
			}
		}
	}
}
