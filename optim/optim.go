package optim

import (
	"fmt"
	"math"
	"slices"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// Optimizer updates parameters in place from their gradients, and can
// continue from its current state as a differentiable computation (Unroll),
// which bi-level score matching uses for the N unrolled inner steps.
type Optimizer interface {
	// Step applies one update; grads are in the order of p.Names().
	Step(p *nn.Params, grads []*tensor.Tensor)
	// LR and SetLR read and set the learning rate (schedules call SetLR).
	LR() float64
	SetLR(lr float64)
	// Unroll returns a differentiable copy of the optimizer that starts from
	// the current state (detached) and never touches the real state.
	Unroll() Unrolled
	// State returns the optimizer's tensors for checkpointing, by name.
	State() map[string]*tensor.Tensor
	// LoadState restores what State returned for the parameters p,
	// checking it against them: a bad state (from a damaged or foreign
	// checkpoint) is an error, never a panic later.
	LoadState(s map[string]*tensor.Tensor, p *nn.Params) error
}

// Unrolled is a differentiable optimizer: each Step returns new parameter
// values that are functions (recorded in ad) of the old values and the
// gradients, so the result can be differentiated with respect to anything
// the gradients depend on (Eq. 13 of the paper).
type Unrolled interface {
	Step(p nn.Vals, grads []*ad.Value) nn.Vals
}

// ---- Adam ----

// Adam is Kingma & Ba's optimizer as PyTorch implements it: the update is
// lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps). No weight decay.
type Adam struct {
	lr, beta1, beta2, eps float64
	t                     int
	m, v                  []*tensor.Tensor
}

// NewAdam returns Adam with the given learning rate and betas; eps is 1e-8.
func NewAdam(lr, beta1, beta2 float64) *Adam {
	return &Adam{lr: lr, beta1: beta1, beta2: beta2, eps: 1e-8}
}

// LR returns the learning rate.
func (a *Adam) LR() float64 { return a.lr }

// SetLR sets the learning rate.
func (a *Adam) SetLR(lr float64) { a.lr = lr }

// Steps is the number of updates applied so far.
func (a *Adam) Steps() int { return a.t }

func (a *Adam) init(p *nn.Params) {
	if a.m != nil {
		return
	}
	for _, t := range p.Tensors() {
		a.m = append(a.m, moment(t))
		a.v = append(a.v, moment(t))
	}
}

// Step applies one Adam update in place.
func (a *Adam) Step(p *nn.Params, grads []*tensor.Tensor) {
	a.init(p)
	if len(grads) != p.Len() {
		panic(fmt.Sprintf("optim.Adam.Step: %d gradients for %d parameters", len(grads), p.Len()))
	}
	a.t++
	step := a.lr * math.Sqrt(1-math.Pow(a.beta2, float64(a.t))) / (1 - math.Pow(a.beta1, float64(a.t)))
	for i, x := range p.Tensors() {
		g := grads[i]
		if !tensor.SameShape(g.Shape(), x.Shape()) || !tensor.SameShape(a.m[i].Shape(), x.Shape()) {
			panic(fmt.Sprintf("optim.Adam.Step: gradient %v and moments %v for parameter %q of shape %v", g.Shape(), a.m[i].Shape(), p.Names()[i], x.Shape()))
		}
		if a.m[i].DType() != x.DType() { // restored from a file in another precision
			for _, mv := range []**tensor.Tensor{&a.m[i], &a.v[i]} {
				c := moment(x)
				c.CopyFrom((*mv).As(x.DType()))
				*mv = c
			}
		}
		tensor.AdamUpdateInPlace(x, g, a.m[i], a.v[i], a.beta1, a.beta2, a.eps, step)
	}
}

// moment returns a zero moment for parameter t. Moments outlive the step
// that creates them, so their storage is on the heap; they belong to t's
// arena, so that what an unrolled step computes from them takes its
// storage from the step's arena (see tensor.Arena).
func moment(t *tensor.Tensor) *tensor.Tensor {
	m := tensor.New(t.DType(), t.Shape()...)
	m.SetArena(t.Arena())
	return m
}

// State returns the step count and moments.
func (a *Adam) State() map[string]*tensor.Tensor {
	s := map[string]*tensor.Tensor{"step": tensor.Scalar(tensor.Float64, float64(a.t))}
	for i := range a.m {
		s[fmt.Sprintf("m.%d", i)] = a.m[i]
		s[fmt.Sprintf("v.%d", i)] = a.v[i]
	}
	return s
}

// LoadState restores State's output for the parameters p. The step count
// must be a whole, non-negative scalar; once stepped, there must be one
// pair of finite moments m.i, v.i (v non-negative) per parameter, of its
// shape, and nothing else.
func (a *Adam) LoadState(s map[string]*tensor.Tensor, p *nn.Params) error {
	st, ok := s["step"]
	if !ok {
		return fmt.Errorf("optim.Adam: state has no step count")
	}
	if st.Size() != 1 {
		return fmt.Errorf("optim.Adam: step count has shape %v, want a scalar", st.Shape())
	}
	step := st.Flat(0)
	if !(step >= 0 && step < 1<<53) || step != math.Trunc(step) {
		return fmt.Errorf("optim.Adam: step count %v is not a whole non-negative number", step)
	}
	n := 0
	if step > 0 {
		n = p.Len()
	}
	if want := 1 + 2*n; len(s) != want {
		return fmt.Errorf("optim.Adam: state has %d tensors; %d parameters after %v steps need %d (step, m.i, v.i)", len(s), p.Len(), step, want)
	}
	var ms, vs []*tensor.Tensor
	for i := 0; i < n; i++ {
		m, okm := s[fmt.Sprintf("m.%d", i)]
		v, okv := s[fmt.Sprintf("v.%d", i)]
		if !okm || !okv {
			return fmt.Errorf("optim.Adam: state lacks the moments m.%d, v.%d of parameter %q", i, i, p.Names()[i])
		}
		want := p.Tensors()[i].Shape()
		if !tensor.SameShape(m.Shape(), want) || !tensor.SameShape(v.Shape(), want) {
			return fmt.Errorf("optim.Adam: moments of parameter %q have shapes %v and %v, want %v", p.Names()[i], m.Shape(), v.Shape(), want)
		}
		if m.HasNaNOrInf() || v.HasNaNOrInf() || slices.Min(v.Values()) < 0 {
			return fmt.Errorf("optim.Adam: moments of parameter %q are not finite (or v is negative)", p.Names()[i])
		}
		mc, vc := moment(p.Tensors()[i]), moment(p.Tensors()[i])
		mc.CopyFrom(m.As(mc.DType()))
		vc.CopyFrom(v.As(vc.DType()))
		ms, vs = append(ms, mc), append(vs, vc)
	}
	a.t, a.m, a.v = int(step), ms, vs
	return nil
}

// Unroll continues from the current step count and moments, detached.
func (a *Adam) Unroll() Unrolled {
	ar := tensor.ArenaOf(a.m...)
	u := unrolls.New(ar)
	u.a = *a
	if len(a.m) > 0 {
		u.s = ad.ValueList(ar, len(a.m))
		for i := range a.m {
			u.s[i] = ad.Const(packMoments(a.m[i], a.v[i]))
		}
	}
	return u
}

// In an arena's Step (the moments belong to the arena) an unrolled
// optimizer lives as long as the step's tensors: it is made anew every
// step without allocating.
var unrolls = tensor.NewSlab[unrolledAdam]()

// unrolledAdam's steps keep each parameter's moments packed, s = [m; v],
// so that a step is two recorded operations (ad.AdamMomentsPacked, then
// ad.AdamApplyPacked) whose first-order backward passes are one fused
// kernel each.
type unrolledAdam struct {
	a Adam // hyper-parameters and step count (a copy: the real one is untouched)
	s []*ad.Value
}

// packMoments returns [m; v], of shape [2, p...] for moments of shape p.
func packMoments(m, v *tensor.Tensor) *tensor.Tensor {
	return tensor.Stack(m, v)
}

func (u *unrolledAdam) Step(p nn.Vals, grads []*ad.Value) nn.Vals {
	xs := p.List()
	if len(grads) != len(xs) {
		panic(fmt.Sprintf("optim: unrolled Adam step: %d gradients for %d parameters", len(grads), len(xs)))
	}
	if u.s == nil { // no optimizer state yet: both moments zero
		for _, x := range xs {
			t := x.Tensor()
			u.s = append(u.s, ad.Const(tensor.Zeros(t.DType(), append([]int{2}, t.Shape()...)...)))
		}
	}
	a := &u.a
	a.t++
	step := a.lr * math.Sqrt(1-math.Pow(a.beta2, float64(a.t))) / (1 - math.Pow(a.beta1, float64(a.t)))
	out := make([]*ad.Value, len(xs))
	for i, x := range xs {
		u.s[i] = ad.AdamMomentsPacked(u.s[i], grads[i], a.beta1, a.beta2)
		out[i] = ad.AdamApplyPacked(x, u.s[i], step, a.eps)
	}
	return nn.NewVals(p.Names(), out)
}

// ---- SGD ----

// SGD is plain gradient descent, the update of Eqs. 12-13 in the paper.
type SGD struct{ lr float64 }

// NewSGD returns gradient descent with learning rate lr.
func NewSGD(lr float64) *SGD { return &SGD{lr: lr} }

// LR returns the learning rate.
func (s *SGD) LR() float64 { return s.lr }

// SetLR sets the learning rate.
func (s *SGD) SetLR(lr float64) { s.lr = lr }

// Step applies p -= lr * g in place.
func (s *SGD) Step(p *nn.Params, grads []*tensor.Tensor) {
	for i, x := range p.Tensors() {
		tensor.AxpyInPlace(x, -s.lr, grads[i])
	}
}

// State is empty: SGD keeps none.
func (s *SGD) State() map[string]*tensor.Tensor { return map[string]*tensor.Tensor{} }

// LoadState accepts only the empty state: SGD keeps none.
func (s *SGD) LoadState(st map[string]*tensor.Tensor, _ *nn.Params) error {
	if len(st) != 0 {
		return fmt.Errorf("optim.SGD: state has %d tensors; SGD keeps none", len(st))
	}
	return nil
}

// Unroll returns differentiable SGD.
func (s *SGD) Unroll() Unrolled { return unrolledSGD{s.lr} }

type unrolledSGD struct{ lr float64 }

func (u unrolledSGD) Step(p nn.Vals, grads []*ad.Value) nn.Vals {
	xs := p.List()
	out := make([]*ad.Value, len(xs))
	for i, x := range xs {
		out[i] = ad.LinComb(1, x, -u.lr, grads[i])
	}
	return nn.NewVals(p.Names(), out)
}

// ---- schedules ----

// Schedule gives the learning rate at iteration it (0-based) of total.
type Schedule func(base float64, it, total int) float64

// Constant keeps the base learning rate.
func Constant(base float64, _, _ int) float64 { return base }

// CosineMin is the floor of Cosine.
const CosineMin = 1e-6

// Cosine anneals from base to CosineMin over total iterations (PyTorch's
// CosineAnnealingLR with eta_min = 1e-6, stepped once per iteration).
func Cosine(base float64, it, total int) float64 {
	if total <= 0 {
		return base
	}
	return CosineMin + (base-CosineMin)*(1+math.Cos(math.Pi*float64(it)/float64(total)))/2
}

// WithWarmup scales s linearly from base/n at iteration 0 up to s itself at
// iteration n-1 (and leaves it alone after), so that Adam's first, large
// normalised steps cannot throw a freshly initialised energy onto a flat
// region (observed for a ch = 16 ResNet EBM at lr 1e-3). A warm-up longer
// than the run is cut to the run's total, so that a config's warm-up does
// not need overriding for a short test or benchmark. n <= 1 returns s.
func WithWarmup(s Schedule, n int) Schedule {
	if n <= 1 {
		return s
	}
	return func(base float64, it, total int) float64 {
		lr := s(base, it, total)
		if w := min(n, max(total, 1)); it < w {
			lr *= float64(it+1) / float64(w)
		}
		return lr
	}
}

// ScheduleByName returns "constant" or "cosine".
func ScheduleByName(name string) (Schedule, error) {
	switch name {
	case "", "constant":
		return Constant, nil
	case "cosine":
		return Cosine, nil
	}
	return nil, fmt.Errorf("unknown learning-rate schedule %q (want constant or cosine)", name)
}
