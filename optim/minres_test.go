package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// symmetric returns Q diag(eig) Qᵀ for a random orthogonal Q.
func symmetric(eig []float64, rng *rand.Rand) [][]float64 {
	n := len(eig)
	q := make([][]float64, n) // Gram-Schmidt on Gaussian columns
	for j := range q {
		c := make([]float64, n)
		for i := range c {
			c[i] = rng.NormFloat64()
		}
		for k := 0; k < j; k++ {
			d := dot(c, q[k])
			for i := range c {
				c[i] -= d * q[k][i]
			}
		}
		s := 1 / norm2(c)
		for i := range c {
			c[i] *= s
		}
		q[j] = c
	}
	a := make([][]float64, n)
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			for k := range eig {
				a[i][j] += q[k][i] * eig[k] * q[k][j]
			}
		}
	}
	return a
}

func matvec(a [][]float64) func(v, out []float64) {
	return func(v, out []float64) {
		for i := range a {
			out[i] = dot(a[i], v)
		}
	}
}

func residual(a [][]float64, x, b []float64) []float64 {
	r := make([]float64, len(b))
	matvec(a)(x, r)
	for i := range r {
		r[i] = b[i] - r[i]
	}
	return r
}

func TestKrylovSolvers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 30
	eig := make([]float64, n)
	for i := range eig {
		eig[i] = 0.1 + 9.9*float64(i)/float64(n-1) // condition number 100
	}
	a := symmetric(eig, rng)
	b := make([]float64, n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	for _, tc := range []struct {
		name  string
		solve func(func(v, out []float64), []float64, float64, int) ([]float64, SolveInfo)
	}{{"MINRES", MINRES}, {"CG", CG}} {
		x, info := tc.solve(matvec(a), b, 1e-12, 200)
		if !info.Converged {
			t.Fatalf("%s did not converge: %+v", tc.name, info)
		}
		if r := norm2(residual(a, x, b)) / norm2(b); r > 1e-9 {
			t.Errorf("%s: relative residual %g, reported %g", tc.name, r, info.Residual)
		}
	}
}

// On a singular A with b partly outside its range, MINRES returns a
// least-squares solution: Aᵀ(b - Ax) = 0, and its range part is A⁺b.
func TestMINRESSingular(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n, rank := 25, 15
	eig := make([]float64, n)
	for i := 0; i < rank; i++ {
		eig[i] = 0.5 + float64(i)
	}
	a := symmetric(eig, rng)
	b := make([]float64, n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	x, info := MINRES(matvec(a), b, 1e-14, 500)
	if !info.Converged {
		t.Fatalf("no convergence: %+v", info)
	}
	r := residual(a, x, b)
	ar := make([]float64, n)
	matvec(a)(r, ar)
	if v := norm2(ar) / norm2(r); v > 1e-8 {
		t.Errorf("|A r| / |r| = %g, want ~0 at a least-squares solution", v)
	}
	if info.Residual < 0.1 || info.Residual > 1 {
		t.Errorf("relative residual %g: b has a null-space part, so it cannot vanish", info.Residual)
	}
	// A x is the projection of b on A's range: A x = A A⁺ b for any LS solution.
	ax := make([]float64, n)
	matvec(a)(x, ax)
	if math.Abs(dot(ax, r)) > 1e-8*norm2(b)*norm2(b) {
		t.Errorf("A x is not orthogonal to the residual: %g", dot(ax, r))
	}
	// The null-space part of x stays bounded (no damping): |x| of the order of |A⁺b|.
	if norm2(x) > 100*norm2(b) {
		t.Errorf("|x| = %g grew without bound", norm2(x))
	}
}
