package objective

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

func relDiff(a, b []*tensor.Tensor) float64 {
	var d, n float64
	for i := range a {
		for j := 0; j < a[i].Size(); j++ {
			x, y := a[i].Flat(j), b[i].Flat(j)
			d += (x - y) * (x - y)
			n += y * y
		}
	}
	return math.Sqrt(d / n)
}

// TestImplicitTheorem1: on the linear-Gaussian model with q at the true
// posterior φ*(θ), the implicit gradient is the marginal score-matching
// gradient (Theorem 1), and it matches central finite differences of
// θ -> Ĵ(θ, φ*(θ)) with the exact φ*(θ). The Hessian is singular (the
// masked upper triangle of L): MINRES needs no damping, CG a little.
func TestImplicitTheorem1(t *testing.T) {
	for _, o := range []Outer{{Kind: SSM}, {Kind: DSM, Sigma: 0.3}} {
		for _, solver := range []Implicit{
			{Draws: 3, Solver: SolverMINRES, Iters: 300, Tol: 1e-14},
			{Draws: 2, Solver: SolverCG, Iters: 300, Tol: 1e-14, Damping: 1e-9},
		} {
			t.Run(o.Kind.String()+"/"+string(solver.Solver), func(t *testing.T) {
				rng := tensor.NewRNG(7)
				m := model.NewLinearGaussian(3, 2, rng, f64)
				q := model.NewGaussianPosterior(3, 2, rng, f64)
				v := rng.Normal(f64, 0, 1, 8, 3)
				p := o.Perturb(v, tensor.NewRNG(8))
				star := m.PosteriorParams(m.Params().Consts())
				for _, name := range star.Names() {
					q.Params().Get(name).CopyFrom(star.Get(name).Tensor())
				}
				im := solver
				b := &BiLevel{Model: m, Posterior: q, Outer: o, InnerOpt: optim.NewAdam(1e-3, 0.9, 0.95), Implicit: &im}
				r := b.StepPerturbed(p, tensor.NewRNG(9))
				if r.Implicit == nil || !r.Implicit.Converged {
					t.Fatalf("solve did not converge: %+v", r.Implicit)
				}

				theta := m.Params().Vars()
				marg := ad.Tensors(ad.Grad(o.Loss(MarginalEnergy(m, theta), p), theta.List()))
				if d := relDiff(r.Grads, marg); d > 1e-8 {
					t.Errorf("implicit vs marginal SM gradient: relative difference %.2e", d)
				}
				// Without the path through φ*(θ) the gradient is different:
				// the test would fail if the mixed term were dropped.
				th := m.Params().Vars()
				fixed := ad.Tensors(ad.Grad(o.Loss(BiEnergy(m, q, th, q.Params().Consts(), tensor.NewRNG(9)), p), th.List()))
				if d := relDiff(fixed, marg); d < 1e-2 {
					t.Fatalf("φ held fixed gives the same gradient (%.2e): the test cannot tell", d)
				}

				// Central differences of θ -> Ĵ(θ, φ*(θ)), the noise of h fixed.
				jStar := func() float64 {
					th := m.Params().Consts()
					return o.Loss(BiEnergy(m, q, th, m.PosteriorParams(th), tensor.NewRNG(10)), p).Item()
				}
				const eps = 1e-5
				for i, pt := range m.Params().Tensors() {
					for j := 0; j < pt.Size(); j++ {
						x := pt.Flat(j)
						pt.SetFlat(j, x+eps)
						up := jStar()
						pt.SetFlat(j, x-eps)
						down := jStar()
						pt.SetFlat(j, x)
						fd := (up - down) / (2 * eps)
						if g := r.Grads[i].Flat(j); math.Abs(g-fd) > 1e-6*math.Max(1, math.Abs(fd)) {
							t.Errorf("%s[%d]: implicit %.9g, finite difference %.9g", m.Params().Names()[i], j, g, fd)
						}
					}
				}
			})
		}
	}
}

// TestImplicitGRBMUnrollLimit: on a small GRBM with a relaxed Bernoulli q,
// at a minimiser of the noise-averaged Ĝ_M (the same M draws throughout),
// the implicit gradient is the limit of the gradient through N unrolled
// gradient-descent steps as N grows, with a well-posed inner problem
// (B > D + 1) and with a singular one (B < D + 1, a set of minimisers).
// In the singular case it also checks why no damping is needed: adding a
// null-space direction of the Hessian to w leaves θ's gradient unchanged;
// and that a small damping is a small, vanishing change.
func TestImplicitGRBMUnrollLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		d, h, b int
	}{{"regular", 3, 2, 12}, {"singular", 6, 2, 4}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := tensor.NewRNG(11)
			m := model.NewGRBM(tc.d, tc.h, false, rng, f64)
			q := model.NewBernoulliPosterior(tc.d, tc.h, rng, f64)
			v := rng.Normal(f64, 0, 1, tc.b, tc.d)
			o := Outer{Kind: DSM, Sigma: 0.3}
			p := o.Perturb(v, tensor.NewRNG(12))
			x := ad.Const(p.X)
			const draws = 4

			// The implicit step's stream: the outer h first, then Ĝ_M's draws.
			seed := tensor.NewRNG(13)
			state, _ := seed.MarshalBinary()
			restore := func() *tensor.RNG {
				r := tensor.NewRNG(0)
				if err := r.UnmarshalBinary(state); err != nil {
					t.Fatal(err)
				}
				return r
			}
			innerRNG := restore()
			q.Sample(q.Params().Consts(), x, innerRNG)
			innerState, _ := innerRNG.MarshalBinary()
			gHat := func(th, phi nn.Vals) *ad.Value {
				r := tensor.NewRNG(0)
				_ = r.UnmarshalBinary(innerState)
				return InnerLossMean(model.EnergyGivenV(m, th, x), q, phi, x, nil, draws, r)
			}

			// φ⁰: a minimiser of Ĝ_M by gradient descent, then
			// Newton steps (least-squares ones where the Hessian is singular).
			hess := func(u []float64) []float64 {
				phi := q.Params().Vars()
				g := ad.Grad(gHat(m.Params().Consts(), phi), phi.List(), ad.CreateGraph())
				return flatten(ad.Tensors(ad.Grad(ad.Inner(g, constsLike(g, u)), phi.List())))
			}
			u := make([]float64, q.Params().Count())
			for i := range u {
				u[i] = math.Sin(float64(i + 1))
			}
			var lmax float64
			for i := 0; i < 100; i++ {
				hu := hess(u)
				lmax = math.Sqrt(dotF(hu, hu) / dotF(u, u))
				u = hu
			}
			alpha := 1.5 / lmax // stable below 2/λ_max, and faster on the small eigenvalues
			for i := 0; i < 210; i++ {
				phi := q.Params().Vars()
				g := ad.Tensors(ad.Grad(gHat(m.Params().Consts(), phi), phi.List()))
				if i >= 200 {
					step, _ := optim.MINRES(func(u, out []float64) { copy(out, hess(u)) }, flatten(g), 1e-14, 100)
					g = unflattenLike(step, g)
					for j, pt := range q.Params().Tensors() {
						tensor.AxpyInPlace(pt, -1, g[j])
					}
					continue
				}
				for j, pt := range q.Params().Tensors() {
					tensor.AxpyInPlace(pt, -alpha, g[j])
				}
			}

			im := &Implicit{Draws: draws, Iters: 500, Tol: 1e-10}
			b := &BiLevel{Model: m, Posterior: q, Outer: o, InnerOpt: optim.NewAdam(1e-3, 0.9, 0.95), Implicit: im}
			r := b.StepPerturbed(p, restore())
			if !r.Implicit.Converged {
				t.Fatalf("solve: %+v", r.Implicit)
			}
			if r.Implicit.InnerGradNorm > 1e-9 {
				t.Fatalf("φ⁰ is not a minimiser: |∇Ĝ_M| = %g", r.Implicit.InnerGradNorm)
			}

			unroll := func(n int) []*tensor.Tensor {
				theta := m.Params().Vars()
				phi := q.Params().Vars()
				for i := 0; i < n; i++ {
					g := ad.Grad(gHat(theta, phi), phi.List(), ad.CreateGraph())
					next := make([]*ad.Value, len(g))
					for j := range g {
						next[j] = ad.Sub(phi.List()[j], ad.Scale(g[j], alpha))
					}
					phi = nn.NewVals(phi.Names(), next)
				}
				outer := o.Loss(BiEnergy(m, q, theta, phi, restore()), p)
				return ad.Tensors(ad.Grad(outer, theta.List()))
			}
			prev := math.Inf(1)
			for _, n := range []int{0, 30, 300, 1000} {
				d := relDiff(unroll(n), r.Grads)
				t.Logf("N = %4d: |g_N - g_implicit| / |g_implicit| = %.2e", n, d)
				if d > prev*1.01 {
					t.Errorf("N = %d: the unroll moved away from the implicit gradient (%.2e after %.2e)", n, d, prev)
				}
				prev = d
			}
			if prev > 1e-7 {
				t.Errorf("N = 1000: relative difference %.2e, want the limit", prev)
			}

			// Damping: MINRES at λ = 0 is the limit of damped solves. A decade
			// of damping far below the curvature changes the gradient by less
			// than 1e-4 relative, and the change shrinks with λ (down to a
			// floor near 1e-6 in the singular case, where a damped solve
			// divides ∂Ĵ/∂φ's null-space part by λ).
			prevD := math.Inf(1)
			for _, rel := range []float64{1e-6, 1e-7} {
				dm := *im
				dm.Damping = rel * lmax
				bd := &BiLevel{Model: m, Posterior: q, Outer: o, InnerOpt: optim.NewAdam(1e-3, 0.9, 0.95), Implicit: &dm}
				d := relDiff(bd.StepPerturbed(p, restore()).Grads, r.Grads)
				t.Logf("damping %.0e λ_max: relative change %.2e", rel, d)
				if d > 1e-4 || d > prevD {
					t.Errorf("damping %.0e λ_max: relative change %.2e (after %.2e)", rel, d, prevD)
				}
				prevD = d
			}

			if tc.name == "singular" {
				// A null direction of the Hessian: change A's column j by a
				// vector orthogonal to every (v_b, 1) of the batch.
				theta := m.Params().Vars()
				phi := q.Params().Vars()
				g := ad.Grad(gHat(theta, phi), phi.List(), ad.CreateGraph())
				nul := make([]float64, q.Params().Count())
				// v has B = 4 rows in D + 1 = 7 dims: take a vector of R^7
				// orthogonal to them by Gram-Schmidt.
				rows := make([][]float64, tc.b)
				for i := range rows {
					rows[i] = append(p.X.Values()[i*tc.d:(i+1)*tc.d:(i+1)*tc.d], 1)
				}
				z := []float64{1, -2, 3, 0.5, -1, 2, 1}
				for k := range rows {
					for _, r2 := range rows[:k] {
						c := dotF(rows[k], r2) / dotF(r2, r2)
						for i := range rows[k] {
							rows[k][i] -= c * r2[i]
						}
					}
				}
				for _, r2 := range rows {
					c := dotF(z, r2) / dotF(r2, r2)
					for i := range z {
						z[i] -= c * r2[i]
					}
				}
				// φ = (A [D,H], a [H]): put z in unit 0's column.
				names := q.Params().Names()
				off := 0
				for _, name := range names {
					pt := q.Params().Get(name)
					if name == "A" {
						for i := 0; i < tc.d; i++ {
							nul[off+i*tc.h] = z[i]
						}
					} else if name == "a" {
						nul[off] = z[tc.d]
					}
					off += pt.Size()
				}
				hn := hess(nul)
				if v := math.Sqrt(dotF(hn, hn) / dotF(nul, nul)); v > 1e-12*lmax {
					t.Fatalf("not a null direction: |H n| / |n| = %g", v)
				}
				mixed := ad.Tensors(ad.Grad(ad.Inner(g, constsLike(g, nul)), theta.List()))
				if v := math.Sqrt(dotF(flatten(mixed), flatten(mixed))) / math.Sqrt(dotF(flatten(r.Grads), flatten(r.Grads))); v > 1e-12 {
					t.Errorf("the mixed term does not annihilate a null direction: %g", v)
				}
			}
		})
	}
}

func dotF(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func unflattenLike(u []float64, like []*tensor.Tensor) []*tensor.Tensor {
	out := make([]*tensor.Tensor, len(like))
	off := 0
	for i, l := range like {
		t := tensor.ZerosLike(l)
		fill(t, u[off:off+t.Size()])
		off += t.Size()
		out[i] = t
	}
	return out
}
