package study

import (
	"math"
	"sync"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// grbmLimit is the closed form of the N -> ∞ limit of gradient-descent
// unrolling for a GRBM with a Bernoulli posterior. The KL inner loss of
// q(h|v) = Bernoulli(sigmoid(l)), l = vA + a, at a relaxed sample
// h = sigmoid((l + z)/τ), z ~ Logistic, is, up to terms free of φ,
//
//	Ĝ(φ) = 1/B Σ_b Σ_j f(l_bj; u_bj, z_bj),  f(l; u, z) = (l - u) h - softplus(l),
//
// u = c + W'ᵀv the GRBM's exact posterior logits. So Ĝ depends on φ only
// through the batch logits L_j = x̃ φ_j of each unit j (x̃ = [v, 1], B x
// (D+1); φ_j = (A_{:,j}, a_j)) and is a sum of one-dimensional functions of
// them. When B <= D (the rows of x̃ independent), its minimisers form the
// affine set {φ: x̃ φ_j = L*_j for every j}, L*_bj the minimiser of
// f(·; u_bj) averaged over q's noise; gradient descent from φ⁰ stays in φ⁰ +
// range(x̃ᵀ) and so ends at the projection of φ⁰ on that set,
//
//	φ*_j = φ⁰_j - x̃ᵀ K⁻¹ (x̃ φ⁰_j - L*_j),  K = x̃ x̃ᵀ,
//
// where the Hessian is x̃ᵀ D_j x̃ (D_j = diag f”(L*_bj)/B) and its
// pseudo-inverse maps a gradient r_j to x̃ᵀ K⁻¹ D_j⁻¹ K⁻¹ x̃ r_j: the
// implicit gradient of the limit is exact, with no long unroll.
type grbmLimit struct {
	cfg      *Fig1Config
	tau      float64
	b, d1, h int
	xt       []float64 // x̃ [B, D+1]
	kchol    []float64 // Cholesky factor of K = x̃ x̃ᵀ [B, B]
	u        []float64 // exact posterior logits [B, H]
	lExact   []float64 // L* of the noise-averaged loss (the exact expectation) [B, H]
	trueA    []float64 // W' [D, H] and c [H]: the exact posterior in q's family
	trueC    []float64
}

// newGRBMLimit returns the closed form for cfg, or nil where it does not
// apply (another model or posterior, or B > D).
func newGRBMLimit(cfg *Fig1Config, p objective.Perturbed) *grbmLimit {
	g, ok := cfg.Model.(*model.GRBM)
	q, ok2 := cfg.Posterior.(*model.BernoulliPosterior)
	if !ok || !ok2 {
		return nil
	}
	b, d := p.X.Shape()[0], p.X.Shape()[1]
	if b > d {
		return nil
	}
	gl := &grbmLimit{cfg: cfg, tau: q.Tau, b: b, d1: d + 1, h: g.H}
	xs := p.X.Values()
	gl.xt = make([]float64, b*(d+1))
	for i := 0; i < b; i++ {
		copy(gl.xt[i*(d+1):], xs[i*d:(i+1)*d])
		gl.xt[i*(d+1)+d] = 1
	}
	k := make([]float64, b*b)
	for i := 0; i < b; i++ {
		for j := 0; j < b; j++ {
			s := 0.0
			for c := 0; c < d+1; c++ {
				s += gl.xt[i*(d+1)+c] * gl.xt[j*(d+1)+c]
			}
			k[i*b+j] = s
		}
	}
	l, ok := tensor.TryCholesky(tensor.FromFloat64(k, b, b))
	if !ok {
		return nil // dependent rows: the minimiser set is not this one
	}
	gl.kchol = l.Values()

	// u = -∂E/∂h (E is linear in h), and the exact posterior's parameters.
	th := g.Params().Consts()
	x := ad.Const(p.X)
	hz := ad.Var(tensor.New(p.X.DType(), b, g.H))
	e := ad.SumAll(model.EnergyGivenV(g, th, x).At(hz))
	gu := ad.Grad(e, []*ad.Value{hz})[0].Tensor().Values()
	gl.u = make([]float64, len(gu))
	for i, v := range gu {
		gl.u[i] = -v
	}
	w := g.Params().Get("W").Values()
	gl.trueA = w
	if g.ScalarSigma {
		s := math.Exp(g.Params().Get("log_sigma").Values()[0])
		gl.trueA = make([]float64, len(w))
		for i := range w {
			gl.trueA[i] = w[i] / s
		}
	}
	gl.trueC = g.Params().Get("c").Values()
	table := logitStar(q.Tau)
	gl.lExact = make([]float64, len(gl.u))
	for i, u := range gl.u {
		gl.lExact[i] = table.at(u)
	}
	return gl
}

// truePosterior returns φ = (W', c): q's parameters that equal the GRBM's
// exact posterior p(h|v) before relaxation.
func (gl *grbmLimit) truePosterior() *nn.Params {
	phi := gl.cfg.Posterior.Params().Clone()
	dt := phi.Get("A").DType()
	phi.Get("A").CopyFrom(tensor.FromFloat64(gl.trueA, gl.d1-1, gl.h).As(dt))
	phi.Get("a").CopyFrom(tensor.FromFloat64(gl.trueC, gl.h).As(dt))
	return phi
}

// residual returns x̃ φ_j - target_j for every unit, [B, H].
func (gl *grbmLimit) residual(phi *nn.Params, target []float64) []float64 {
	r := gl.logits(phi.Get("A").Values(), phi.Get("a").Values())
	for i := range r {
		r[i] -= target[i]
	}
	return r
}

// logits returns the batch's x̃ (a; c) for every unit j, [B, H], with a
// laid out as A [D, H] and c as [H].
func (gl *grbmLimit) logits(a, c []float64) []float64 {
	r := make([]float64, gl.b*gl.h)
	d := gl.d1 - 1
	for i := 0; i < gl.b; i++ {
		row := gl.xt[i*gl.d1 : (i+1)*gl.d1]
		for j := 0; j < gl.h; j++ {
			s := c[j]
			for k := 0; k < d; k++ {
				s += row[k] * a[k*gl.h+j]
			}
			r[i*gl.h+j] = s
		}
	}
	return r
}

// solveK solves K y = r for each column of r [B, H], in place.
func (gl *grbmLimit) solveK(r []float64) {
	b, l := gl.b, gl.kchol
	col := make([]float64, b)
	for j := 0; j < gl.h; j++ {
		for i := 0; i < b; i++ {
			col[i] = r[i*gl.h+j]
		}
		for i := 0; i < b; i++ { // L z = r
			s := col[i]
			for k := 0; k < i; k++ {
				s -= l[i*b+k] * col[k]
			}
			col[i] = s / l[i*b+i]
		}
		for i := b - 1; i >= 0; i-- { // Lᵀ y = z
			s := col[i]
			for k := i + 1; k < b; k++ {
				s -= l[k*b+i] * col[k]
			}
			col[i] = s / l[i*b+i]
		}
		for i := 0; i < b; i++ {
			r[i*gl.h+j] = col[i]
		}
	}
}

// exactDistance is the distance from φ to the minimiser set of the
// noise-averaged inner loss: sqrt(Σ_j r_jᵀ K⁻¹ r_j), r = x̃φ - L*.
func (gl *grbmLimit) exactDistance(phi *nn.Params) float64 {
	r := gl.residual(phi, gl.lExact)
	y := append([]float64(nil), r...)
	gl.solveK(y)
	s := 0.0
	for i := range r {
		s += r[i] * y[i]
	}
	return math.Sqrt(math.Max(s, 0))
}

// draws returns the logistic noise z of pr's M draws, [M][B*H], as
// InnerLoss draws it (the first draw of each seed's generator).
func (gl *grbmLimit) draws(pr *fig1Problem) [][]float64 {
	dt := gl.cfg.Posterior.Params().Tensors()[0].DType()
	z := make([][]float64, len(pr.innerSeeds))
	for m, s := range pr.innerSeeds {
		z[m] = tensor.NewRNG(s).Logistic(dt, gl.b, gl.h).Values()
	}
	return z
}

// logitsStar returns L*_M, the minimiser of each logit's loss averaged over
// pr's M draws, found from the noise-averaged minimiser, and f”(L*_M).
func (gl *grbmLimit) logitsStar(pr *fig1Problem) (lstar, curv []float64) {
	z := gl.draws(pr)
	lstar, curv = make([]float64, len(gl.u)), make([]float64, len(gl.u))
	zs := make([]float64, len(z))
	for i, u := range gl.u {
		for m := range z {
			zs[m] = z[m][i]
		}
		f := func(l float64) (d1, d2 float64) { return relaxedDerivs(l, u, gl.tau, zs) }
		lstar[i] = minimise1D(f, gl.lExact[i])
		_, curv[i] = f(lstar[i])
	}
	return lstar, curv
}

// project returns the end of gradient descent on Ĝ_M from phi: its
// projection on {x̃ φ_j = L*_M}.
func (gl *grbmLimit) project(phi *nn.Params, pr *fig1Problem) *nn.Params {
	lstar, _ := gl.logitsStar(pr)
	return gl.projectOnto(phi, lstar)
}

// projectOnto returns the orthogonal projection of phi on {x̃ φ_j = target_j}.
func (gl *grbmLimit) projectOnto(phi *nn.Params, target []float64) *nn.Params {
	r := gl.residual(phi, target)
	gl.solveK(r) // y_j = K⁻¹ r_j
	out := phi.Clone()
	a, c := out.Get("A").Values(), out.Get("a").Values()
	d := gl.d1 - 1
	for k := 0; k < d; k++ {
		for j := 0; j < gl.h; j++ {
			s := 0.0
			for i := 0; i < gl.b; i++ {
				s += gl.xt[i*gl.d1+k] * r[i*gl.h+j]
			}
			a[k*gl.h+j] -= s
		}
	}
	for j := 0; j < gl.h; j++ {
		s := 0.0
		for i := 0; i < gl.b; i++ {
			s += r[i*gl.h+j]
		}
		c[j] -= s
	}
	dt := out.Get("A").DType()
	out.Get("A").CopyFrom(tensor.FromFloat64(a, d, gl.h).As(dt))
	out.Get("a").CopyFrom(tensor.FromFloat64(c, gl.h).As(dt))
	return out
}

// implicitGradient returns ∂_θĴ - ∇_θ <∇_φ Ĝ_M(θ, φ*), w> at φ* (a point
// of the minimiser set), w = [∇²_φφ Ĝ_M]⁺ ∇_φ Ĵ held constant: the
// implicit gradient with the pseudo-inverse in closed form.
func (gl *grbmLimit) implicitGradient(pr *fig1Problem, phiStar *nn.Params) []*tensor.Tensor {
	_, _, g, _ := objective.ImplicitGradientSolve(pr.outer, pr.inner, gl.cfg.Model.Params(), phiStar,
		func(_ func(u, out []float64), rhs []float64) ([]float64, optim.SolveInfo) {
			return gl.pseudoInverse(pr, rhs), optim.SolveInfo{Converged: true}
		})
	return g
}

// pseudoInverse returns [∇²_φφ Ĝ_M]⁺ r at the minimiser set for r laid out
// as φ = (A [D,H], a [H]) flattened: per unit j, w_j = x̃ᵀ K⁻¹ D_j⁻¹ K⁻¹ x̃ r_j.
func (gl *grbmLimit) pseudoInverse(pr *fig1Problem, r []float64) []float64 {
	_, curv := gl.logitsStar(pr)
	d := gl.d1 - 1
	xr := gl.logits(r[:d*gl.h], r[d*gl.h:]) // x̃ r_j
	gl.solveK(xr)
	for i := range xr {
		xr[i] /= curv[i] / float64(gl.b)
	}
	gl.solveK(xr)
	w := make([]float64, d*gl.h+gl.h)
	wa, wc := w[:d*gl.h], w[d*gl.h:]
	for i := 0; i < gl.b; i++ {
		row := gl.xt[i*gl.d1 : (i+1)*gl.d1]
		for jj := 0; jj < gl.h; jj++ {
			y := xr[i*gl.h+jj]
			for k := 0; k < d; k++ {
				wa[k*gl.h+jj] += row[k] * y
			}
			wc[jj] += y
		}
	}
	return w
}

// relaxedDerivs returns the first two derivatives in l of the mean over zs
// of f(l; u, z) = (l - u) h - softplus(l), h = sigmoid((l + z)/τ).
func relaxedDerivs(l, u, tau float64, zs []float64) (d1, d2 float64) {
	for _, z := range zs {
		h := sigmoid((l + z) / tau)
		h1 := h * (1 - h) / tau
		h2 := h1 * (1 - 2*h) / tau
		d1 += h + (l-u)*h1
		d2 += 2*h1 + (l-u)*h2
	}
	n := float64(len(zs))
	s := sigmoid(l)
	return d1/n - s, d2/n - s*(1-s)
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// minimise1D returns a local minimiser of a smooth function of one
// variable given its first two derivatives, the one reached from start:
// it brackets a sign change of the derivative downhill from start and
// refines it by Newton steps kept inside the bracket.
func minimise1D(f func(x float64) (d1, d2 float64), start float64) float64 {
	g0, _ := f(start)
	if g0 == 0 {
		return start
	}
	dir := -math.Copysign(1, g0) // downhill
	lo, hi := start, start
	step := 0.01
	for i := 0; i < 200; i++ {
		next := start + dir*step
		g, _ := f(next)
		if math.Copysign(1, g) != math.Copysign(1, g0) {
			lo, hi = math.Min(start, next), math.Max(start, next)
			break
		}
		start, step = next, step*1.6
	}
	if lo == hi {
		return start // no sign change found: the flattest point reached
	}
	x := 0.5 * (lo + hi)
	for i := 0; i < 100; i++ {
		g, h := f(x)
		glo, _ := f(lo)
		if math.Copysign(1, g) == math.Copysign(1, glo) {
			lo = x
		} else {
			hi = x
		}
		nx := x - g/h
		if !(h > 0) || nx <= lo || nx >= hi {
			nx = 0.5 * (lo + hi)
		}
		if math.Abs(nx-x) < 1e-13*(1+math.Abs(x)) || hi-lo < 1e-13*(1+math.Abs(x)) {
			return nx
		}
		x = nx
	}
	return x
}

// logitStarTable tabulates l*(u), the minimiser of f(·; u, z) averaged
// over z ~ Logistic exactly (midpoint rule on the logistic's quantiles),
// on a grid of u, and interpolates between grid points.
type logitStarTable struct {
	tau, lo, step float64
	vals          []float64
	zs            []float64
}

const (
	lstarQuad = 1000 // quadrature points of the logistic expectation
	lstarStep = 0.05 // grid step in u
	lstarMax  = 30.0 // grid on [-lstarMax, lstarMax]
)

var lstarTables sync.Map // τ -> *logitStarTable

// logitStar returns the table for τ, computed once.
func logitStar(tau float64) *logitStarTable {
	if t, ok := lstarTables.Load(tau); ok {
		return t.(*logitStarTable)
	}
	t, _ := lstarTables.LoadOrStore(tau, newLogitStarTable(tau))
	return t.(*logitStarTable)
}

func newLogitStarTable(tau float64) *logitStarTable {
	t := &logitStarTable{tau: tau, lo: -lstarMax, step: lstarStep}
	t.zs = make([]float64, lstarQuad)
	for i := range t.zs {
		p := (float64(i) + 0.5) / lstarQuad
		t.zs[i] = math.Log(p / (1 - p))
	}
	n := int(2*lstarMax/lstarStep) + 1
	t.vals = make([]float64, n)
	for i := range t.vals {
		t.vals[i] = t.solve(t.lo + float64(i)*t.step)
	}
	return t
}

func (t *logitStarTable) solve(u float64) float64 {
	return minimise1D(func(l float64) (float64, float64) { return relaxedDerivs(l, u, t.tau, t.zs) }, u)
}

// at returns l*(u), interpolated (solved directly outside the grid).
func (t *logitStarTable) at(u float64) float64 {
	x := (u - t.lo) / t.step
	i := int(math.Floor(x))
	if i < 0 || i+1 >= len(t.vals) {
		return t.solve(u)
	}
	f := x - float64(i)
	return t.vals[i]*(1-f) + t.vals[i+1]*f
}
