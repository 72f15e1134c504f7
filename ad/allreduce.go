package ad

import (
	"fmt"

	"github.com/bism-ml/bism/tensor"
)

// A Reducer sums tensors across the processes of a data-parallel
// computation (MPI_Allreduce): every process passes its own tensors, shaped
// alike on all of them, and every process gets back the same elementwise
// sums Σ_r x_r. It is a collective operation: every process must make the
// same calls in the same order.
type Reducer interface {
	SumAcross(xs []*tensor.Tensor) []*tensor.Tensor
}

// AllReduce returns, for each x, Σ_r x_r over the processes of r, in one
// collective call for the whole list.
//
// Each process holds a copy of the output, so the output's cotangent on
// process r is only that copy's share: the gradient of Σ_r' f_r' with respect
// to x_r is Σ_r' ḡ_r', the cotangents summed across processes. The VJP is
// therefore AllReduce itself, recorded like any other operation, and grad of
// grad works across processes as it does within one: a process's gradient
// of its own output is the gradient of the sum of every process's output.
func AllReduce(xs []*Value, r Reducer) []*Value {
	switch len(xs) {
	case 0:
		return nil
	case 1:
		return []*Value{allReduce(xs[0], r)}
	}
	// One call for the list (latency is what a collective costs at scale):
	// the flattened values side by side, reduced, and cut apart again, so
	// the backward pass is one call too.
	flat := make([]*Value, len(xs))
	for i, x := range xs {
		flat[i] = Reshape(x, -1)
	}
	sum := allReduce(Concat(0, flat...), r)
	out := make([]*Value, len(xs))
	off := 0
	for i, x := range xs {
		n := x.t.Size()
		out[i] = Reshape(Slice(sum, 0, off, off+n), x.Shape()...)
		off += n
	}
	return out
}

func allReduce(x *Value, r Reducer) *Value {
	sums := r.SumAcross([]*tensor.Tensor{x.t})
	if len(sums) != 1 || !tensor.SameShape(sums[0].Shape(), x.Shape()) {
		panic(fmt.Sprintf("ad.AllReduce: the reducer did not return one tensor of shape %v", x.Shape()))
	}
	return record("AllReduce", sums[0], func(g *Value, _ []*Value, _ *Value, _ *attrs, _ []bool, res []*Value) []*Value {
		return fill(res, allReduce(g, r))
	}, x)
}
