package eval

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/internal/randn"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

// AISOptions configures AIS. Zero values select the settings of
// the paper's Frey face evaluation: 2000 chains, 2000 inverse temperatures.
type AISOptions struct {
	Chains int    // independent annealing chains (default 2000)
	Betas  int    // inverse temperatures β = linspace(0, 1, Betas) (default 2000, at least 2)
	Seed   uint64 // the run is a deterministic function of the seed
	// Progress, if set, is called after each of the Betas-1 transitions.
	Progress func(done, total int)
	// Across, when set, splits the chains over the processes of a
	// data-parallel group: each runs its share of the blocks of chains
	// (every block keeps its own random stream) and the log weights are
	// gathered by a sum across processes, so the estimate is the one a
	// single process makes. Every process of the group must call AIS.
	Across Ranks
}

// Ranks is a group of processes that sum buffers together (dist.Comm).
type Ranks interface {
	Rank() int
	Size() int
	SumFloat64(buf []float64)
}

// AISResult is an AIS estimate of log Z.
type AISResult struct {
	LogZ   float64 // log Ẑ = log mean exp(w) + log Z0
	StdErr float64 // delta-method standard error of LogZ
	LogZ0  float64 // log Z of the base model
	// LogWeights are the chains' log importance weights w (without log Z0).
	LogWeights []float64
}

// aisBlock is how many chains share one random stream. Blocks are the unit
// of parallel work, so results do not depend on the number of workers.
const aisBlock = 64

// AIS estimates log Z of a GRBM by annealed importance sampling from the
// base model W = 0, c = 0 (same b and σ), whose log Z0 is
// Σ_i log σ_i + D/2 log 2π + H log 2, through the intermediate models with
// W and c scaled by β_k, k = 0..K, β = linspace(0, 1, K+1):
//
//	v_1 ~ N(b, σ²) (the base model exactly)
//	w   = Σ_{k=1..K} F_{β_{k-1}}(v_k) - F_{β_k}(v_k)
//	v_{k+1} from one Gibbs sweep v -> h -> v of the β_k-model (k < K)
//
// where F_β(v) = 1/2 Σ (v-b)²/σ² - Σ_j softplus(β a_j(v)), a(v) = c + W'ᵀv,
// p_β(h|v) = sigmoid(β a(v)) and p_β(v|h) = N(b + β σ² ⊙ (W'h), σ²), with
// W' = W (default) or W/σ (scalar-σ variant, where σ²W' = σW). The quadratic
// parts cancel in the weights. log Ẑ = log mean_n exp(w_n) + log Z0.
//
// The chains are followed through a(v) alone (see hiddenSpace), which gives
// the same transitions with fewer operations, in the model's dtype, in
// blocks of aisBlock chains; log weights accumulate in float64.
func AIS(m *model.GRBM, opts AISOptions) (AISResult, error) {
	if opts.Chains == 0 {
		opts.Chains = 2000
	}
	if opts.Betas == 0 {
		opts.Betas = 2000
	}
	if opts.Chains < 2 || opts.Betas < 2 {
		return AISResult{}, fmt.Errorf("eval.AIS: need at least 2 chains and 2 betas, got %d and %d", opts.Chains, opts.Betas)
	}
	g := readGRBM(m)
	var w []float64
	if paramDType(m) == tensor.Float64 {
		w = runAIS[float64](&g, opts)
	} else {
		w = runAIS[float32](&g, opts)
	}
	if opts.Across != nil {
		opts.Across.SumFloat64(w) // each chain's weight is non-zero on one process only
	}
	logZ0 := g.logZ0()
	lm, se := logMeanExp(w)
	return AISResult{LogZ: lm + logZ0, StdErr: se, LogZ0: logZ0, LogWeights: w}, nil
}

// logMeanExp returns log mean exp(w) and the delta-method standard error
// std(exp(w - max)) / mean(exp(w - max)) / sqrt(n).
func logMeanExp(w []float64) (lm, se float64) {
	mx := math.Inf(-1)
	for _, x := range w {
		mx = math.Max(mx, x)
	}
	n := float64(len(w))
	mean := 0.0
	for _, x := range w {
		mean += math.Exp(x - mx)
	}
	mean /= n
	ss := 0.0
	for _, x := range w {
		d := math.Exp(x-mx) - mean
		ss += d * d
	}
	sd := math.Sqrt(ss / (n - 1))
	return mx + math.Log(mean), sd / mean / math.Sqrt(n)
}

// runAIS returns the chains' log weights. Each block of aisBlock chains
// makes its whole transition on one core: a = c' + x [M; F] for its rows
// (x = [β h | u], see hiddenSpace), the weight increments and the next
// hidden sample from a, then fresh noise u, while its rows are in cache;
// the blocks are split over cores, each with its own random stream, so the
// result does not depend on how many.
func runAIS[T tensor.Float](g *grbmParams, opts AISOptions) []float64 {
	n, h := opts.Chains, g.h
	nb := (n + aisBlock - 1) / aisBlock
	seeds := tensor.NewRNG(opts.Seed).Rand()
	rngs := make([]*randn.Xoshiro, nb)
	type blockScratch struct {
		a   []T       // the block's a = c' + x [M; F]
		rnd []uint32  // random bits for one row's h
		p   []float64 // the scalar path's working row
	}
	scratch := make([]blockScratch, nb)
	for i := range rngs {
		rngs[i] = randn.NewXoshiro(seeds.Uint64(), seeds.Uint64())
	}

	// Each chain's row of x is [β h | u]: the last hidden sample scaled by
	// its inverse temperature, then r standard normals.
	cp, m, f, r, upper := hiddenSpace(g)
	ld := h + r
	bmat := make([]T, ld*h)
	for i, v := range m {
		bmat[i] = T(v)
	}
	for i, v := range f {
		bmat[h*h+i] = T(v)
	}
	prod := packAIS(bmat, h, r, upper)
	cpT := make([]T, h)
	for j, v := range cp {
		cpT[j] = T(v)
	}
	x := make([]T, n*ld)
	logw := make([]float64, n)

	// fillNoise draws the noise part of rows [lo,hi) of x.
	fillNoise := func(rg *randn.Xoshiro, lo, hi int) {
		for row := lo; row < hi; row++ {
			u := x[row*ld+h : (row+1)*ld]
			if u32, ok := any(u).([]float32); ok {
				randn.Fill32(rg, u32)
				continue
			}
			for i := range u {
				u[i] = T(randn.Float64(rg))
			}
		}
	}
	// This process's blocks.
	blo, bhi := 0, nb
	if opts.Across != nil {
		size, rank := opts.Across.Size(), opts.Across.Rank()
		blo, bhi = nb*rank/size, nb*(rank+1)/size
	}
	blocks := func(body func(blk, lo, hi int)) {
		parallel.For(bhi-blo, 1, func(b0, b1 int) {
			for blk := blo + b0; blk < blo+b1; blk++ {
				body(blk, blk*aisBlock, min((blk+1)*aisBlock, n))
			}
		})
	}
	blocks(func(blk, lo, hi int) {
		scratch[blk] = blockScratch{a: make([]T, (hi-lo)*h), rnd: make([]uint32, h), p: make([]float64, h)}
		fillNoise(rngs[blk], lo, hi)
	})

	k := opts.Betas - 1 // transitions
	beta := func(i int) float64 { return float64(i) / float64(k) }
	for step := 1; step <= k; step++ {
		bp, bc := beta(step-1), beta(step)
		db := bc - bp
		last := step == k
		hval := T(bc)
		blocks(func(blk, lo, hi int) {
			rg := rngs[blk]
			sc := &scratch[blk]
			// a = c' + β_{k-1} h M + u F  (the β h part is 0 at the first step)
			for i := range hi - lo {
				copy(sc.a[i*h:(i+1)*h], cpT)
			}
			prod.MulAdd(hi-lo, x[lo*ld:], ld, sc.a, h)
			for row := lo; row < hi; row++ {
				if !last {
					randn.FillBits32(rg, sc.rnd) // 32 random bits per h_j, for h_j ~ Bernoulli(p_j)
				}
				i := row - lo
				logw[row] += aisRow(sc.a[i*h:(i+1)*h], sc.rnd, x[row*ld:row*ld+h], hval, sc.p, bp, db)
			}
			if !last {
				fillNoise(rg, lo, hi)
			}
		})
		if opts.Progress != nil {
			opts.Progress(step, k)
		}
	}
	return logw
}

// aisFDepth is the depth of the row blocks of F when it is triangular (a
// variable for tests).
var aisFDepth = 64

// packAIS packs bmat = [M; F] ([h+r, h]) for the transitions' products.
// M is cut into blocks of the usual depth; a triangular F (the Cholesky
// factor's transpose) into blocks of about aisFDepth rows, and the block
// starting at F's row i skips the first i columns, where F is zero: for
// r = h at depth 64 that is a fifth of the multiply-adds of a transition.
func packAIS[T tensor.Float](bmat []T, h, r int, upper bool) *blas.PackedB[T] {
	var ends, zero []int
	cut := func(p0, k, depth int, skip bool) {
		nblk := (k + depth - 1) / depth
		for i := 1; i <= nblk; i++ {
			start := p0 + (i-1)*k/nblk
			ends = append(ends, p0+i*k/nblk)
			if skip {
				zero = append(zero, start-p0)
			} else {
				zero = append(zero, 0)
			}
		}
	}
	cut(0, h, 256, false)
	if upper {
		cut(h, r, aisFDepth, true)
	} else {
		cut(h, r, 256, false)
	}
	switch b := any(bmat).(type) {
	case []float32:
		return any(blas.NewPackedB32(b, h, h+r, h, ends, zero)).(*blas.PackedB[T])
	default:
		return any(blas.NewPackedB64(b.([]float64), h, h+r, h, ends, zero)).(*blas.PackedB[T])
	}
}

// hiddenSpace returns what AIS needs to follow the chains through
// a = c + W'ᵀv alone, the only function of v that the weights and the
// Gibbs step v -> h read. With v = b + σ ⊙ z + β σ² ⊙ (W'h), z ~ N(0, I):
//
//	a = c' + W'ᵀ(σ ⊙ z) + β M h,   c' = c + W'ᵀb,   M = W'ᵀ diag(σ²) W',
//
// and W'ᵀ(σ ⊙ z) ~ N(0, M) is drawn as Fᵀu, u ~ N(0, I_r), for any F with
// FᵀF = M: the Cholesky factor's transpose (r = H) when H < D and M is
// positive definite, else F = diag(σ) W' (r = D). A transition then costs
// one [N, H+r] x [H+r, H] product instead of two [N, D] x [D, H] ones, and
// r normals per chain instead of D. F is [r, H] and M [H, H], row-major;
// upper says F is the (upper-triangular) Cholesky factor.
func hiddenSpace(g *grbmParams) (cp, m, f []float64, r int, upper bool) {
	d, h := g.d, g.h
	cp = append([]float64(nil), g.c...)
	for i := 0; i < d; i++ {
		for j := 0; j < h; j++ {
			cp[j] += g.w[i*h+j] * g.b[i]
		}
	}
	s := make([]float64, d*h) // diag(σ) W'
	for i := 0; i < d; i++ {
		for j := 0; j < h; j++ {
			s[i*h+j] = g.sigma[i] * g.w[i*h+j]
		}
	}
	m = make([]float64, h*h)
	blas.Dgemm(true, false, h, h, d, 1, s, h, s, h, 0, m, h)
	if h < d {
		if l, ok := tensor.TryCholesky(tensor.FromFloat64(m, h, h)); ok {
			lv := l.Values()
			f = make([]float64, h*h)
			for i := 0; i < h; i++ {
				for j := 0; j <= i; j++ {
					f[j*h+i] = lv[i*h+j] // F = Lᵀ
				}
			}
			return cp, m, f, h, true
		}
	}
	return cp, m, s, d, false
}

// aisRow returns the weight increment of one chain, Σ_j softplus(β_c a_j) -
// softplus(β_p a_j) with β_c = β_p + db, and draws its next hidden state:
// hout_j = hval where rnd_j 2^-32 < sigmoid(β_c a_j), else 0. p is scratch
// of a's length. Float32 rows take the vector kernel where it applies (the
// same series as softplusStep, in float64 with fused multiply-adds); a row
// is always computed the same way, so results do not depend on how chains
// are split over cores.
func aisRow[T tensor.Float](a []T, rnd []uint32, hout []T, hval T, p []float64, bp, db float64) float64 {
	j0, acc := 0, 0.0
	if a32, ok := any(a).([]float32); ok {
		j0, acc = aisRowVec(a32, rnd, any(hout).([]float32), float32(hval), bp, db)
	}
	var tail float64
	// Two passes, each with a short dependency chain per element, so that
	// the CPU overlaps many elements: (1) p = exp(-β_p|a|); (2) the
	// increments, and p becomes sigmoid(β_c a) = 1/(1+e2) for a >= 0 and
	// 1 - 1/(1+e2) otherwise, e2 = exp(-β_c|a|).
	for j := j0; j < len(a); j++ {
		p[j] = expNeg(-bp * math.Abs(float64(a[j])))
	}
	for j := j0; j < len(a); j++ {
		aj := float64(a[j])
		inc, e2 := softplusStep(aj, p[j], bp, db)
		tail += inc
		pj := 0.5 + math.Copysign(1/(1+e2)-0.5, aj)
		var hv T
		if float64(rnd[j])*0x1p-32 < pj {
			hv = hval
		}
		hout[j] = hv
	}
	return acc + tail
}

// aisK holds the constants of aisRow64: the Taylor coefficients of exp
// from 1/12! to 1/2!, log2(e), ln 2 split in two, then those of the
// expm1 and log1p series of softplusStep.
var aisK = [24]float64{
	1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 1.0 / 2,
	1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10,
	1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720,
	1.0 / 3, -1.0 / 4, 1.0 / 5, -1.0 / 6, -1.0 / 2,
}

// softplusIncrement returns softplus(β_c x) - softplus(β_p x), β_c = β_p + db
// (db > 0), and e2 = exp(-β_c |x|), with one exponential (expNeg). Writing
// e1 = exp(-β_p |x|) and e2 = e1 (1 + expm1(-db |x|)):
//
//	softplus(β_c x) - softplus(β_p x) = db max(x, 0) + log1p(e1 expm1(-db|x|) / (1 + e1))
//
// For the small steps that annealing with many betas produces, expm1 and
// log1p are short Taylor series (relative truncation error below 4e-14, far
// below what the weights need), which also keeps e2 - e1 free of
// cancellation; larger steps take a second exponential and math.Log1p.
func softplusIncrement(x, bp, db float64) (inc, e2 float64) {
	return softplusStep(x, expNeg(-bp*math.Abs(x)), bp, db)
}

// softplusStep is softplusIncrement given e1 = exp(-β_p |x|).
func softplusStep(x, e1, bp, db float64) (inc, e2 float64) {
	ax := math.Abs(x)
	t := db * ax
	var y float64 // (e2 - e1)/(1 + e1), in (-1/2, 0]
	if t < 1.0/64 {
		// expm1(-t) to degree 6 (relative error < 3e-15), Estrin's scheme.
		s := -t
		s2 := s * s
		em1 := s * ((1 + s*(1.0/2)) + s2*((1.0/6+s*(1.0/24))+s2*(1.0/120+s*(1.0/720))))
		e2 = e1 + e1*em1
		y = e1 * em1 / (1 + e1)
	} else {
		e2 = expNeg(-(bp + db) * ax)
		y = (e2 - e1) / (1 + e1)
	}
	var l float64 // log1p(y)
	if y > -1.0/128 {
		// Degree 6 (relative error < 4e-14).
		y2 := y * y
		l = y * ((1 - y*(1.0/2)) + y2*((1.0/3-y*(1.0/4))+y2*(1.0/5-y*(1.0/6))))
	} else {
		l = math.Log1p(y)
	}
	return l + 0.5*db*(x+ax), e2 // + db max(x, 0), branch-free
}

// expNeg returns exp(z) for z <= 0 to a relative error of a few ulp (0 below
// -708, where exp is subnormal): z = -k ln2 + r with |r| <= ln2/2, exp(r) by
// its Taylor series to degree 12, times 2^-k. About twice as fast as math.Exp.
func expNeg(z float64) float64 {
	if z < -708 {
		return 0
	}
	const (
		log2e = 1.4426950408889634
		ln2hi = 6.93147180369123816490e-01 // ln2hi + ln2lo = ln 2, ln2hi*k exact
		ln2lo = 1.90821492927058770002e-10
	)
	k := int(-z*log2e + 0.5)
	fk := float64(k)
	r := (z + fk*ln2hi) + fk*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040+r*(1.0/40320+r*(1.0/362880+r*(1.0/3628800+r*(1.0/39916800+r*(1.0/479001600))))))))))))
	return p * math.Float64frombits(uint64(1023-k)<<52)
}
