package ad

import (
	"fmt"
	"sync/atomic"

	"github.com/bism-ml/bism/internal/freelist"
	"github.com/bism-ml/bism/tensor"
)

// GradOption configures Grad. (A value, not a function: options cost a
// training step's backward passes no allocation.)
type GradOption struct {
	createGraph bool
	cotangent   *Value
}

// CreateGraph records the backward pass, so the returned gradients can be
// differentiated again (PyTorch's create_graph=True; JAX's grad of grad).
func CreateGraph() GradOption { return GradOption{createGraph: true} }

// Cotangent sets the output cotangent (the "vector" of the vector-Jacobian
// product). It is required when y is not a single element, and must have y's
// shape.
func Cotangent(g *Value) GradOption { return GradOption{cotangent: g} }

// Grad returns the gradients of y with respect to each of xs, by reverse-mode
// accumulation over the recorded graph.
//
// Without CreateGraph the backward pass runs on constants, so the results are
// constants and nothing new is recorded. With CreateGraph the results are
// recorded values that depend on xs (and on anything else y depended on), and
// Grad may be applied to them again, to any order.
//
// A value in xs that y does not depend on gets a zero gradient of its shape.
//
// In a first-order pass inside an arena's Step (tensor.Arena), the
// gradients of intermediate values live only while the pass needs them:
// contributions accumulate in place in a gradient the pass computed, and
// one that has been handed on is released (tensor.Release), so that the
// next backward rule writes its result to storage still in the cache.
func Grad(y *Value, xs []*Value, opts ...GradOption) []*Value {
	var cfg GradOption
	for _, o := range opts {
		cfg.createGraph = cfg.createGraph || o.createGraph
		if o.cotangent != nil {
			cfg.cotangent = o.cotangent
		}
	}
	seed := cfg.cotangent
	if seed == nil {
		if y.t.Size() != 1 {
			panic(fmt.Sprintf("ad.Grad: output of shape %v is not a single element; pass a Cotangent", y.Shape()))
		}
		seed = Const(tensor.OnesLike(y.t))
	} else if !tensor.SameShape(seed.Shape(), y.Shape()) {
		panic(fmt.Sprintf("ad.Grad: cotangent shape %v does not match output shape %v", seed.Shape(), y.Shape()))
	}
	if !cfg.createGraph && seed.requiresGrad {
		seed = Const(seed.t)
	}

	// Each value met gets a slot in this call's table; the slot mark on the
	// value carries the call's generation, so marks of earlier calls are
	// ignored. (Concurrent Grad calls over shared values are not supported.)
	gen := gradGen.Add(1)
	sc := scratches.Get()
	table := sc.table[:0]
	slotOf := func(v *Value) *gradEntry {
		if v.gen != gen {
			v.gen, v.slot = gen, int32(len(table))
			table = append(table, gradEntry{})
		}
		return &table[v.slot]
	}
	for _, x := range xs {
		slotOf(x).target = true
	}
	order := sc.order[:0] // post-order: inputs before outputs
	var visit func(v *Value) bool
	visit = func(v *Value) bool {
		if e := slotOf(v); e.visited {
			return e.relevant
		}
		table[v.slot].visited = true
		r := table[v.slot].target
		if v.node != nil && v.requiresGrad {
			for _, in := range v.node.inputs {
				if visit(in) {
					r = true
				}
			}
		}
		// table may have grown during the recursion: index it afresh.
		table[v.slot].relevant = r
		if r {
			order = append(order, v)
		}
		return r
	}
	visit(y)

	table[y.slot].grad = seed
	// Scratch for the backward pass, allocated once per call: the constant
	// copies of values that a first-order pass hands to the backward rules
	// (by slot), and the rules' input and need lists (the rules only read
	// them while they run).
	var consts []Value
	if !cfg.createGraph {
		if cap(sc.consts) < len(table) {
			sc.consts = make([]Value, len(table))
		}
		consts = sc.consts[:len(table)]
	}
	detach := func(v *Value) *Value {
		c := &consts[v.slot]
		c.t = v.t
		return c
	}
	inBuf, needBuf, resBuf := sc.in, sc.need, sc.res
	for i := len(order) - 1; i >= 0; i-- {
		v := order[i]
		g := table[v.slot].grad
		if g == nil || v.node == nil {
			continue
		}
		n := v.node
		if cap(needBuf) < len(n.inputs) {
			needBuf = make([]bool, len(n.inputs))
			inBuf = make([]*Value, len(n.inputs))
			resBuf = make([]*Value, len(n.inputs))
		}
		need := needBuf[:len(n.inputs)]
		any := false
		for j, in := range n.inputs {
			need[j] = in.gen == gen && table[in.slot].relevant
			any = any || need[j]
		}
		if !any {
			continue
		}
		in, out := n.inputs, v
		if !cfg.createGraph {
			// Constants in, constants out: the backward pass records nothing.
			in = inBuf[:len(n.inputs)]
			for j, x := range n.inputs {
				if x.gen == gen {
					in[j] = detach(x)
				} else {
					in[j] = Const(x.t)
				}
			}
			out = detach(v)
		}
		// In a first-order pass the gradients that the rule computes afresh
		// (served by the arena after mark) are held by nobody else: a
		// value's gradient accumulates in place in the first of them, and
		// a consumed gradient that the pass owns goes back to the arena
		// while it is still in the cache. A rule that can add its product
		// straight into a gradient the pass owns does (node.addVJP).
		var mark tensor.Mark
		var gs []*Value
		if !cfg.createGraph {
			mark = v.t.Arena().Mark()
			if n.addVJP != nil {
				any = addInto(n, g, in, need, table)
			}
		}
		if any {
			res := resBuf[:len(in)]
			clear(res)
			gs = n.vjp(g, in, out, &n.attrs, need, res)
		}
		ve := &table[v.slot]
		keep := !ve.owned || ve.target // g is still needed, or not ours to free
		for j, gj := range gs {
			if !need[j] || gj == nil {
				continue
			}
			x := n.inputs[j]
			if !tensor.SameShape(gj.Shape(), x.Shape()) {
				panic(fmt.Sprintf("ad.Grad: backward of %s gave gradient of shape %v for input %d of shape %v", n.op, gj.Shape(), j, x.Shape()))
			}
			fresh := false
			if !cfg.createGraph {
				if tensor.SameStorage(gj.t, g.t) {
					keep = true
				}
				// A rule that hands g on unchanged (an identity's product)
				// hands on the pass's ownership of it too: v's rule has run,
				// so nothing reads g as v's gradient again, and x's later
				// products can be added into it (node.addVJP).
				handedOn := gj.t == g.t && ve.owned && !ve.target
				fresh = (handedOn || mark.Served(gj.t)) && !sharedAmong(gs, need, j)
				if handedOn && fresh {
					ve.owned = false
				}
			}
			e := &table[x.slot]
			switch {
			case e.grad == nil:
				e.grad, e.owned = gj, fresh
			case e.owned:
				tensor.AddInPlace(e.grad.t, gj.t)
				if fresh {
					tensor.Release(gj.t)
				}
			case fresh:
				// gj + grad has the bits of grad + gj.
				tensor.AddInPlace(gj.t, e.grad.t)
				e.grad, e.owned = gj, true
			default:
				e.grad = Add(e.grad, gj)
				// Without CreateGraph the sum is a fresh constant nobody else
				// holds, so later contributions can be added in place.
				e.owned = !cfg.createGraph
			}
		}
		if !cfg.createGraph && !keep {
			tensor.Release(g.t)
			ve.grad, ve.owned = nil, false
		}
	}

	res := ValueList(y.t.Arena(), len(xs))
	for i, x := range xs {
		g := table[x.slot].grad
		switch {
		case x.gen != gen || g == nil:
			res[i] = Const(tensor.ZerosLike(x.t))
		case !cfg.createGraph:
			// g may be one of the scratch constants, which the next call
			// reuses.
			res[i] = Const(g.t)
		default:
			res[i] = g
		}
	}
	// The scratch goes back empty, holding no values or tensors.
	clear(table)
	clear(order)
	clear(consts)
	clear(inBuf)
	clear(resBuf)
	sc.table, sc.order, sc.in, sc.need, sc.res = table[:0], order[:0], inBuf, needBuf, resBuf
	scratches.Put(sc)
	return res
}

// gradEntry is what Grad knows of one value of the graph.
type gradEntry struct {
	target, visited, relevant bool
	owned                     bool // grad's tensor was allocated here and may be added to in place
	grad                      *Value
}

// gradScratch holds Grad's working memory between calls, so that a
// training step's backward passes do not allocate it anew.
type gradScratch struct {
	table  []gradEntry
	order  []*Value
	consts []Value
	in     []*Value
	need   []bool
	res    []*Value // the rules' results (vjpFunc)
}

var scratches freelist.List[gradScratch]

// gradGen numbers Grad calls (see Value.gen).
var gradGen atomic.Uint64

// addInto lets n's rule add the products for its inputs whose gradients the
// pass owns straight into them, clears their need, and reports whether any
// input still needs one.
func addInto(n *node, g *Value, in []*Value, need []bool, table []gradEntry) bool {
	left := false
	for j, x := range n.inputs {
		if !need[j] {
			continue
		}
		if e := &table[x.slot]; e.owned && n.addVJP(g, in, &n.attrs, j, e.grad.t) {
			need[j] = false
			continue
		}
		left = true
	}
	return left
}

// sharedAmong reports whether gs[j] shares its storage with another needed
// gradient of gs.
func sharedAmong(gs []*Value, need []bool, j int) bool {
	for i, gi := range gs {
		if i != j && need[i] && gi != nil && tensor.SameStorage(gi.t, gs[j].t) {
			return true
		}
	}
	return false
}
