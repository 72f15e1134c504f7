package ad

import (
	"strings"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// TestCheckGradCatchesWrongRecordedVJP: an operation whose fused
// first-order backward pass is right but whose recorded VJP (the one
// CreateGraph differentiates) is twice too large is caught at order 1.
func TestCheckGradCatchesWrongRecordedVJP(t *testing.T) {
	probe := func(x *Value) *Value {
		return record("probe", tensor.Exp(x.t), func(g *Value, in []*Value, out *Value, _ *attrs, _ []bool, res []*Value) []*Value {
			if !g.requiresGrad && !in[0].requiresGrad && !out.requiresGrad {
				return fill(res, Const(tensor.Mul(g.t, out.t))) // right
			}
			return fill(res, Scale(Mul(g, out), 2)) // twice too large
		}, x)
	}
	x := tensor.NewRNG(3).Normal(tensor.Float64, 0, 1, 3, 4)
	for order := 1; order <= 3; order++ {
		_, err := CheckGrad(func(xs []*Value) *Value { return SumAll(probe(xs[0])) }, []*tensor.Tensor{x}, CheckOptions{Order: order})
		if err == nil || !strings.Contains(err.Error(), "order 1 input 0, recorded") {
			t.Errorf("order %d: CheckGrad passed a wrong recorded VJP: %v", order, err)
		}
	}
	// The right operation passes.
	if _, err := CheckGrad(func(xs []*Value) *Value { return SumAll(Exp(xs[0])) }, []*tensor.Tensor{x}, CheckOptions{Order: 3}); err != nil {
		t.Fatal(err)
	}
}
