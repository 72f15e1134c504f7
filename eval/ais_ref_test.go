package eval

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/tensor"
)

// TestAISHiddenSpaceMatchesVisible checks AIS's hidden-space chains against
// the direct simulation of v (kept here as the reference): the two estimate
// the same log Z within three standard errors of their difference (two
// would fail one generator stream in twenty by chance), with the Cholesky factor
// (H < D) and with diag(σ)W' (H >= D) as the noise factor, and the former
// is within three standard errors of the exact log Z.
func TestAISHiddenSpaceMatchesVisible(t *testing.T) {
	for _, c := range []struct{ d, h int }{{12, 6}, {5, 8}} {
		m := tinyGRBM(c.d, c.h, false, 31, tensor.Float32)
		g := readGRBM(m)
		_, _, _, r, _ := hiddenSpace(&g)
		if want := min(c.d, c.h); r != want && !(c.h >= c.d && r == c.d) {
			t.Fatalf("D=%d H=%d: noise of dimension %d", c.d, c.h, r)
		}
		opts := AISOptions{Chains: 1000, Betas: 300}
		var z [2]float64
		var se [2]float64
		for i, run := range []func(*grbmParams, AISOptions) []float64{runAIS[float32], func(g *grbmParams, o AISOptions) []float64 { return runAISVisible[float32](g, o, blas.Sgemm) }} {
			opts.Seed = uint64(7 + i)
			lm, s := logMeanExp(run(&g, opts))
			z[i], se[i] = lm+g.logZ0(), s
		}
		exact, err := ExactLogZ(m)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("D=%d H=%d: exact %.4f, hidden space %.4f ± %.4f, visible %.4f ± %.4f", c.d, c.h, exact, z[0], se[0], z[1], se[1])
		if math.Abs(z[0]-exact) > 3*se[0]+1e-3 {
			t.Errorf("D=%d H=%d: hidden-space AIS %v ± %v, exact %v", c.d, c.h, z[0], se[0], exact)
		}
		if math.Abs(z[0]-z[1]) > 3*math.Hypot(se[0], se[1])+1e-3 {
			t.Errorf("D=%d H=%d: hidden-space AIS %v ± %v, visible %v ± %v", c.d, c.h, z[0], se[0], z[1], se[1])
		}
	}
}

// TestHiddenSpaceFactor checks FᵀF = M = W'ᵀ diag(σ²) W' and c' = c + W'ᵀb.
func TestHiddenSpaceFactor(t *testing.T) {
	for _, c := range []struct{ d, h int }{{9, 4}, {3, 7}} {
		g := readGRBM(tinyGRBM(c.d, c.h, false, 3, tensor.Float64))
		cp, m, f, r, _ := hiddenSpace(&g)
		for i := 0; i < c.h; i++ {
			want := g.c[i]
			for k := 0; k < c.d; k++ {
				want += g.w[k*c.h+i] * g.b[k]
			}
			if math.Abs(cp[i]-want) > 1e-12 {
				t.Fatalf("c'[%d] = %v, want %v", i, cp[i], want)
			}
			for j := 0; j < c.h; j++ {
				var ftf, wsw float64
				for k := 0; k < r; k++ {
					ftf += f[k*c.h+i] * f[k*c.h+j]
				}
				for k := 0; k < c.d; k++ {
					wsw += g.w[k*c.h+i] * g.sigma[k] * g.sigma[k] * g.w[k*c.h+j]
				}
				if math.Abs(ftf-wsw) > 1e-10 || math.Abs(m[i*c.h+j]-wsw) > 1e-10 {
					t.Fatalf("D=%d H=%d: (FᵀF)[%d,%d] = %v, M = %v, want %v", c.d, c.h, i, j, ftf, m[i*c.h+j], wsw)
				}
			}
		}
	}
}

type gemmFunc[T tensor.Float] func(transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)

// runAISVisible is AIS simulating v itself: per transition, a = c + W'ᵀv,
// the weights, h ~ p(h|v), v ~ p(v|h), with two [N, D] x [D, H] products.
// It is the reference for the hidden-space chains of runAIS.
func runAISVisible[T tensor.Float](g *grbmParams, opts AISOptions, gemm gemmFunc[T]) []float64 {
	n, d, h := opts.Chains, g.d, g.h
	nb := (n + aisBlock - 1) / aisBlock
	seeds := tensor.NewRNG(opts.Seed).Rand()
	rngs := make([]*rand.Rand, nb)
	scratch := make([][]float64, nb) // exp(-β_{k-1}|a|) for one row
	for i := range rngs {
		rngs[i] = rand.New(rand.NewPCG(seeds.Uint64(), seeds.Uint64()))
		scratch[i] = make([]float64, h)
	}

	// wp = W' [D,H]; ws = σ² ⊙ W' (row i scaled by σ_i²), for E[v|h].
	wp, ws := make([]T, d*h), make([]T, d*h)
	for i := 0; i < d; i++ {
		s2 := g.sigma[i] * g.sigma[i]
		for j := 0; j < h; j++ {
			wp[i*h+j] = T(g.w[i*h+j])
			ws[i*h+j] = T(s2 * g.w[i*h+j])
		}
	}
	v := make([]T, n*d)   // chain states
	a := make([]T, n*h)   // a(v) = c + W'ᵀv
	hid := make([]T, n*h) // sampled h
	logw := make([]float64, n)

	// fillVisible sets rows [lo,hi) of v to b + σ ⊙ z, z ~ N(0, I).
	fillVisible := func(r *rand.Rand, lo, hi int) {
		for row := lo; row < hi; row++ {
			vr := v[row*d : (row+1)*d]
			for i := range vr {
				vr[i] = T(g.b[i] + g.sigma[i]*r.NormFloat64())
			}
		}
	}
	blocks := func(body func(blk, lo, hi int)) {
		parallel.For(nb, 1, func(b0, b1 int) {
			for blk := b0; blk < b1; blk++ {
				body(blk, blk*aisBlock, min((blk+1)*aisBlock, n))
			}
		})
	}
	blocks(func(blk, lo, hi int) { fillVisible(rngs[blk], lo, hi) })

	k := opts.Betas - 1 // transitions
	beta := func(i int) float64 { return float64(i) / float64(k) }
	for step := 1; step <= k; step++ {
		bp, bc := beta(step-1), beta(step)
		db := bc - bp
		last := step == k
		// a = c + v W'
		for row := 0; row < n; row++ {
			ar := a[row*h : (row+1)*h]
			for j := range ar {
				ar[j] = T(g.c[j])
			}
		}
		gemm(false, false, n, h, d, 1, v, d, wp, h, 1, a, h)
		blocks(func(blk, lo, hi int) {
			r := rngs[blk]
			var bits uint64
			nbits := 0
			e := scratch[blk]
			for row := lo; row < hi; row++ {
				ar := a[row*h : (row+1)*h]
				// Three passes over the row, each with a short dependency
				// chain per element, so that the CPU overlaps many elements;
				// fused, the long chain per element serialised the loop.
				// (1) e = exp(-β_{k-1}|a|).
				for j, aj := range ar {
					e[j] = expNeg(-bp * math.Abs(float64(aj)))
				}
				// (2) the weight increments; e becomes exp(-β_k|a|).
				acc := 0.0
				for j, aj := range ar {
					inc, e2 := softplusStep(float64(aj), e[j], bp, db)
					acc += inc
					e[j] = e2
				}
				logw[row] += acc
				if last {
					continue
				}
				// (3) h_j ~ Bernoulli(sigmoid(β_k a_j)) from 32 random bits,
				// without data-dependent branches: sigmoid(β_k a) = 1/(1+e2)
				// for a >= 0 and 1 - 1/(1+e2) otherwise.
				hr := hid[row*h : (row+1)*h]
				for j, aj := range ar {
					if nbits == 0 {
						bits, nbits = r.Uint64(), 2
					}
					u := float64(uint32(bits)) * 0x1p-32
					bits >>= 32
					nbits--
					p := 0.5 + math.Copysign(1/(1+e[j])-0.5, float64(aj))
					hbit := 0
					if u < p {
						hbit = 1
					}
					hr[j] = T(hbit)
				}
			}
			if !last {
				fillVisible(r, lo, hi)
			}
		})
		if !last {
			// v = b + σ z + β_k σ² ⊙ (W' h)
			gemm(false, true, n, d, h, T(bc), hid, h, ws, h, 1, v, d)
		}
		if opts.Progress != nil {
			opts.Progress(step, k)
		}
	}
	return logw
}

// TestAISRowKernel checks the vector row kernel against the scalar path
// (softplusStep and expNeg) on rows of float32 a: the increments' sums
// agree to 1e-13 relative and the hidden samples drawn from the same bits
// agree; a row with an element out of the series' range is left to the
// scalar path.
func TestAISRowKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	ran := 0
	for _, db := range []float64{1.0 / 1999, 1.0 / 199} {
		for _, n := range []int{8, 16, 400, 403} {
			for _, scale := range []float64{0.1, 1, 2.5} {
				a := make([]float32, n)
				rnd := make([]uint32, n)
				for i := range a {
					a[i] = float32(r.NormFloat64() * scale)
					rnd[i] = r.Uint32()
				}
				a[0] = 0
				bp := r.Float64() * (1 - db)
				hv := make([]float32, n)
				k, acc := aisRowVec(a, rnd, hv, 0.75, bp, db)
				wantK := n &^ 7
				for _, v := range a[:wantK] {
					if db*math.Abs(float64(v)) >= 1.0/64 {
						wantK = 0
					}
				}
				if !hasAISKernel {
					wantK = 0
				}
				if k != wantK {
					t.Fatalf("db=%v n=%d scale=%v: kernel did %d elements, want %d", db, n, scale, k, wantK)
				}
				ran += k
				var want float64
				for j := 0; j < k; j++ {
					x := float64(a[j])
					inc, e2 := softplusIncrement(x, bp, db)
					want += inc
					p := 0.5 + math.Copysign(1/(1+e2)-0.5, x)
					var h float32
					if float64(rnd[j])*0x1p-32 < p {
						h = 0.75
					}
					if hv[j] != h {
						t.Fatalf("db=%v n=%d: h[%d] = %v, want %v (p %v, u %v)", db, n, j, hv[j], h, p, float64(rnd[j])*0x1p-32)
					}
				}
				if math.Abs(acc-want) > 1e-13*math.Abs(want) {
					t.Fatalf("db=%v n=%d scale=%v: increments %v, want %v", db, n, scale, acc, want)
				}
			}
		}
	}
	if !hasAISKernel {
		t.Skip("no AVX-512 kernel")
	}
	if ran == 0 {
		t.Fatal("the kernel never ran")
	}
}

// TestAISTriangularBlocks checks that skipping F's zeros (row blocks of F
// that start further right) gives the weights of the product over all of
// F, to float32 round-off: the blocks change only how sums are grouped.
func TestAISTriangularBlocks(t *testing.T) {
	g := readGRBM(tinyGRBM(80, 70, false, 5, tensor.Float32))
	if _, _, _, _, upper := hiddenSpace(&g); !upper {
		t.Fatal("D=80 H=70: no Cholesky factor")
	}
	opts := AISOptions{Chains: 130, Betas: 20, Seed: 3}
	defer func(d int) { aisFDepth = d }(aisFDepth)
	aisFDepth = 70
	want := runAIS[float32](&g, opts)
	for _, d := range []int{1, 5, 32, 40} {
		aisFDepth = d
		got := runAIS[float32](&g, opts)
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("F blocks of %d rows: chain %d weight %v, one block %v", d, i, got[i], want[i])
			}
		}
	}
}
