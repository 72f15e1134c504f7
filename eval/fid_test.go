package eval

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/tensor"
)

// fidRandSym returns a random symmetric d×d matrix (row-major).
func fidRandSym(rng *tensor.RNG, d int) []float64 {
	a := rng.Normal(tensor.Float64, 0, 1, d, d).F64()
	symmetrize(a, d)
	return a
}

// fidCorrelated returns n rows of d features x = z L + shift with z
// standard normal and a fixed random mixing L, so Cov = LᵀL.
func fidCorrelated(rng *tensor.RNG, n, d int, mix []float64, shift float64) [][]float64 {
	z := rng.Normal(tensor.Float64, 0, 1, n, d)
	x := tensor.MatMul(z, tensor.FromFloat64(mix, d, d), false, false).F64()
	rows := make([][]float64, n)
	for i := range rows {
		rows[i] = x[i*d : (i+1)*d]
		for j := range rows[i] {
			rows[i][j] += shift
		}
	}
	return rows
}

func TestSymmetricEigen(t *testing.T) {
	rng := tensor.NewRNG(1)
	const d = 12
	cases := map[string][]float64{"random": fidRandSym(rng, d)}
	// Repeated eigenvalues: I + u uᵀ (eigenvalue 1 eleven times).
	u := rng.Normal(tensor.Float64, 0, 1, d).F64()
	rep := make([]float64, d*d)
	for i := 0; i < d; i++ {
		rep[i*d+i] = 1
		for j := 0; j < d; j++ {
			rep[i*d+j] += u[i] * u[j]
		}
	}
	cases["repeated"] = rep
	// Singular PSD: LᵀL with L of rank 3.
	l := rng.Normal(tensor.Float64, 0, 1, 3, d)
	cases["rank3"] = tensor.MatMul(l, l, true, false).F64()
	cases["diagonal"] = func() []float64 {
		a := make([]float64, d*d)
		for i := 0; i < d; i++ {
			a[i*d+i] = float64(i) - 3
		}
		return a
	}()
	for name, a := range cases {
		vals, vecs := SymmetricEigen(a, d)
		scale := 0.0
		for _, v := range a {
			scale = math.Max(scale, math.Abs(v))
		}
		for k := 0; k < d; k++ {
			vk := vecs[k*d : (k+1)*d]
			for i := 0; i < d; i++ {
				av := 0.0
				for j := 0; j < d; j++ {
					av += a[i*d+j] * vk[j]
				}
				if math.Abs(av-vals[k]*vk[i]) > 1e-12*scale*float64(d) {
					t.Fatalf("%s: (A v - λ v)[%d] = %g for eigenpair %d", name, i, av-vals[k]*vk[i], k)
				}
			}
			for k2 := 0; k2 < d; k2++ {
				dot := 0.0
				for j := 0; j < d; j++ {
					dot += vk[j] * vecs[k2*d+j]
				}
				want := 0.0
				if k == k2 {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12 {
					t.Fatalf("%s: v%d·v%d = %g", name, k, k2, dot)
				}
			}
		}
		if name == "rank3" {
			small := 0
			for _, v := range vals {
				if math.Abs(v) < 1e-12*scale {
					small++
				}
			}
			if small != d-3 {
				t.Fatalf("rank-3 matrix has %d zero eigenvalues, want %d (%v)", small, d-3, vals)
			}
		}
	}
}

func TestFIDOfASetWithItselfIsZero(t *testing.T) {
	rng := tensor.NewRNG(2)
	const d = 16
	x := fidCorrelated(rng, 400, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0.5)
	f, err := FID(x, x)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := FitGaussian(x)
	tr := 0.0
	for i := 0; i < d; i++ {
		tr += g.Cov[i*d+i]
	}
	if math.Abs(f) > 1e-10*tr {
		t.Fatalf("FID(x, x) = %g (trace of Σ %g)", f, tr)
	}
	// Fewer samples than dimensions: singular covariances still give 0.
	y := fidCorrelated(rng, 10, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0)
	gy, _ := FitGaussian(y)
	try := 0.0
	for i := 0; i < d; i++ {
		try += gy.Cov[i*d+i]
	}
	if f, err := FID(y, y); err != nil || math.Abs(f) > 1e-10*try {
		t.Fatalf("FID(y, y) = %g, %v with singular covariance (trace %g)", f, err, try)
	}
}

// sqrtmDB is the Denman–Beavers iteration for the principal square root of
// a matrix with positive eigenvalues (here Σ1Σ2, which is not symmetric):
// Y ← (Y + Z⁻¹)/2, Z ← (Z + Y⁻¹)/2 from Y = A, Z = I converges to A^{1/2}.
func sqrtmDB(a *tensor.Tensor, d int) *tensor.Tensor {
	y := a.Clone()
	z := tensor.New(tensor.Float64, d, d)
	for i := 0; i < d; i++ {
		z.Set(1, i, i)
	}
	for it := 0; it < 60; it++ {
		yi, zi := tensor.Inverse(y), tensor.Inverse(z)
		y, z = tensor.Scale(tensor.Add(y, zi), 0.5), tensor.Scale(tensor.Add(z, yi), 0.5)
	}
	return y
}

// TestFIDMatchesSqrtm compares with the textbook formula
// |μ1-μ2|² + tr(Σ1 + Σ2 - 2 sqrtm(Σ1Σ2)) evaluated on the same sample
// moments by an independent method (Denman–Beavers on the non-symmetric
// product).
func TestFIDMatchesSqrtm(t *testing.T) {
	rng := tensor.NewRNG(3)
	const d = 6
	a := fidCorrelated(rng, 300, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0)
	b := fidCorrelated(rng, 500, d, rng.Normal(tensor.Float64, 0, 0.7, d, d).F64(), 0.3)
	got, err := FID(a, b)
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := FitGaussian(a)
	gb, _ := FitGaussian(b)
	prod := tensor.MatMul(tensor.FromFloat64(ga.Cov, d, d), tensor.FromFloat64(gb.Cov, d, d), false, false)
	root := sqrtmDB(prod, d)
	want := 0.0
	for i := 0; i < d; i++ {
		dm := ga.Mean[i] - gb.Mean[i]
		want += dm*dm + ga.Cov[i*d+i] + gb.Cov[i*d+i] - 2*root.At(i, i)
	}
	t.Logf("FID %.12g, textbook %.12g", got, want)
	if math.Abs(got-want) > 1e-9*math.Abs(want) {
		t.Fatalf("FID %.12g, textbook formula %.12g", got, want)
	}
}

// TestTraceSqrtProductLargeD checks the pivoted-Cholesky path that
// TraceSqrtProduct takes above jacobiMaxDim (lowered here to 0) against the
// Jacobi path, for covariances of full rank and of rank below D.
func TestTraceSqrtProductLargeD(t *testing.T) {
	rng := tensor.NewRNG(8)
	const d = 30
	cov := func(n int) []float64 {
		g, err := FitGaussian(fidCorrelated(rng, n, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0))
		if err != nil {
			t.Fatal(err)
		}
		return g.Cov
	}
	full1, full2, low1, low2 := cov(200), cov(300), cov(12), cov(20)
	for _, tc := range []struct {
		name   string
		s1, s2 []float64
	}{
		{"both positive definite", full1, full2},
		{"Σ2 singular", full1, low2},
		{"Σ1 singular", low1, full2},
		{"both singular", low1, low2},
	} {
		want := TraceSqrtProduct(tc.s1, tc.s2, d)
		saved := jacobiMaxDim
		jacobiMaxDim = 0
		got := TraceSqrtProduct(tc.s1, tc.s2, d)
		jacobiMaxDim = saved
		t.Logf("%s: large-D path %.15g, Jacobi %.15g", tc.name, got, want)
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s: large-D path %.15g, Jacobi %.15g", tc.name, got, want)
		}
	}
	for _, c := range []struct {
		cov  []float64
		rank int
	}{{full1, d}, {low1, 11}, {low2, 19}} {
		if l := pivotedCholesky(c.cov, d, c.rank-1); l != nil {
			t.Errorf("pivoted Cholesky of rank %d capped at %d: got %d columns, want nil", c.rank, c.rank-1, l.Dim(1))
		}
		l := pivotedCholesky(c.cov, d, d)
		if l.Dim(1) != c.rank {
			t.Errorf("pivoted Cholesky: rank %d, want %d", l.Dim(1), c.rank)
		}
		llt := tensor.MatMul(l, l, false, true).F64()
		for i, v := range llt {
			if math.Abs(v-c.cov[i]) > 1e-10*math.Abs(c.cov[i%d*d+i%d]) {
				t.Fatalf("rank %d: (LLᵀ)[%d] = %g, Σ %g", c.rank, i, v, c.cov[i])
			}
		}
	}
}

// TestFIDDiagonalClosedForm: for diagonal covariances the distance is
// Σ_i (μ1_i - μ2_i)² + (σ1_i - σ2_i)², exactly, and unchanged by a common
// rotation of both Gaussians; large samples approach it.
func TestFIDDiagonalClosedForm(t *testing.T) {
	const d = 4
	mu1, mu2 := []float64{0, 1, -1, 2}, []float64{0.5, 1, 0, 2.5}
	s1, s2 := []float64{1, 2, 0.5, 1}, []float64{1.5, 1, 0.5, 3}
	want := 0.0
	g1 := Gaussian{D: d, Mean: mu1, Cov: make([]float64, d*d)}
	g2 := Gaussian{D: d, Mean: mu2, Cov: make([]float64, d*d)}
	for i := 0; i < d; i++ {
		want += (mu1[i]-mu2[i])*(mu1[i]-mu2[i]) + (s1[i]-s2[i])*(s1[i]-s2[i])
		g1.Cov[i*d+i], g2.Cov[i*d+i] = s1[i]*s1[i], s2[i]*s2[i]
	}
	got, err := FrechetDistance(g1, g2)
	if err != nil || math.Abs(got-want) > 1e-12*want {
		t.Fatalf("diagonal: %.15g, %v; want %.15g", got, err, want)
	}
	// Rotate both by one orthogonal Q (from an eigendecomposition).
	_, q := SymmetricEigen(fidRandSym(tensor.NewRNG(4), d), d)
	qt := tensor.FromFloat64(q, d, d)
	rot := func(g Gaussian) Gaussian {
		m := tensor.MatMul(qt, tensor.FromFloat64(g.Mean, d, 1), false, false).F64()
		c := tensor.MatMul(tensor.MatMul(qt, tensor.FromFloat64(g.Cov, d, d), false, false), qt, false, true).F64()
		return Gaussian{D: d, Mean: m, Cov: c}
	}
	got, err = FrechetDistance(rot(g1), rot(g2))
	if err != nil || math.Abs(got-want) > 1e-10*want {
		t.Fatalf("rotated: %.15g, %v; want %.15g", got, err, want)
	}

	// Samples: the estimate's error is O(D/N) bias plus O(1/√N) noise.
	rng := tensor.NewRNG(5)
	const n = 20000
	draw := func(mu, s []float64) [][]float64 {
		z := rng.Normal(tensor.Float64, 0, 1, n, d).F64()
		rows := make([][]float64, n)
		for i := range rows {
			rows[i] = z[i*d : (i+1)*d]
			for j := range rows[i] {
				rows[i][j] = mu[j] + s[j]*rows[i][j]
			}
		}
		return rows
	}
	est, err := FID(draw(mu1, s1), draw(mu2, s2))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sampled FID %.4f, population %.4f", est, want)
	if math.Abs(est-want) > 0.03*want {
		t.Fatalf("sampled FID %.4f, population value %.4f", est, want)
	}
}

func TestFIDErrors(t *testing.T) {
	if _, err := FID([][]float64{{1, 2}}, [][]float64{{1, 2}, {3, 4}}); err == nil {
		t.Fatal("one row accepted")
	}
	if _, err := FID([][]float64{{1, 2}, {3, 4}}, [][]float64{{1, 2, 3}, {3, 4, 5}}); err == nil {
		t.Fatal("dimension mismatch accepted")
	}
	if _, err := FID([][]float64{{1, 2}, {3}}, [][]float64{{1, 2}, {3, 4}}); err == nil {
		t.Fatal("ragged rows accepted")
	}
}

// TestKIDBruteForce checks the unbiased estimator on one subset that is the
// whole of both sets, against a direct double loop.
func TestKIDBruteForce(t *testing.T) {
	rng := tensor.NewRNG(6)
	const n, d = 7, 3
	a := fidCorrelated(rng, n, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0)
	b := fidCorrelated(rng, n, d, rng.Normal(tensor.Float64, 0, 1, d, d).F64(), 0.2)
	k := func(x, y []float64) float64 {
		s := 0.0
		for i := range x {
			s += x[i] * y[i]
		}
		v := s/d + 1
		return v * v * v
	}
	var xx, yy, xy float64
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if i != j {
				xx += k(a[i], a[j])
				yy += k(b[i], b[j])
			}
			xy += k(a[i], b[j])
		}
	}
	want := xx/(n*(n-1)) + yy/(n*(n-1)) - 2*xy/(n*n)
	got, err := KID(a, b, KIDOptions{Subsets: 3, SubsetSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got.SubsetSize != n || math.Abs(got.Mean-want) > 1e-12*math.Max(1, math.Abs(want)) || got.Std > 1e-12 {
		t.Fatalf("KID %+v, want mean %.15g", got, want)
	}
}

func TestKIDSameVersusShifted(t *testing.T) {
	rng := tensor.NewRNG(7)
	const d, n = 8, 3000
	mix := rng.Normal(tensor.Float64, 0, 0.5, d, d).F64()
	a := fidCorrelated(rng, n, d, mix, 0)
	b := fidCorrelated(rng, n, d, mix, 0)
	c := fidCorrelated(rng, n, d, mix, 0.5)
	opts := KIDOptions{Subsets: 50, SubsetSize: 300, Seed: 1}
	same, err := KID(a, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	shifted, err := KID(a, c, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The standard error of the mean over subsets: Std/√Subsets for
	// independent subsets, and no smaller than the spread of the statistic
	// of the whole pool of n, about Std·√(m/n), since the subsets share it.
	se := func(r KIDResult) float64 {
		return r.Std * math.Sqrt(1/float64(r.Subsets)+float64(r.SubsetSize)/n)
	}
	t.Logf("KID same %.5f (standard error %.5f), shifted %.5f (standard error %.5f)", same.Mean, se(same), shifted.Mean, se(shifted))
	if math.Abs(same.Mean) > 3*se(same) {
		t.Fatalf("KID of one distribution %.5f, more than 3 standard errors (%.5f) from 0", same.Mean, se(same))
	}
	if !(shifted.Mean > 5*se(shifted)) {
		t.Fatalf("KID of shifted sets %.5f, within 5 standard errors (%.5f) of 0", shifted.Mean, se(shifted))
	}
}

// BenchmarkTraceSqrtProduct2048 times tr (Σ1Σ2)^{1/2} at Inception's
// D = 2048 for a covariance of 500 samples (rank 499) against one of 4,000
// (full rank): the pivoted-Cholesky path of an Inception FID.
func BenchmarkTraceSqrtProduct2048(b *testing.B) {
	const d = 2048
	rng := tensor.NewRNG(1)
	cov := func(n int) []float64 {
		x := rng.Normal(tensor.Float64, 0, 1, n, d)
		c := tensor.Scale(tensor.MatMul(x, x, true, false), 1/float64(n-1)).F64()
		symmetrize(c, d)
		return c
	}
	s1, s2 := cov(500), cov(4000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		TraceSqrtProduct(s1, s2, d)
	}
}
