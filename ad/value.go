package ad

import (
	"fmt"

	"github.com/bism-ml/bism/tensor"
)

// Value is a node in a recorded computation: a tensor, and, if it was
// computed from values that require gradients, the operation that made it.
type Value struct {
	t            *tensor.Tensor
	requiresGrad bool
	node         *node // nil for leaves (Var) and constants (Const)

	// Scratch marks of the Grad call that last visited this value: the
	// call's generation and the value's slot in that call's tables. They
	// replace hash maps on the hot path.
	gen  uint64
	slot int32
}

// vjpFunc returns the vector-Jacobian products of an operation: for each input
// i with need[i], the gradient with respect to input i given the cotangent g
// of the output. It is written with ad operations, so when in and out are
// recorded values the result is itself differentiable (higher order).
// The operation's other arguments (scales, axes) are in at, so that a rule
// is a plain function: one that captured them would be a closure, and
// recording the operation would allocate it.
// A rule may return g itself, or a view of it, for an input. In a
// first-order pass a result that the rule allocated must be held by nothing
// else once the rule returns (the pass adds into it and releases it).
//
// res has one nil entry per input: storage a rule may fill and return (it
// is the pass's scratch, reused for the next rule), so that a rule need
// not allocate its result.
type vjpFunc func(g *Value, in []*Value, out *Value, at *attrs, need []bool, res []*Value) []*Value

type node struct {
	op     string
	inputs []*Value
	vjp    vjpFunc
	// addVJP, where set, adds input j's vector-Jacobian product to acc, a
	// gradient a first-order pass owns, in one pass (a fused kernel), and
	// reports whether it did; the pass then asks vjp only for the rest. g
	// and in are constants. The sum must have the bits of acc + the
	// product vjp would return.
	addVJP addVJPFunc
	attrs  attrs
}

// addVJPFunc is node.addVJP's type.
type addVJPFunc func(g *Value, in []*Value, at *attrs, j int, acc *tensor.Tensor) bool

// attrs are an operation's arguments other than its input values, kept in
// its node for its backward rules (vjpFunc).
type attrs struct {
	t     *tensor.Tensor                // data a rule reads that is not an input (ELU's x)
	f     [2]float64                    // scalars: Affine's a, Adam's step and eps, ...
	flags [2]bool                       // MatMul's transposes
	uf    tensor.UnaryFunc              // unary's function
	rule  func(g, x, out *Value) *Value // unary's recorded rule
	ints  [4]int                        // axes, or stride and pad; see setInts
	n     int                           // how many of ints are set, or -1: more holds them
	more  []int
}

// setInts keeps xs (axes, a permutation) in a, copying them into its array
// when they fit.
func (a *attrs) setInts(xs ...int) {
	if len(xs) <= len(a.ints) {
		a.n = copy(a.ints[:], xs)
		return
	}
	a.n, a.more = -1, append([]int(nil), xs...)
}

// getInts returns the integers setInts kept.
func (a *attrs) getInts() []int {
	if a.n < 0 {
		return a.more
	}
	return a.ints[:a.n]
}

// withAttrs gives v's node, if it has one, the operation's other arguments.
func withAttrs(v *Value, at attrs) *Value {
	if v.node != nil {
		v.node.attrs = at
	}
	return v
}

// Var returns a leaf value that requires gradients (a parameter or an input
// to differentiate with respect to).
// In an arena's Step (t belongs to the arena) the value lives as long as
// the step's tensors.
func Var(t *tensor.Tensor) *Value {
	v := Const(t)
	v.requiresGrad = true
	return v
}

// Const returns a value that never requires gradients. In an arena's Step
// (t belongs to the arena) the value comes from the step's slab, as
// recorded values do, and lives as long as the step's tensors.
func Const(t *tensor.Tensor) *Value {
	v := constants.New(t.Arena())
	v.t = t
	return v
}

// Vars returns Var(t) for each of ts, in one allocation, or none in an
// arena's Step (ts belong to the arena: the values then live as long as
// the step's tensors).
func Vars(ts []*tensor.Tensor) []*Value { return leaves(ts, true) }

// Consts returns Const(t) for each of ts, as Vars does.
func Consts(ts []*tensor.Tensor) []*Value { return leaves(ts, false) }

func leaves(ts []*tensor.Tensor, requiresGrad bool) []*Value {
	a := tensor.ArenaOf(ts...)
	vs := leafValues.Make(a, len(ts))
	out := ValueList(a, len(ts))
	for i, t := range ts {
		vs[i] = Value{t: t, requiresGrad: requiresGrad}
		out[i] = &vs[i]
	}
	return out
}

// recorded reports whether an operation on xs is recorded: whether one of
// them requires gradients (record).
func recorded(xs ...*Value) bool {
	for _, x := range xs {
		if x.requiresGrad {
			return true
		}
	}
	return false
}

// Detach returns v's tensor as a constant: gradients stop here.
func Detach(v *Value) *Value { return Const(v.t) }

// Tensors returns the values' tensors, e.g. the gradients Grad returns (in
// an arena's Step, a list that lives as long as the step's tensors).
func Tensors(vs []*Value) []*tensor.Tensor {
	var a *tensor.Arena
	if len(vs) > 0 {
		a = vs[0].t.Arena()
	}
	out := a.TensorList(len(vs))
	for i, v := range vs {
		out[i] = v.t
	}
	return out
}

// Tensor returns the value's data. Callers must not modify it while the
// value is part of a graph they will differentiate.
func (v *Value) Tensor() *tensor.Tensor { return v.t }

// Shape returns the value's shape.
func (v *Value) Shape() []int { return v.t.Shape() }

// DType returns the value's element type.
func (v *Value) DType() tensor.DType { return v.t.DType() }

// Item returns the single element of a one-element value.
func (v *Value) Item() float64 { return v.t.Item() }

// RequiresGrad reports whether gradients flow to or through this value.
func (v *Value) RequiresGrad() bool { return v.requiresGrad }

// Op names the operation that produced v ("" for leaves and constants).
func (v *Value) Op() string {
	if v.node == nil {
		return ""
	}
	return v.node.op
}

func (v *Value) String() string {
	return fmt.Sprintf("Value(%s, grad=%v, %v)", v.Op(), v.requiresGrad, v.t)
}

// record wraps an op's output, keeping the graph only when an input requires
// gradients. There is no global switch: evaluation and sampling compute on
// constants (Const, Detach, nn.Params.Consts), so nothing is recorded.
func record(op string, out *tensor.Tensor, vjp vjpFunc, inputs ...*Value) *Value {
	if !recorded(inputs...) {
		return Const(out)
	}
	// The value, its node and (for up to three) its inputs in one
	// allocation, or none: in an arena's step they come from its slab, as
	// the result's storage does.
	vn := nodes.New(out.Arena())
	vn.Value = Value{t: out, requiresGrad: true}
	vn.node = node{op: op, vjp: vjp}
	if len(inputs) <= len(vn.ins) {
		vn.node.inputs = vn.ins[:copy(vn.ins[:], inputs):len(inputs)]
	} else {
		vn.node.inputs = append([]*Value(nil), inputs...)
	}
	vn.Value.node = &vn.node
	return &vn.Value
}

// valueNode is a recorded value with its node and (up to three) inputs.
type valueNode struct {
	Value
	node
	ins [3]*Value
}

// The values a step records live as long as the step's tensors (see
// tensor.Arena): they come from slabs that each step reuses.
var (
	nodes     = tensor.NewSlab[valueNode]()
	constants = tensor.NewSlab[Value]()

	leafValues = tensor.NewSlices[Value]()
	valueLists = tensor.NewSlices[*Value]()
)

// ValueList returns a zeroed list of n values that lives as long as a's
// tensors while a serves a Step (else a heap slice; a may be nil), as
// tensor.Arena.TensorList does for tensors.
func ValueList(a *tensor.Arena, n int) []*Value { return valueLists.Make(a, n) }

// fill sets a rule's results, res (see vjpFunc), to vs and returns it.
func fill(res []*Value, vs ...*Value) []*Value {
	copy(res, vs)
	return res
}
