package objective

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// Solver names the linear solver of the implicit gradient.
type Solver string

const (
	// SolverMINRES solves the Hessian system by minimum residuals: no
	// damping needed on a singular Hessian (a least-squares solution).
	SolverMINRES Solver = "minres"
	// SolverCG solves it by conjugate gradients, which needs a positive
	// definite system: a positive damping.
	SolverCG Solver = "cg"
)

// Implicit configures the implicit bi-level gradient: instead of
// unrolling N inner steps, Algorithm 1 differentiates through φ*(θ) by
// the implicit function theorem at φ⁰ (after the K kept steps):
//
//	dφ*/dθ = -[∇²_φφ Ĝ]⁻¹ ∇²_φθ Ĝ,
//	∇_θ J_Bi = ∂Ĵ/∂θ - ∇_θ ⟨∇_φ Ĝ(θ, φ⁰), w⟩,   [∇²_φφ Ĝ + λI] w = ∂Ĵ/∂φ,
//
// with w held constant in the last gradient. Ĝ = Ĝ_M is the inner loss
// averaged over M draws of q's noise, fixed for the solve, so the Hessian
// is one symmetric operator, applied by Hessian-vector products.
//
// The Hessian is singular when Ĝ is flat along some changes of φ for every
// θ (on a GRBM: changes of A that leave the batch's logits vA + a as they
// are, whenever D + 1 > B). Those directions carry no θ-gradient: ∇_φ Ĝ
// is orthogonal to them for every θ, so ∇²_θφ Ĝ annihilates them, and
// the part of w there does not matter. MINRES returns a least-squares
// solution with that part bounded, so no damping is needed (λ = 0);
// CG needs λ > 0.
type Implicit struct {
	Draws   int     // M, draws of q's noise in Ĝ_M (at least 1)
	Solver  Solver  // minres (default) or cg
	Iters   int     // iteration limit of the solver
	Tol     float64 // the solver's relative tolerance
	Damping float64 // λ ≥ 0 added to the Hessian
}

// ImplicitInfo reports one implicit solve.
type ImplicitInfo struct {
	optim.SolveInfo
	InnerGradNorm float64 // ||∇_φ Ĝ_M(θ, φ⁰)||: how far φ⁰ is from stationary
}

// InnerLossMean is InnerLoss averaged over draws independent draws of q's
// noise: the noise-averaged Ĝ_M of Theorem 2's setting, a deterministic
// function of (θ, φ) once its draws are made.
func InnerLossMean(energy model.HiddenEnergy, q model.Posterior, phi nn.Vals, v *ad.Value, weights *tensor.Tensor, draws int, rng *tensor.RNG) *ad.Value {
	if draws < 1 {
		panic(fmt.Sprintf("objective.InnerLossMean: draws %d < 1", draws))
	}
	g := InnerLoss(energy, q, phi, v, weights, rng)
	for i := 1; i < draws; i++ {
		g = ad.Add(g, InnerLoss(energy, q, phi, v, weights, rng))
	}
	return ad.Scale(g, 1/float64(draws))
}

// implicitGrad is ImplicitGradient for Algorithm 1's losses on one
// minibatch: Ĵ with one draw of h, then Ĝ_M, both from rng. Its state
// lives in the BiLevel between steps (implicitScratch), so that a step
// allocates nothing.
func (b *BiLevel) implicitGrad(p Perturbed, x *ad.Value, weights *tensor.Tensor, rng *tensor.RNG) (loss, inner float64, grads []*tensor.Tensor, info ImplicitInfo) {
	sc := &b.solveScratch
	sc.b, sc.p, sc.x, sc.weights, sc.rng = b, p, x, weights, rng
	defer sc.clear()
	return implicitGradient(sc, b.Model.Params(), b.Posterior.Params(), sc)
}

// implicitProblem is what implicitGradient solves: the outer and inner
// losses and the solve of the Hessian system.
type implicitProblem interface {
	outer(theta, phi nn.Vals) *ad.Value
	inner(theta, phi nn.Vals) *ad.Value
	solve(hvp optim.Operator, rhs []float64) ([]float64, optim.SolveInfo)
}

// implicitScratch is a BiLevel's implicit gradient (an implicitProblem)
// with its vectors (the solver's and the right-hand side) and operators,
// kept from one training step to the next.
type implicitScratch struct {
	b       *BiLevel
	p       Perturbed
	x       *ad.Value
	weights *tensor.Tensor
	rng     *tensor.RNG

	krylov optim.Workspace
	rhs    []float64
	hess   hessian
	damp   damped
	info   ImplicitInfo // the last step's report (StepResult.Implicit)
}

func (sc *implicitScratch) outer(theta, phi nn.Vals) *ad.Value {
	b := sc.b
	return b.Outer.Loss(BiEnergy(b.Model, b.Posterior, theta, phi, sc.rng), sc.p)
}

func (sc *implicitScratch) inner(theta, phi nn.Vals) *ad.Value {
	b := sc.b
	return InnerLossMean(model.EnergyGivenV(b.Model, theta, sc.x), b.Posterior, phi, sc.x, sc.weights, b.Implicit.Draws, sc.rng)
}

func (sc *implicitScratch) solve(hvp optim.Operator, rhs []float64) ([]float64, optim.SolveInfo) {
	return sc.b.Implicit.solveIn(&sc.krylov, &sc.damp, hvp, rhs)
}

// clear drops the step's values (the vectors stay).
func (sc *implicitScratch) clear() {
	sc.b, sc.p, sc.x, sc.weights, sc.rng = nil, Perturbed{}, nil, nil, nil
	sc.hess, sc.damp = hessian{}, damped{}
}

// hessian applies ∇²_φφ Ĝ to u as ∇_φ ⟨∇_φ Ĝ, u⟩ (optim.Operator).
type hessian struct {
	gradG []*ad.Value // ∇_φ Ĝ, recorded
	phi   nn.Vals
	arena *tensor.Arena
}

// pair returns ⟨∇_φ Ĝ, u⟩ for a constant u: differentiated in φ, a
// Hessian-vector product; in θ, the mixed term.
func (h *hessian) pair(u []float64) *ad.Value { return ad.Inner(h.gradG, constsLike(h.gradG, u)) }

func (h *hessian) Apply(u, out []float64) {
	// Each product leaves nothing behind but out: its tensors serve the
	// next (tensor.ReleaseSince).
	mark := h.arena.Mark()
	flattenInto(out, ad.Tensors(ad.Grad(h.pair(u), h.phi.List())))
	tensor.ReleaseSince(mark)
}

// damped is an operator plus λI.
type damped struct {
	a      optim.Operator
	lambda float64
}

func (d *damped) Apply(u, out []float64) {
	d.a.Apply(u, out)
	for i := range out {
		out[i] += d.lambda * u[i]
	}
}

// ImplicitGradient returns the θ-gradient of outer(θ, φ*(θ)) by the
// implicit function theorem at φ = phi's current value, taken as the
// minimiser φ*(θ) of inner (see Implicit), with the values of outer and
// inner there and the solve's report. outer and inner are each called once
// (in that order); inner must be a deterministic function of (θ, φ) over
// the solve, which holds because its graph is built once.
func ImplicitGradient(outer, inner func(theta, phi nn.Vals) *ad.Value, thetaParams, phiParams *nn.Params, im Implicit) (outerVal, innerVal float64, grads []*tensor.Tensor, info ImplicitInfo) {
	return ImplicitGradientSolve(outer, inner, thetaParams, phiParams, im.solve)
}

// solveIn solves the damped system with the solver's vectors in ws (see
// optim.Workspace), d holding the damped operator.
func (im Implicit) solveIn(ws *optim.Workspace, d *damped, hvp optim.Operator, rhs []float64) ([]float64, optim.SolveInfo) {
	a := hvp
	if im.Damping != 0 {
		*d = damped{hvp, im.Damping}
		a = d
	}
	if im.Solver == SolverCG {
		return ws.CGOf(a, rhs, im.Tol, im.Iters)
	}
	return ws.MINRESOf(a, rhs, im.Tol, im.Iters)
}

// Solve returns w with [∇²_φφ Ĝ] w ≈ rhs; hvp(u, out) writes the
// Hessian-vector product, vectors laid out as φ's parameters flattened in
// order. A study with a closed form for the solve passes its own.
type Solve func(hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo)

// solve is the configured solver, on the damped Hessian.
func (im Implicit) solve(hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo) {
	return im.solveIn(nil, new(damped), optim.OperatorFunc(hvp), rhs)
}

// ImplicitGradientSolve is ImplicitGradient with the linear solve given.
func ImplicitGradientSolve(outer, inner func(theta, phi nn.Vals) *ad.Value, thetaParams, phiParams *nn.Params, solve Solve) (outerVal, innerVal float64, grads []*tensor.Tensor, info ImplicitInfo) {
	return implicitGradient(funcProblem{outer, inner, solve}, thetaParams, phiParams, nil)
}

// funcProblem is an implicitProblem of functions.
type funcProblem struct {
	o, i func(theta, phi nn.Vals) *ad.Value
	s    Solve
}

func (f funcProblem) outer(theta, phi nn.Vals) *ad.Value { return f.o(theta, phi) }
func (f funcProblem) inner(theta, phi nn.Vals) *ad.Value { return f.i(theta, phi) }
func (f funcProblem) solve(hvp optim.Operator, rhs []float64) ([]float64, optim.SolveInfo) {
	return f.s(hvp.Apply, rhs)
}

// implicitGradient is ImplicitGradientSolve of pr, with the right-hand
// side and the Hessian operator in sc's when sc is not nil.
func implicitGradient(pr implicitProblem, thetaParams, phiParams *nn.Params, sc *implicitScratch) (outerVal, innerVal float64, grads []*tensor.Tensor, info ImplicitInfo) {
	theta, phi := thetaParams.Vars(), phiParams.Vars()
	nth := len(theta.List())

	j := pr.outer(theta, phi)
	g := ad.Grad(j, nn.Lists(theta, phi))
	dJdTheta, dJdPhi := g[:nth], g[nth:]

	G := pr.inner(theta, phi)
	gradG := ad.Grad(G, phi.List(), ad.CreateGraph())
	info.InnerGradNorm = math.Sqrt(sqNorm(ad.Tensors(gradG)))

	var h *hessian
	var rhs []float64
	if sc != nil {
		h = &sc.hess
		rhs = flattenIn(&sc.rhs, ad.Tensors(dJdPhi))
	} else {
		h = new(hessian)
		rhs = flatten(ad.Tensors(dJdPhi))
	}
	*h = hessian{gradG: gradG, phi: phi, arena: gradG[0].Tensor().Arena()}
	w, si := pr.solve(h, rhs)
	info.SolveInfo = si
	mixed := ad.Tensors(ad.Grad(h.pair(w), theta.List()))
	grads = theta.List()[0].Tensor().Arena().TensorList(nth)
	for i, d := range ad.Tensors(dJdTheta) {
		grads[i] = tensor.Sub(d, mixed[i])
	}
	return j.Item(), G.Item(), grads, info
}

// constsLike lays the flat vector u out as constants shaped like vs.
func constsLike(vs []*ad.Value, u []float64) []*ad.Value {
	out := ad.ValueList(vs[0].Tensor().Arena(), len(vs))
	off := 0
	for i, v := range vs {
		t := tensor.ZerosLike(v.Tensor())
		fill(t, u[off:off+t.Size()])
		off += t.Size()
		out[i] = ad.Const(t)
	}
	return out
}

func flatten(ts []*tensor.Tensor) []float64 {
	var out []float64
	return flattenIn(&out, ts)
}

// flattenIn flattens ts into *buf, grown as needed, and returns it.
func flattenIn(buf *[]float64, ts []*tensor.Tensor) []float64 {
	n := 0
	for _, t := range ts {
		n += t.Size()
	}
	if cap(*buf) < n {
		*buf = make([]float64, n)
	}
	*buf = (*buf)[:n]
	flattenInto(*buf, ts)
	return *buf
}

func flattenInto(dst []float64, ts []*tensor.Tensor) {
	off := 0
	for _, t := range ts {
		switch t.DType() {
		case tensor.Float32:
			for i, v := range t.F32() {
				dst[off+i] = float64(v)
			}
		default:
			copy(dst[off:], t.F64())
		}
		off += t.Size()
	}
}

func fill(t *tensor.Tensor, src []float64) {
	switch t.DType() {
	case tensor.Float32:
		d := t.F32()
		for i := range d {
			d[i] = float32(src[i])
		}
	default:
		copy(t.F64(), src)
	}
}

func sqNorm(ts []*tensor.Tensor) float64 {
	var s float64
	for _, t := range ts {
		for i := 0; i < t.Size(); i++ {
			s += t.Flat(i) * t.Flat(i)
		}
	}
	return s
}
