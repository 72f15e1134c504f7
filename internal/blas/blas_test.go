package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// gemmCase is one product to check. pad widens lda/ldb/ldc beyond the
// minimum; the gaps are filled with NaN (A, B: must never be read) or a
// sentinel (C: must never be written).
type gemmCase struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	pad            int
}

func (tc gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/m=%d,n=%d,k=%d/alpha=%g,beta=%g/pad=%d", t(tc.transA), t(tc.transB), tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// gemmCases covers every transpose pair over odd sizes around the tile and
// block sizes, with a rotating choice of alpha, beta and padding.
func gemmCases() []gemmCase {
	dims := []int{1, 3, 17, 33, 65, 129, 257}
	ab := [][2]float64{{1, 0}, {0.5, 1}, {-1.5, 0.25}, {1, -1}, {2, 0}, {0, 2}, {0, 0}}
	var cases []gemmCase
	idx := 0
	for _, m := range dims {
		for _, n := range dims {
			for tr := 0; tr < 4; tr++ {
				k := dims[(idx*3+tr)%len(dims)]
				cases = append(cases, gemmCase{
					transA: tr&1 != 0, transB: tr&2 != 0,
					m: m, n: n, k: k,
					alpha: ab[idx%len(ab)][0], beta: ab[idx%len(ab)][1],
					pad: []int{0, 3, 0, 16}[idx%4],
				})
				idx++
			}
		}
	}
	// k = 0 and empty outputs, and a few shapes that cross kc/mc/nc blocks.
	for tr := 0; tr < 4; tr++ {
		ta, tb := tr&1 != 0, tr&2 != 0
		cases = append(cases,
			gemmCase{transA: ta, transB: tb, m: 5, n: 7, k: 0, alpha: 1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 5, n: 7, k: 0, alpha: 1, beta: 0.5, pad: 2},
			gemmCase{transA: ta, transB: tb, m: 0, n: 7, k: 3, alpha: 1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 7, n: 0, k: 3, alpha: 1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 150, n: 70, k: 300, alpha: 1, beta: 0.5, pad: 1},
			gemmCase{transA: ta, transB: tb, m: 300, n: 40, k: 20, alpha: -1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 20, n: 2100, k: 20, alpha: 1, beta: 1, pad: 5},
			gemmCase{transA: ta, transB: tb, m: 128, n: 400, k: 60, alpha: 1, beta: 0},
			// Edge tiles that the edge kernels cover exactly (12x32: rows
			// 4, 8; columns 16) and strips split at 16-column boundaries.
			gemmCase{transA: ta, transB: tb, m: 20, n: 48, k: 50, alpha: 1, beta: 0.5},
			gemmCase{transA: ta, transB: tb, m: 16, n: 16, k: 130, alpha: -1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 8, n: 80, k: 64, alpha: 2, beta: 1, pad: 3},
			gemmCase{transA: ta, transB: tb, m: 28, n: 112, k: 33, alpha: 1, beta: 0},
			gemmCase{transA: ta, transB: tb, m: 64, n: 208, k: 100, alpha: 1, beta: 0, pad: 1},
		)
	}
	return cases
}

// operands holds a case's inputs in float64; toF32 converts them.
type operands struct {
	a, b, c         []float64
	lda, ldb, ldc   int
	cRows, cCols    int
	want, tolerance []float64
}

func makeOperands(tc gemmCase, rng *rand.Rand) *operands {
	o := &operands{cRows: tc.m, cCols: tc.n}
	fill := func(rows, cols, ld int, gap float64) []float64 {
		s := make([]float64, rows*ld)
		for i := range s {
			if i%ld < cols {
				s[i] = rng.Float64()*2 - 1
			} else {
				s[i] = gap
			}
		}
		return s
	}
	ar, ac := tc.m, tc.k
	if tc.transA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.transB {
		br, bc = bc, br
	}
	o.lda, o.ldb, o.ldc = ac+tc.pad, bc+tc.pad, tc.n+tc.pad
	o.a = fill(ar, ac, o.lda, math.NaN())
	o.b = fill(br, bc, o.ldb, math.NaN())
	o.c = fill(tc.m, tc.n, o.ldc, 12345)
	if tc.beta == 0 {
		// beta == 0 must overwrite C without reading it.
		for i := range o.c {
			if i%o.ldc < tc.n {
				o.c[i] = math.NaN()
			}
		}
	}

	// Reference result in float64, and an error bound per element:
	// |alpha|*sum_p |A(i,p)*B(p,j)| + |beta*C(i,j)|.
	o.want = append([]float64(nil), o.c...)
	gemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, o.want, o.ldc)
	abs := func(s []float64) []float64 {
		r := make([]float64, len(s))
		for i, v := range s {
			r[i] = math.Abs(v)
		}
		return r
	}
	o.tolerance = abs(o.c)
	gemmRef(tc.transA, tc.transB, tc.m, tc.n, tc.k, math.Abs(tc.alpha), abs(o.a), o.lda, abs(o.b), o.ldb, math.Abs(tc.beta), o.tolerance, o.ldc)
	return o
}

func toF32(s []float64) []float32 {
	r := make([]float32, len(s))
	for i, v := range s {
		r[i] = float32(v)
	}
	return r
}

// checkResult compares got with the reference: elements inside C within
// relTol*sqrt(k) of the error bound, the ld gaps untouched.
func checkResult[T float](t *testing.T, tc gemmCase, o *operands, got []T, relTol float64) {
	t.Helper()
	tol := relTol * math.Sqrt(float64(max(tc.k, 1)))
	bad := 0
	for i, g := range got {
		r, col := i/o.ldc, i%o.ldc
		want := o.want[i]
		if col >= tc.n {
			if float64(g) != 12345 {
				t.Errorf("%v: C gap (%d,%d) overwritten: %v", tc, r, col, g)
				return
			}
			continue
		}
		bound := tol*o.tolerance[i] + 1e-30
		if d := math.Abs(float64(g) - want); !(d <= bound) {
			if bad < 5 {
				t.Errorf("%v: C(%d,%d) = %v, want %v (|diff| %.3g > %.3g)", tc, r, col, g, want, d, bound)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%v: %d bad elements", tc, bad)
	}
}

type gemmFunc32 func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
type gemmFunc64 func(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int)

// implementations32 returns Sgemm (whatever back end this build uses) and
// the native driver with every kernel this CPU supports, so that the
// portable Go kernel is tested on amd64 too.
func implementations32() map[string]gemmFunc32 {
	impls := map[string]gemmFunc32{"Sgemm": Sgemm}
	for _, kern := range kernels32() {
		impls["native-"+kern.name] = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
			gemm(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
		// The packed path alone, also on sizes gemm would send to gemmSmall.
		impls["packed-"+kern.name] = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			if m == 0 || n == 0 || k == 0 {
				gemm(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			}
			gemmPacked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	return impls
}

func implementations64() map[string]gemmFunc64 {
	impls := map[string]gemmFunc64{"Dgemm": Dgemm}
	for _, kern := range kernels64() {
		impls["native-"+kern.name] = func(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
			checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
			gemm(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	return impls
}

// withWorkers runs f once serially and once split over two goroutines.
func withWorkers(t *testing.T, f func(t *testing.T)) {
	saved := parallel.Workers
	defer func() { parallel.Workers = saved }()
	for _, w := range []int{1, 2} {
		parallel.Workers = w
		t.Run(fmt.Sprintf("workers=%d", w), f)
	}
}

func TestSgemm(t *testing.T) {
	cases := gemmCases()
	impls := implementations32()
	rng := rand.New(rand.NewPCG(1, 2))
	ops := make([]*operands, len(cases))
	for i, tc := range cases {
		ops[i] = makeOperands(tc, rng)
	}
	withWorkers(t, func(t *testing.T) {
		for name, f := range impls {
			t.Run(name, func(t *testing.T) {
				for i, tc := range cases {
					o := ops[i]
					c := toF32(o.c)
					f(tc.transA, tc.transB, tc.m, tc.n, tc.k, float32(tc.alpha), toF32(o.a), o.lda, toF32(o.b), o.ldb, float32(tc.beta), c, o.ldc)
					checkResult(t, tc, o, c, 1e-5)
				}
			})
		}
	})
}

func TestDgemm(t *testing.T) {
	var cases []gemmCase
	for _, tc := range gemmCases() {
		if tc.m*tc.n*tc.k <= 1<<21 { // keep the test fast; float64 shares the driver
			cases = append(cases, tc)
		}
	}
	impls := implementations64()
	rng := rand.New(rand.NewPCG(3, 4))
	ops := make([]*operands, len(cases))
	for i, tc := range cases {
		ops[i] = makeOperands(tc, rng)
	}
	withWorkers(t, func(t *testing.T) {
		for name, f := range impls {
			t.Run(name, func(t *testing.T) {
				for i, tc := range cases {
					o := ops[i]
					c := append([]float64(nil), o.c...)
					f(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, c, o.ldc)
					checkResult(t, tc, o, c, 1e-13)
				}
			})
		}
	})
}

// TestSgemmNoAlloc checks that packing buffers and split products' jobs
// are reused: a call in steady state allocates nothing, serial or split
// over workers (the static split over rows and the strips), with a block
// hook that is a plain function.
func TestSgemmNoAlloc(t *testing.T) {
	saved := parallel.Workers
	defer func() { parallel.Workers = saved }()
	hook := func(arg any, c []float32, ldc, i0, i1, j0, j1 int) { c[i0*ldc+j0] += *arg.(*float32) }
	one := float32(1)
	for _, workers := range []int{1, 3} {
		parallel.Workers = workers
		for _, s := range [][3]int{{128, 400, 560}, {560, 400, 128}} {
			m, n, k := s[0], s[1], s[2]
			a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				allocs := testing.AllocsPerRun(10, func() {
					SgemmThen(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n, hook, &one)
				})
				if allocs != 0 {
					t.Errorf("workers %d, %dx%dx%d, trans=%v: %v allocations per call, want 0", workers, m, n, k, tr, allocs)
				}
			}
		}
	}
}

func TestGemmPanicsOnShortSlices(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	a, b, c := make([]float32, 6), make([]float32, 6), make([]float32, 4)
	mustPanic("short a", func() { Sgemm(false, false, 2, 2, 4, 1, a, 4, b, 2, 0, c, 2) })
	mustPanic("short b", func() { Sgemm(false, true, 2, 2, 3, 1, a, 3, b[:5], 3, 0, c, 2) })
	mustPanic("short c", func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c[:3], 2) })
	mustPanic("small ldc", func() { Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 1) })
	mustPanic("negative", func() { Sgemm(false, false, -1, 2, 3, 1, a, 3, b, 2, 0, c, 2) })
	Sgemm(false, false, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2) // exactly long enough
}

// TestThinRowsMatchPacked: the unpacked path for thin products gives, bit
// for bit, what the packed kernels give for the same product (every
// transpose, n = 1..16, k up to a k block, padded strides, alpha != 1, C
// full of NaN that must be overwritten), and writes nothing outside C.
func TestThinRowsMatchPacked(t *testing.T) {
	kern := sgemmKernel
	if kern.rows == nil {
		t.Skip("no thin-product kernel on this CPU/build")
	}
	r := rand.New(rand.NewPCG(7, 8))
	nan := float32(math.NaN())
	for trial := range 400 {
		transA, transB := r.IntN(2) == 1, r.IntN(2) == 1
		m, n, k := 1+r.IntN(40), 1+r.IntN(16), 1+r.IntN(kcBlock)
		if trial%4 == 0 {
			k = 1 + r.IntN(8)
		}
		pad := r.IntN(3)
		lda, ldb, ldc := k+pad, n+pad, n+pad
		if transA {
			lda = m + pad
		}
		if transB {
			ldb = k + pad
		}
		fill := func(n int) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = float32(r.NormFloat64())
			}
			return s
		}
		rowsA, rowsB := m, k
		if transA {
			rowsA = k
		}
		if transB {
			rowsB = n
		}
		a, b := fill(rowsA*lda), fill(rowsB*ldb)
		alpha := float32(1)
		if trial%3 == 0 {
			alpha = float32(r.NormFloat64())
		}
		want, got := make([]float32, m*ldc), make([]float32, m*ldc)
		for i := range want {
			want[i], got[i] = nan, nan
			if i%ldc >= n {
				want[i], got[i] = -7, -7 // outside C: must stay
			}
		}
		gemmPacked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, 0, want, ldc)
		gemmRows(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, got, ldc)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d (transA %v, transB %v, m %d, n %d, k %d, alpha %g): element %d is %g, packed %g",
					trial, transA, transB, m, n, k, alpha, i, got[i], want[i])
			}
		}
	}
}

// TestStridedBMatchesPacked: products that read B where it lies give the
// bits of the same products with B packed, for every edge tile, several k
// blocks, beta 0, 1 and otherwise, padded strides, and on one worker and
// two (the strips).
func TestStridedBMatchesPacked(t *testing.T) {
	kern := sgemmKernel
	if kern.fnB == nil {
		t.Skip("no strided-B kernels on this CPU/build")
	}
	defer func(w int) { parallel.Workers, readBInPlace = w, true }(parallel.Workers)
	r := rand.New(rand.NewPCG(9, 10))
	nan := float32(math.NaN())
	fill := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	for trial := range 120 {
		transA := r.IntN(2) == 1
		m, n, k := 1+r.IntN(mcBlock), 16*(1+r.IntN(40)), 1+r.IntN(3*kcBlock)
		pad := r.IntN(5)
		lda, ldb, ldc := k+pad, n+pad, n+pad
		rowsA := m
		if transA {
			lda, rowsA = m+pad, k
		}
		a, b, c0 := fill(rowsA*lda), fill(k*ldb), fill(m*ldc)
		for i := range c0 {
			if i%ldc >= n {
				c0[i] = -7 // outside C: must stay
			}
		}
		alpha, beta := float32(r.NormFloat64()), []float32{0, 1, 0.5}[trial%3]
		if beta == 0 {
			for i := range c0 {
				if i%ldc < n {
					c0[i] = nan // never read
				}
			}
		}
		workers := 1 + trial%2
		run := func(inPlace bool) []float32 {
			parallel.Workers, readBInPlace = workers, inPlace
			c := append([]float32(nil), c0...)
			gemm(kern, transA, false, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return c
		}
		if !kern.stridedB(false, m, n) {
			t.Fatalf("trial %d: m %d, n %d should read B in place", trial, m, n)
		}
		want, got := run(false), run(true)
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("trial %d (transA %v, m %d, n %d, k %d, beta %g, %d workers): element %d is %g, packed %g",
					trial, transA, m, n, k, beta, workers, i, got[i], want[i])
			}
		}
	}
}

// TestGemmThenSeesFinalBlocks: SgemmThen and DgemmThen call then on
// disjoint blocks that cover C exactly once, each holding the product's
// final values when then sees it (the values of Sgemm's own call), on
// every path: small, thin, packed on one goroutine, strips, split over
// columns and over rows, one worker and three.
func TestGemmThenSeesFinalBlocks(t *testing.T) {
	saved := parallel.Workers
	defer func() { parallel.Workers = saved }()
	rng := rand.New(rand.NewPCG(7, 8))
	// The last shape packs too much of A for the strips (static column split).
	shapes := [][3]int{{3, 4, 5}, {100, 40, 30}, {100, 400, 560}, {560, 400, 100}, {1000, 64, 300}, {37, 700, 300}, {2, 2, 0}, {1000, 2000, 1050}}
	for _, w := range []int{1, 3} {
		parallel.Workers = w
		for si, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for ti, tr := range [][2]bool{{false, false}, {true, false}, {false, true}} {
				if si == len(shapes)-1 && (w == 1 || ti > 0) {
					continue // large: once, where it splits
				}
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				a, b := make([]float32, m*k), make([]float32, k*n)
				for i := range a {
					a[i] = rng.Float32() - 0.5
				}
				for i := range b {
					b[i] = rng.Float32() - 0.5
				}
				want := make([]float32, m*n)
				Sgemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, want, n)
				got := make([]float32, m*n)
				then, check := finalBlocks(m, n, func(i, j int) bool { return math.Float32bits(got[i*n+j]) == math.Float32bits(want[i*n+j]) })
				SgemmThen(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, got, n, func(_ any, _ []float32, _, i0, i1, j0, j1 int) { then(i0, i1, j0, j1) }, nil)
				check(t, fmt.Sprintf("float32, workers %d, %dx%dx%d %v", w, m, n, k, tr))
				// float64: coverage only.
				a64, b64, c64 := make([]float64, m*k), make([]float64, k*n), make([]float64, m*n)
				then, check = finalBlocks(m, n, func(int, int) bool { return true })
				DgemmThen(tr[0], tr[1], m, n, k, 1, a64, lda, b64, ldb, 0, c64, n, func(_ any, _ []float64, _, i0, i1, j0, j1 int) { then(i0, i1, j0, j1) }, nil)
				check(t, fmt.Sprintf("float64, workers %d, %dx%dx%d %v", w, m, n, k, tr))
			}
		}
	}
}

// finalBlocks returns a then for SgemmThen/DgemmThen on an m x n C that
// counts the blocks each element is in and asks final(i, j) of each
// element as its block is handed over (from any goroutine), and a check
// that reports, on the test's goroutine, an element not in exactly one
// block or not final when its block came.
func finalBlocks(m, n int, final func(i, j int) bool) (then func(i0, i1, j0, j1 int), check func(t *testing.T, what string)) {
	var mu sync.Mutex
	seen := make([]int, m*n)
	bad := -1
	then = func(i0, i1, j0, j1 int) {
		mu.Lock()
		defer mu.Unlock()
		for i := i0; i < i1; i++ {
			for j := j0; j < j1; j++ {
				seen[i*n+j]++
				if bad < 0 && !final(i, j) {
					bad = i*n + j
				}
			}
		}
	}
	check = func(t *testing.T, what string) {
		t.Helper()
		if bad >= 0 {
			t.Fatalf("%s: C(%d,%d) was not final when its block was handed over", what, bad/n, bad%n)
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("%s: C(%d,%d) in %d blocks, want 1", what, i/n, i%n, c)
			}
		}
	}
	return then, check
}
