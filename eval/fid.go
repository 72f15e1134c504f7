package eval

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/tensor"
	"gonum.org/v1/gonum/mat"
)

// Sample-quality metrics on feature vectors (Table 2 of the paper reports
// FID, Sec. 5.2). They take features, not images: the feature network
// (Inception-v3's pool3 layer in the paper's protocol) is the caller's.

// Gaussian is a mean and a covariance fitted to D-dimensional features.
// Cov is D×D, row-major.
type Gaussian struct {
	D    int
	Mean []float64
	Cov  []float64
}

// FitGaussian returns the mean and the unbiased (N-1) covariance of the
// rows of x, as numpy's np.cov in the reference FID code. It needs at
// least two rows of equal length.
func FitGaussian(x [][]float64) (Gaussian, error) {
	t, err := rowsTensor(x)
	if err != nil {
		return Gaussian{}, err
	}
	return FitGaussianTensor(t)
}

// FitGaussianTensor is FitGaussian for an [N, ...] tensor, each example
// flattened to one row.
func FitGaussianTensor(x *tensor.Tensor) (Gaussian, error) {
	if x.Rank() < 1 {
		return Gaussian{}, fmt.Errorf("eval.FitGaussian: scalar input")
	}
	n := x.Dim(0)
	if n < 2 {
		return Gaussian{}, fmt.Errorf("eval.FitGaussian: %d rows; need at least 2", n)
	}
	d := x.Size() / n
	xc := x.As(tensor.Float64).Clone().Reshape(n, d)
	data := xc.F64()
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range data[i*d : (i+1)*d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	for i := 0; i < n; i++ {
		row := data[i*d : (i+1)*d]
		for j := range row {
			row[j] -= mean[j]
		}
	}
	cov := tensor.Scale(tensor.MatMul(xc, xc, true, false), 1/float64(n-1)).F64()
	symmetrize(cov, d)
	return Gaussian{D: d, Mean: mean, Cov: cov}, nil
}

// FID is the Fréchet distance between Gaussians fitted to two feature sets
// (rows of a and b): Heusel et al.'s Fréchet Inception Distance when the
// features come from Inception-v3.
func FID(a, b [][]float64) (float64, error) {
	ga, err := FitGaussian(a)
	if err != nil {
		return 0, err
	}
	gb, err := FitGaussian(b)
	if err != nil {
		return 0, err
	}
	return FrechetDistance(ga, gb)
}

// FIDTensors is FID for [N, ...] feature tensors.
func FIDTensors(a, b *tensor.Tensor) (float64, error) {
	ga, err := FitGaussianTensor(a)
	if err != nil {
		return 0, err
	}
	gb, err := FitGaussianTensor(b)
	if err != nil {
		return 0, err
	}
	return FrechetDistance(ga, gb)
}

// FrechetDistance returns the squared 2-Wasserstein distance between
// N(μ1, Σ1) and N(μ2, Σ2):
//
//	|μ1 - μ2|² + tr(Σ1 + Σ2 - 2 (Σ1 Σ2)^{1/2}).
//
// Σ1Σ2 is not symmetric, and a general matrix square root (scipy's sqrtm in
// the reference implementations) can return complex round-off that has to be
// discarded. Instead this uses the similar symmetric matrix
// M = Σ1^{1/2} Σ2 Σ1^{1/2}, positive semi-definite, whose eigenvalues are
// those of Σ1Σ2, so tr (Σ1Σ2)^{1/2} = Σ_i √λ_i(M). Both Σ1^{1/2} and the
// eigenvalues of M come from symmetric eigendecompositions
// (SymmetricEigen); eigenvalues at round-off level or below (slightly
// negative ones included) are taken as 0, so singular covariances (fewer
// samples than dimensions) are fine.
//
// Up to D = jacobiMaxDim the cost is two Jacobi eigendecompositions of
// D×D matrices (milliseconds for D = 64, about a second for D = 256);
// Jacobi would take of the order of ten minutes at Inception's D = 2048, so
// larger D take a Cholesky factor instead (see TraceSqrtProduct).
func FrechetDistance(a, b Gaussian) (float64, error) {
	d := a.D
	if b.D != d || len(a.Mean) != d || len(b.Mean) != d || len(a.Cov) != d*d || len(b.Cov) != d*d {
		return 0, fmt.Errorf("eval.FrechetDistance: dimensions %d and %d (means %d, %d; covariances %d, %d)", a.D, b.D, len(a.Mean), len(b.Mean), len(a.Cov), len(b.Cov))
	}
	dist := 0.0
	for i := 0; i < d; i++ {
		dm := a.Mean[i] - b.Mean[i]
		dist += dm*dm + a.Cov[i*d+i] + b.Cov[i*d+i]
	}
	tr := TraceSqrtProduct(a.Cov, b.Cov, d)
	if math.IsNaN(dist) || math.IsNaN(tr) {
		return math.NaN(), fmt.Errorf("eval.FrechetDistance: NaN in the statistics")
	}
	return dist - 2*tr, nil
}

// jacobiMaxDim is the largest D for which TraceSqrtProduct uses Jacobi
// eigendecompositions (a variable so tests can lower it).
var jacobiMaxDim = 256

// TraceSqrtProduct returns tr (Σ1 Σ2)^{1/2} for symmetric positive
// semi-definite D×D matrices (row-major), as Σ_i √λ_i(Σ1^{1/2} Σ2 Σ1^{1/2});
// see FrechetDistance. For D above jacobiMaxDim (Inception's 2048
// features) it factors Σ1 as LLᵀ by pivoted Cholesky, stopping at its
// numerical rank r1 (fewer samples than dimensions give r1 < D), then Σ2
// likewise but giving up past r1 columns, and sums √λ over the eigenvalues
// of LᵀΣ'L (r×r, Σ' the other matrix) for the factor of lower rank: they
// are the nonzero eigenvalues of Σ1Σ2. Those
// come without eigenvectors from tridiagonalisation and QL (gonum's
// LAPACK): 0.44 s for 500 samples against a full-rank reference at
// D = 2048 (docs/PERFORMANCE.md), where Jacobi would take minutes.
func TraceSqrtProduct(s1, s2 []float64, d int) float64 {
	if d > jacobiMaxDim {
		// Fast when Σ1 has the lower rank (samples first, a larger reference
		// set second, as EvaluateDeep calls FID): Σ2's factor then stops
		// after r1 columns. The other order gives the same value but factors
		// Σ1 to its full rank: the work of the uncapped path, measured at 3.2 s
		// against 0.44 s at D = 2048 (docs/PERFORMANCE.md).
		l, other := pivotedCholesky(s1, d, d), s2
		if l2 := pivotedCholesky(s2, d, l.Dim(1)); l2 != nil {
			l, other = l2, s1
		}
		r := l.Dim(1)
		m := tensor.MatMul(tensor.MatMul(l, tensor.FromFloat64(other, d, d), true, false), l, false, false).F64()
		symmetrize(m, r)
		vals := symEigenvalues(m, r)
		return sumSqrtAboveRoundoff(vals, r)
	}
	vals, vecs := SymmetricEigen(s1, d)
	floor1 := roundoffFloor(vals, d)
	// Σ1^{1/2} = Vᵀ diag(√λ) V with the eigenvectors as the rows of V.
	w := make([]float64, d*d)
	for k := 0; k < d; k++ {
		r := 0.0
		if vals[k] > floor1 {
			r = math.Sqrt(vals[k])
		}
		for j := 0; j < d; j++ {
			w[k*d+j] = r * vecs[k*d+j]
		}
	}
	root := tensor.MatMul(tensor.FromFloat64(vecs, d, d), tensor.FromFloat64(w, d, d), true, false)
	m := tensor.MatMul(tensor.MatMul(root, tensor.FromFloat64(s2, d, d), false, false), root, false, false).F64()
	symmetrize(m, d)
	mv := symEigenvalues(m, d)
	return sumSqrtAboveRoundoff(mv, d)
}

// sumSqrtAboveRoundoff is Σ √λ over the eigenvalues above roundoffFloor.
func sumSqrtAboveRoundoff(vals []float64, d int) float64 {
	floor := roundoffFloor(vals, d)
	tr := 0.0
	for _, l := range vals {
		if l > floor {
			tr += math.Sqrt(l)
		}
	}
	return tr
}

// pivotedCholesky returns L [D,r] with LLᵀ = a (symmetric positive
// semi-definite, row-major D×D) up to round-off: the outer-product Cholesky
// with the largest remaining diagonal as pivot at each step, stopped when
// that diagonal falls to round-off level (D·ε·max diagonal), so r is a's
// numerical rank. It returns nil when the rank exceeds maxRank (the cost
// grows as D·r²).
func pivotedCholesky(a []float64, d, maxRank int) *tensor.Tensor {
	diag := make([]float64, d)
	mx := 0.0
	for i := range diag {
		diag[i] = a[i*d+i]
		mx = math.Max(mx, diag[i])
	}
	tol := float64(d) * 0x1p-52 * mx
	var cols [][]float64 // cols[k][i] = L[i,k]
	used := make([]bool, d)
	for len(cols) < d {
		p := -1
		for i, v := range diag {
			if !used[i] && (p < 0 || v > diag[p]) {
				p = i
			}
		}
		if diag[p] <= tol {
			break
		}
		if len(cols) == maxRank {
			return nil
		}
		piv := math.Sqrt(diag[p])
		col := make([]float64, d)
		copy(col, a[p*d:(p+1)*d]) // row p = column p
		for _, c := range cols {
			if cp := c[p]; cp != 0 {
				for i, ci := range c {
					col[i] -= ci * cp
				}
			}
		}
		for i := range col {
			if used[i] {
				col[i] = 0 // exactly eliminated
			} else {
				col[i] /= piv
				diag[i] -= col[i] * col[i]
			}
		}
		col[p], used[p] = piv, true
		cols = append(cols, col)
	}
	r := max(len(cols), 1) // an all-zero matrix gives one zero column
	l := tensor.New(tensor.Float64, d, r)
	ld := l.F64()
	for k, c := range cols {
		for i, v := range c {
			ld[i*r+k] = v
		}
	}
	return l
}

// symEigenvalues returns the eigenvalues of the symmetric D×D matrix a:
// by Jacobi (SymmetricEigen) up to jacobiMaxDim, above it by gonum's
// LAPACK (tridiagonalisation and QL, no eigenvectors).
func symEigenvalues(a []float64, d int) []float64 {
	if d <= jacobiMaxDim {
		vals, _ := SymmetricEigen(a, d)
		return vals
	}
	var e mat.EigenSym // reads a's upper triangle, copied
	if !e.Factorize(mat.NewSymDense(d, a), false) {
		panic(fmt.Sprintf("eval.symEigenvalues: no convergence for a %d×%d matrix", d, d))
	}
	return e.Values(nil)
}

// roundoffFloor is the level below which an eigenvalue of a computed
// positive semi-definite matrix cannot be told from 0: D·ε·max|λ| (the
// tolerance of numpy's matrix_rank). Such eigenvalues, and negative ones,
// are taken as 0; without this, √ of round-off (√ε relative) would leak
// into the trace when a covariance is singular, e.g. with fewer samples
// than feature dimensions.
func roundoffFloor(vals []float64, d int) float64 {
	mx := 0.0
	for _, v := range vals {
		mx = math.Max(mx, math.Abs(v))
	}
	return float64(d) * 0x1p-52 * mx
}

// symmetrize replaces a by (a + aᵀ)/2 in place, removing the round-off
// asymmetry of computed products.
func symmetrize(a []float64, d int) {
	for i := 0; i < d; i++ {
		for j := i + 1; j < d; j++ {
			m := 0.5 * (a[i*d+j] + a[j*d+i])
			a[i*d+j], a[j*d+i] = m, m
		}
	}
}

// jacobiMaxSweeps bounds the sweeps of SymmetricEigen; cyclic Jacobi
// converges quadratically and needs about 6-12 in float64.
const jacobiMaxSweeps = 60

// SymmetricEigen returns the eigenvalues of the symmetric D×D matrix a
// (row-major; a is not modified, and only its symmetric part is meaningful)
// and the eigenvectors as the rows of vecs (row k belongs to vals[k]), by
// the cyclic Jacobi method: each rotation zeroes one off-diagonal pair, and
// sweeps repeat until a whole sweep finds every off-diagonal entry
// negligible, i.e. |a_pq| ≤ ε·√|a_pp a_qq| (the relative criterion of
// Demmel and Veselić, under which Jacobi is accurate even for tiny
// eigenvalues of positive definite matrices) or |a_pq| ≤ ε·‖A‖_F/D (which
// moves no eigenvalue by more than round-off). Jacobi is slower than
// tridiagonalisation + QL but simple and unconditionally stable. The
// eigenvalues are not sorted.
func SymmetricEigen(a []float64, d int) (vals, vecs []float64) {
	if len(a) != d*d {
		panic(fmt.Sprintf("eval.SymmetricEigen: %d values for a %d×%d matrix", len(a), d, d))
	}
	m := make([]float64, d*d)
	copy(m, a)
	symmetrize(m, d)
	v := make([]float64, d*d)
	for i := 0; i < d; i++ {
		v[i*d+i] = 1
	}
	fro := 0.0
	for _, x := range m {
		fro += x * x
	}
	absTol := 0x1p-52 * math.Sqrt(fro) / float64(max(d, 1))
	for sweep := 0; sweep < jacobiMaxSweeps; sweep++ {
		rotated := false
		for p := 0; p < d-1; p++ {
			for q := p + 1; q < d; q++ {
				if jacobiRotate(m, v, d, p, q, absTol) {
					rotated = true
				}
			}
		}
		if !rotated {
			break
		}
	}
	vals = make([]float64, d)
	for i := range vals {
		vals[i] = m[i*d+i]
	}
	return vals, v
}

// jacobiRotate applies the rotation J in the (p, q) plane that zeroes
// m[p,q]: m ← Jᵀ m J, and rotates rows p and q of v (which holds Vᵀ)
// likewise. With θ = (m_qq - m_pp)/(2 m_pq), t = tan φ is the smaller root
// of t² + 2θt - 1 = 0, c = cos φ, s = sin φ, τ = s/(1+c) (Rutishauser's
// form of the updates, which keeps them accurate). A negligible m[p,q] (see
// SymmetricEigen) is set to 0 without rotating; the result reports whether
// a rotation was applied.
func jacobiRotate(m, v []float64, d, p, q int, absTol float64) bool {
	apq := m[p*d+q]
	if apq == 0 {
		return false
	}
	app, aqq := m[p*d+p], m[q*d+q]
	if g := math.Abs(apq); g <= absTol || g <= 0x1p-52*math.Sqrt(math.Abs(app*aqq)) {
		m[p*d+q], m[q*d+p] = 0, 0
		return false
	}
	theta := (aqq - app) / (2 * apq)
	var t float64
	if math.Abs(theta) > 1e150 {
		t = 1 / (2 * theta)
	} else {
		t = 1 / (math.Abs(theta) + math.Sqrt(theta*theta+1))
		if theta < 0 {
			t = -t
		}
	}
	c := 1 / math.Sqrt(t*t+1)
	s := t * c
	tau := s / (1 + c)
	m[p*d+p] = app - t*apq
	m[q*d+q] = aqq + t*apq
	m[p*d+q], m[q*d+p] = 0, 0
	rp, rq := m[p*d:(p+1)*d], m[q*d:(q+1)*d]
	for k := 0; k < d; k++ {
		if k == p || k == q {
			continue
		}
		akp, akq := rp[k], rq[k]
		nkp := akp - s*(akq+tau*akp) // c a_kp - s a_kq
		nkq := akq + s*(akp-tau*akq) // s a_kp + c a_kq
		rp[k], rq[k] = nkp, nkq
		m[k*d+p], m[k*d+q] = nkp, nkq
	}
	vp, vq := v[p*d:(p+1)*d], v[q*d:(q+1)*d]
	for k := 0; k < d; k++ {
		a, b := vp[k], vq[k]
		vp[k] = c*a - s*b
		vq[k] = s*a + c*b
	}
	return true
}

// ---- KID ----

// KIDOptions configures KID. Zero values select the defaults of Bińkowski
// et al. and torch-fidelity: 100 subsets of 1000 examples (capped at the
// smaller set's size), seed 0.
type KIDOptions struct {
	Subsets    int
	SubsetSize int
	Seed       uint64
}

// KIDResult is the kernel inception distance averaged over subsets, with
// the standard deviation over subsets.
type KIDResult struct {
	Mean, Std           float64
	Subsets, SubsetSize int
}

// KID is the kernel inception distance of Bińkowski et al. (2018): the
// unbiased estimate of the squared MMD between the feature distributions
// with the polynomial kernel k(x,y) = (xᵀy/D + 1)³,
//
//	MMD²_u = Σ_{i≠j} k(x_i,x_j)/(m(m-1)) + Σ_{i≠j} k(y_i,y_j)/(m(m-1)) - 2 Σ_{i,j} k(x_i,y_j)/m²,
//
// averaged over random subsets of m examples drawn without replacement from
// each set. Unlike FID it is unbiased for finite samples, so it is near 0
// (and may be slightly negative) for two samples of one distribution.
func KID(a, b [][]float64, opts KIDOptions) (KIDResult, error) {
	ta, err := rowsTensor(a)
	if err != nil {
		return KIDResult{}, err
	}
	tb, err := rowsTensor(b)
	if err != nil {
		return KIDResult{}, err
	}
	return KIDTensors(ta, tb, opts)
}

// KIDTensors is KID for [N, ...] feature tensors.
func KIDTensors(a, b *tensor.Tensor, opts KIDOptions) (KIDResult, error) {
	if a.Rank() < 1 || b.Rank() < 1 {
		return KIDResult{}, fmt.Errorf("eval.KID: scalar input")
	}
	na, nb := a.Dim(0), b.Dim(0)
	if na < 2 || nb < 2 {
		return KIDResult{}, fmt.Errorf("eval.KID: %d and %d rows; need at least 2 each", na, nb)
	}
	d := a.Size() / na
	if b.Size()/nb != d {
		return KIDResult{}, fmt.Errorf("eval.KID: feature dimensions %d and %d differ", d, b.Size()/nb)
	}
	if opts.Subsets <= 0 {
		opts.Subsets = 100
	}
	if opts.SubsetSize <= 0 {
		opts.SubsetSize = 1000
	}
	m := min(opts.SubsetSize, na, nb)
	fa := a.As(tensor.Float64).Reshape(na, d).F64()
	fb := b.As(tensor.Float64).Reshape(nb, d).F64()
	rng := tensor.NewRNG(opts.Seed).Rand()
	pick := func(src []float64, n int) *tensor.Tensor {
		out := make([]float64, m*d)
		for i, r := range rng.Perm(n)[:m] {
			copy(out[i*d:(i+1)*d], src[r*d:(r+1)*d])
		}
		return tensor.FromFloat64(out, m, d)
	}
	vals := make([]float64, opts.Subsets)
	for s := range vals {
		x, y := pick(fa, na), pick(fb, nb)
		kxx := polyKernelSum(x, x, d, true)
		kyy := polyKernelSum(y, y, d, true)
		kxy := polyKernelSum(x, y, d, false)
		fm := float64(m)
		vals[s] = kxx/(fm*(fm-1)) + kyy/(fm*(fm-1)) - 2*kxy/(fm*fm)
	}
	var mean, sd float64
	for _, v := range vals {
		mean += v
	}
	mean /= float64(len(vals))
	for _, v := range vals {
		sd += (v - mean) * (v - mean)
	}
	sd = math.Sqrt(sd / float64(len(vals)))
	return KIDResult{Mean: mean, Std: sd, Subsets: opts.Subsets, SubsetSize: m}, nil
}

// polyKernelSum returns Σ_{i,j} (x_iᵀy_j/d + 1)³ over all pairs, leaving
// out i = j when offDiag (x and y are then the same set).
func polyKernelSum(x, y *tensor.Tensor, d int, offDiag bool) float64 {
	g := tensor.MatMul(x, y, false, true).F64() // Gram matrix x yᵀ
	n := x.Dim(0)
	sum := 0.0
	for i := 0; i < n; i++ {
		row := g[i*y.Dim(0) : (i+1)*y.Dim(0)]
		for j, v := range row {
			if offDiag && i == j {
				continue
			}
			k := v/float64(d) + 1
			sum += k * k * k
		}
	}
	return sum
}

// rowsTensor packs equal-length rows into an [N, D] float64 tensor.
func rowsTensor(x [][]float64) (*tensor.Tensor, error) {
	if len(x) == 0 {
		return nil, fmt.Errorf("eval: no feature rows")
	}
	d := len(x[0])
	if d == 0 {
		return nil, fmt.Errorf("eval: empty feature rows")
	}
	data := make([]float64, 0, len(x)*d)
	for i, r := range x {
		if len(r) != d {
			return nil, fmt.Errorf("eval: feature row %d has %d values, row 0 has %d", i, len(r), d)
		}
		data = append(data, r...)
	}
	return tensor.FromFloat64(data, len(x), d), nil
}
