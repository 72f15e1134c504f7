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
// minibatch: Ĵ with one draw of h, then Ĝ_M, both from rng.
func (b *BiLevel) implicitGrad(p Perturbed, x *ad.Value, weights *tensor.Tensor, rng *tensor.RNG) (loss, inner float64, grads []*tensor.Tensor, info ImplicitInfo) {
	outer := func(theta, phi nn.Vals) *ad.Value {
		return b.Outer.Loss(BiEnergy(b.Model, b.Posterior, theta, phi, rng), p)
	}
	innerLoss := func(theta, phi nn.Vals) *ad.Value {
		return InnerLossMean(model.EnergyGivenV(b.Model, theta, x), b.Posterior, phi, x, weights, b.Implicit.Draws, rng)
	}
	im, sc := *b.Implicit, &b.solveScratch
	solve := func(hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo) {
		return im.solveIn(&sc.krylov, hvp, rhs)
	}
	return implicitGradient(outer, innerLoss, b.Model.Params(), b.Posterior.Params(), solve, sc)
}

// implicitScratch keeps the implicit gradient's vectors (the solver's and
// the right-hand side) from one training step to the next.
type implicitScratch struct {
	krylov optim.Workspace
	rhs    []float64
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

// solveIn is solve with the solver's vectors in ws (see optim.Workspace).
func (im Implicit) solveIn(ws *optim.Workspace, hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo) {
	damped := hvp
	if im.Damping != 0 {
		damped = func(u, out []float64) {
			hvp(u, out)
			for i := range out {
				out[i] += im.Damping * u[i]
			}
		}
	}
	if im.Solver == SolverCG {
		return ws.CG(damped, rhs, im.Tol, im.Iters)
	}
	return ws.MINRES(damped, rhs, im.Tol, im.Iters)
}

// Solve returns w with [∇²_φφ Ĝ] w ≈ rhs; hvp(u, out) writes the
// Hessian-vector product, vectors laid out as φ's parameters flattened in
// order. A study with a closed form for the solve passes its own.
type Solve func(hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo)

// solve is the configured solver, on the damped Hessian.
func (im Implicit) solve(hvp func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo) {
	return im.solveIn(nil, hvp, rhs)
}

// ImplicitGradientSolve is ImplicitGradient with the linear solve given.
func ImplicitGradientSolve(outer, inner func(theta, phi nn.Vals) *ad.Value, thetaParams, phiParams *nn.Params, solve Solve) (outerVal, innerVal float64, grads []*tensor.Tensor, info ImplicitInfo) {
	return implicitGradient(outer, inner, thetaParams, phiParams, solve, nil)
}

// implicitGradient is ImplicitGradientSolve with the right-hand side in
// sc's, when sc is not nil.
func implicitGradient(outer, inner func(theta, phi nn.Vals) *ad.Value, thetaParams, phiParams *nn.Params, solve Solve, sc *implicitScratch) (outerVal, innerVal float64, grads []*tensor.Tensor, info ImplicitInfo) {
	theta, phi := thetaParams.Vars(), phiParams.Vars()
	nth := len(theta.List())

	j := outer(theta, phi)
	g := ad.Grad(j, nn.Lists(theta, phi))
	dJdTheta, dJdPhi := g[:nth], g[nth:]

	G := inner(theta, phi)
	gradG := ad.Grad(G, phi.List(), ad.CreateGraph())
	info.InnerGradNorm = math.Sqrt(sqNorm(ad.Tensors(gradG)))

	// ⟨∇_φ Ĝ, u⟩ for a constant u: differentiated in φ, a Hessian-vector
	// product; in θ, the mixed term.
	pair := func(u []float64) *ad.Value { return ad.Inner(gradG, constsLike(gradG, u)) }
	arena := gradG[0].Tensor().Arena()
	hvp := func(u, out []float64) {
		// Each product leaves nothing behind but out: its tensors serve the
		// next (tensor.ReleaseSince).
		mark := arena.Mark()
		flattenInto(out, ad.Tensors(ad.Grad(pair(u), phi.List())))
		tensor.ReleaseSince(mark)
	}
	var rhs []float64
	if sc != nil {
		rhs = flattenIn(&sc.rhs, ad.Tensors(dJdPhi))
	} else {
		rhs = flatten(ad.Tensors(dJdPhi))
	}
	w, si := solve(hvp, rhs)
	info.SolveInfo = si
	mixed := ad.Tensors(ad.Grad(pair(w), theta.List()))
	grads = make([]*tensor.Tensor, nth)
	for i, d := range ad.Tensors(dJdTheta) {
		grads[i] = tensor.Sub(d, mixed[i])
	}
	return j.Item(), G.Item(), grads, info
}

// constsLike lays the flat vector u out as constants shaped like vs.
func constsLike(vs []*ad.Value, u []float64) []*ad.Value {
	out := valueLists.Make(vs[0].Tensor().Arena(), len(vs))
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

// valueLists serves constsLike's lists, which in an arena's Step live as
// long as the step's tensors.
var valueLists = tensor.NewSlices[*ad.Value]()

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
