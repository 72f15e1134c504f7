package nn

import (
	"fmt"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// Params is an ordered set of named parameter tensors: what a model or a
// posterior owns, what an optimizer updates in place, and what a checkpoint
// stores. Order is the order of Add, so iteration is deterministic.
type Params struct {
	names []string
	ts    []*tensor.Tensor
	idx   map[string]int // position of each name
}

// NewParams returns an empty set.
func NewParams() *Params { return &Params{idx: map[string]int{}} }

// Add registers a tensor under name; a duplicate name panics.
func (p *Params) Add(name string, t *tensor.Tensor) *tensor.Tensor {
	if _, ok := p.idx[name]; ok {
		panic(fmt.Sprintf("nn.Params.Add: duplicate parameter %q", name))
	}
	p.idx[name] = len(p.names)
	p.names = append(p.names, name)
	p.ts = append(p.ts, t)
	return t
}

// Names returns the parameter names in order.
func (p *Params) Names() []string { return p.names }

// Len is the number of parameters.
func (p *Params) Len() int { return len(p.names) }

// Get returns the tensor named name, panicking if absent.
func (p *Params) Get(name string) *tensor.Tensor {
	t, ok := p.Lookup(name)
	if !ok {
		panic(fmt.Sprintf("nn.Params.Get: no parameter %q (have %v)", name, p.names))
	}
	return t
}

// Lookup returns the tensor named name and whether it exists.
func (p *Params) Lookup(name string) (*tensor.Tensor, bool) {
	i, ok := p.idx[name]
	if !ok {
		return nil, false
	}
	return p.ts[i], true
}

// Tensors returns the tensors in order.
// (In an arena's Step, where the tensors belong to the arena, the list
// lives as long as the step's tensors, so that binding parameters each
// step allocates nothing; so do the lists of Vals.)
func (p *Params) Tensors() []*tensor.Tensor {
	out := tensor.ArenaOf(p.ts...).TensorList(len(p.ts))
	copy(out, p.ts)
	return out
}

// Clone deep-copies every tensor.
func (p *Params) Clone() *Params {
	c := NewParams()
	for i, n := range p.names {
		c.Add(n, p.ts[i].Clone())
	}
	return c
}

// CopyFrom copies values from q (same names and shapes) into p, in place.
func (p *Params) CopyFrom(q *Params) {
	for i, n := range p.names {
		p.ts[i].CopyFrom(q.Get(n))
	}
}

// Count is the total number of scalar parameters.
func (p *Params) Count() int {
	n := 0
	for _, t := range p.ts {
		n += t.Size()
	}
	return n
}

// Vars returns the parameters as leaf values that require gradients.
func (p *Params) Vars() Vals { return Vals{names: p.names, vs: ad.Vars(p.ts)} }

// Consts returns the parameters as constants (gradients stop at them).
func (p *Params) Consts() Vals { return Vals{names: p.names, vs: ad.Consts(p.ts)} }

// Vals binds parameter names to autodiff values: the parameters a model's
// functions are evaluated at. They may be leaves (Params.Vars), constants
// (Params.Consts) or computed values, as in the unrolled inner optimisation
// of bi-level score matching, where phi^N is a function of theta.
type Vals struct {
	names []string
	vs    []*ad.Value // in the order of names
}

// NewVals builds Vals from names and values in the same order.
func NewVals(names []string, vs []*ad.Value) Vals {
	if len(names) != len(vs) {
		panic(fmt.Sprintf("nn.NewVals: %d names for %d values", len(names), len(vs)))
	}
	return Vals{names: names, vs: Lists(Vals{vs: vs})}
}

// Get returns the value bound to name, panicking if absent. (A search of
// the names: a model has tens of parameters at most, and binding the
// parameters each step then builds no index.)
func (v Vals) Get(name string) *ad.Value {
	for i, n := range v.names {
		if n == name {
			return v.vs[i]
		}
	}
	panic(fmt.Sprintf("nn.Vals.Get: no parameter %q (have %v)", name, v.names))
}

// Names returns the names in order.
func (v Vals) Names() []string { return v.names }

// List returns the values in order.
func (v Vals) List() []*ad.Value { return Lists(v) }

// Lists returns the values of each of vs in order, one list (in an
// arena's Step, one that lives as long as the step's tensors): what a
// gradient with respect to several parameter sets takes.
func Lists(vs ...Vals) []*ad.Value {
	n := 0
	var a *tensor.Arena
	for _, v := range vs {
		n += len(v.vs)
		if a == nil && len(v.vs) > 0 {
			a = v.vs[0].Tensor().Arena()
		}
	}
	out := ad.ValueList(a, n)[:0]
	for _, v := range vs {
		out = append(out, v.vs...)
	}
	return out
}

// Detach returns the same tensors as constants.
func (v Vals) Detach() Vals {
	out := Vals{names: v.names, vs: Lists(v)}
	for i, x := range v.vs {
		out.vs[i] = ad.Detach(x)
	}
	return out
}
