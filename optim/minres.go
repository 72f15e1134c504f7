package optim

import (
	"fmt"
	"math"
)

// SolveInfo reports how a linear solve ended.
type SolveInfo struct {
	Iters int // iterations (operator applications) taken
	// Residual is ||b - A x|| / ||b||. For a consistent system it goes to
	// zero; for b with a part outside A's range it stops at that part's
	// relative size.
	Residual float64
	// LSResidual is ||A r|| / (||A|| ||r||) with r = b - A x: zero at a
	// least-squares solution, the criterion that matters when A is singular.
	LSResidual float64
	Converged  bool // the tolerance was met before the iteration limit
}

// MINRES solves A x = b for a symmetric (possibly singular or indefinite)
// operator by the minimum-residual method of Paige and Saunders (1975),
// started from x = 0. apply(v, out) writes A v into out. It stops when
// ||r|| <= tol ||A|| ||x|| (a solution) or ||A r|| <= tol ||A|| ||r|| (a
// least-squares solution: the case of a singular A and b outside its
// range), or after maxIter iterations.
//
// Started from zero, the iterates lie in the Krylov space span{b, Ab, ...},
// so on a singular A the part of x in A's null space stays bounded (no
// damping is needed): it is b's null-space part times a polynomial's
// constant term. A step along a Lanczos direction whose curvature is below
// max(tol, √ε) ||A|| would divide b's null-space part by round-off (on a
// singular A, once the range is resolved, Lanczos goes on with directions
// made of round-off); it is not taken, and the solve ends there: curvature
// below tol ||A|| counts as null space.
func MINRES(apply func(v, out []float64), b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	return (*Workspace)(nil).MINRES(apply, b, tol, maxIter)
}

// A Workspace keeps a solver's vectors from one solve to the next, so that
// repeated solves of one size (one per training step) allocate nothing.
// The solution a solve in a Workspace returns lives in it: it is valid
// until the next solve there. The zero value is ready; a nil Workspace
// allocates the vectors of each solve afresh.
type Workspace struct{ buf []float64 }

// vectors returns k zeroed vectors of n elements.
func (ws *Workspace) vectors(n, k int) [8][]float64 {
	var buf []float64
	if ws == nil {
		buf = make([]float64, n*k)
	} else {
		if cap(ws.buf) < n*k {
			ws.buf = make([]float64, n*k)
		}
		buf = ws.buf[:n*k]
		clear(buf)
	}
	var vs [8][]float64
	for i := range k {
		vs[i] = buf[i*n : (i+1)*n : (i+1)*n]
	}
	return vs
}

// An Operator is a linear map applied to vectors: Apply(v, out) writes A v
// into out. A solve through one that is a pointer allocates nothing.
type Operator interface {
	Apply(v, out []float64)
}

// OperatorFunc is a function used as an Operator.
type OperatorFunc func(v, out []float64)

// Apply calls f(v, out).
func (f OperatorFunc) Apply(v, out []float64) { f(v, out) }

// MINRES is MINRES with its vectors in ws.
func (ws *Workspace) MINRES(apply func(v, out []float64), b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	return ws.MINRESOf(OperatorFunc(apply), b, tol, maxIter)
}

// MINRESOf is MINRES of the operator a, with its vectors in ws.
func (ws *Workspace) MINRESOf(a Operator, b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	if maxIter < 1 {
		panic(fmt.Sprintf("optim.MINRES: maxIter %d < 1", maxIter))
	}
	n := len(b)
	vs := ws.vectors(n, 8)
	x := vs[0]
	beta1 := norm2(b)
	if beta1 == 0 {
		return x, SolveInfo{Converged: true}
	}
	const eps = 2.220446049250313e-16
	nullCurvature := math.Max(math.Sqrt(eps), tol)
	r1, r2, y, v := vs[1], vs[2], vs[3], vs[4]
	copy(r1, b)
	copy(r2, b)
	w, w1, w2 := vs[5], vs[6], vs[7]
	var oldb, dbar, epsln, tnorm2 float64
	beta, phibar := beta1, beta1
	cs, sn := -1.0, 0.0
	info := SolveInfo{}
	copy(y, b)
	for itn := 1; itn <= maxIter; itn++ {
		info.Iters = itn
		s := 1 / beta
		for i := range v {
			v[i] = s * y[i]
		}
		a.Apply(v, y)
		if itn >= 2 {
			c := beta / oldb
			for i := range y {
				y[i] -= c * r1[i]
			}
		}
		alfa := dot(v, y)
		c := alfa / beta
		for i := range y {
			y[i] -= c * r2[i]
		}
		r1, r2 = r2, r1
		copy(r2, y)
		oldb = beta
		beta = norm2(r2)
		tnorm2 += alfa*alfa + oldb*oldb + beta*beta

		// Apply the previous rotation, then compute the next one.
		oldeps := epsln
		delta := cs*dbar + sn*alfa
		gbar := sn*dbar - cs*alfa
		epsln = sn * beta
		dbar = -cs * beta
		root := math.Hypot(gbar, dbar)
		gamma := math.Hypot(gbar, beta)
		if gamma <= nullCurvature*math.Sqrt(tnorm2) {
			// The new direction has no curvature to round-off: it lies in
			// A's null space, where a step would only divide b's null part
			// by round-off. x is already a least-squares solution.
			info.Converged = true
			break
		}
		cs, sn = gbar/gamma, beta/gamma
		phi := cs * phibar
		phibar *= sn

		// x += phi w with w the next search direction.
		w1, w2, w = w2, w, w1
		inv := 1 / gamma
		for i := range w {
			w[i] = (v[i] - oldeps*w1[i] - delta*w2[i]) * inv
			x[i] += phi * w[i]
		}

		anorm := math.Sqrt(tnorm2)
		ynorm := norm2(x)
		rnorm := phibar
		info.Residual = rnorm / beta1
		info.LSResidual = root / anorm
		test1 := rnorm / (anorm * ynorm)
		// beta ~ 0: the Krylov space is exhausted and x is the (least-squares)
		// solution in it; going on would divide by round-off.
		if test1 <= tol || info.LSResidual <= tol || beta <= 10*eps*anorm {
			info.Converged = true
			break
		}
	}
	return x, info
}

// CG solves A x = b for a symmetric positive-definite operator by
// conjugate gradients from x = 0, stopping at ||b - A x|| <= tol ||b|| or
// after maxIter iterations. apply(v, out) writes A v into out.
func CG(apply func(v, out []float64), b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	return (*Workspace)(nil).CG(apply, b, tol, maxIter)
}

// CG is CG with its vectors in ws.
func (ws *Workspace) CG(apply func(v, out []float64), b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	return ws.CGOf(OperatorFunc(apply), b, tol, maxIter)
}

// CGOf is CG of the operator a, with its vectors in ws.
func (ws *Workspace) CGOf(a Operator, b []float64, tol float64, maxIter int) ([]float64, SolveInfo) {
	if maxIter < 1 {
		panic(fmt.Sprintf("optim.CG: maxIter %d < 1", maxIter))
	}
	n := len(b)
	vs := ws.vectors(n, 4)
	x := vs[0]
	bn := norm2(b)
	if bn == 0 {
		return x, SolveInfo{Converged: true}
	}
	r, p, ap := vs[1], vs[2], vs[3]
	copy(r, b)
	copy(p, b)
	rr := bn * bn
	info := SolveInfo{}
	for itn := 1; itn <= maxIter; itn++ {
		info.Iters = itn
		a.Apply(p, ap)
		pap := dot(p, ap)
		if !(pap > 0) {
			break // not positive definite along p: stop with what we have
		}
		a := rr / pap
		for i := range x {
			x[i] += a * p[i]
			r[i] -= a * ap[i]
		}
		rrNew := dot(r, r)
		info.Residual = math.Sqrt(rrNew) / bn
		if info.Residual <= tol {
			info.Converged = true
			break
		}
		bt := rrNew / rr
		rr = rrNew
		for i := range p {
			p[i] = r[i] + bt*p[i]
		}
	}
	return x, info
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }
