package blas

import (
	"sync/atomic"
	"unsafe"

	"github.com/bism-ml/bism/internal/freelist"
	"github.com/bism-ml/bism/internal/parallel"
)

type float interface{ ~float32 | ~float64 }

// microKernel is one register-tile kernel and the cache blocking tuned for it.
//
// fn computes C[0:mr, 0:nr] = alpha * Apanel * Bpanel + beta * C for packed
// panels holding k steps: Apanel[p*mr+i] = A(i, p), Bpanel[p*nr+j] = B(p, j).
// C is row-major with stride ldc. fn must not read C when beta == 0.
type microKernel[T float] struct {
	name   string
	mr, nr int
	fn     func(k int, a, b, c *T, ldc int, alpha, beta T)
	// edges are optional variants for partial tiles, smallest first.
	edges []edgeKernel[T]
	// Products with m*n*k < smallWork, or with m or n <= smallDim, skip
	// packing and use gemmSmall. Measured crossovers: with a vector kernel
	// packing pays off from about 8x8x8 on, even for a single row of C;
	// the scalar Go kernel barely beats the direct loops below ~32x32x32
	// and loses to them for very thin products.
	smallWork float64
	smallDim  int
	// fnB, where set, is fn reading B where it lies: row p of the panel at
	// b + p*ldb (row-major B, not transposed; see microKernel.stridedB). Every
	// edge kernel then has one too.
	fnB func(k int, a, b, c *T, ldc int, alpha, beta T, ldb int)
	// rows, where set, computes thin products (n <= rowsMaxN, beta = 0)
	// without packing, bit for bit as fn and its edges would (see gemmRows).
	rows func(m, n, k int, a *T, ars, acs int, b *T, ldb int, c *T, ldc int, alpha T)
}

// edgeKernel computes only the leading rows x cols of its kernel's tile
// (same packed panels, same contract), so the last row and column panels
// of C cost FMAs in proportion to their real size, not the full tile's.
type edgeKernel[T float] struct {
	rows, cols int
	fn         func(k int, a, b, c *T, ldc int, alpha, beta T)
	fnB        func(k int, a, b, c *T, ldc int, alpha, beta T, ldb int)
}

// Cache blocking, in elements of T scaled for float32 (float64 uses half the
// depth so that panels occupy the same bytes).
//
//   - kc: depth of a packed panel. An A micro-panel (mr*kc) plus a B
//     micro-panel (kc*nr) stay in L1 (48 KiB on Sapphire Rapids) while the
//     micro-kernel runs.
//   - mc: rows of A packed at a time; the mc x kc block stays in L2 (2 MiB)
//     while every B micro-panel of the nc block streams past it.
//   - nc: columns of B packed at a time; kc x nc stays in L2/L3.
var (
	kcBlock = 256
	mcBlock = 144
	ncBlock = 2048
)

// minParallelWork is the smallest m*n*k handed to one goroutine: below it the
// cost of waking another core is not repaid.
const minParallelWork = 1 << 18

func blockSizes[T float](kern *microKernel[T]) (kc, mc, nc int) {
	kc, mc, nc = kcBlock, mcBlock, ncBlock
	var zero T
	if _, ok := any(zero).(float64); ok {
		kc /= 2
	}
	mc = max(kern.mr, mc/kern.mr*kern.mr)
	nc = max(kern.nr, nc/kern.nr*kern.nr)
	return kc, mc, nc
}

// workspace holds one goroutine's packing buffers. They are kept in free
// lists so that steady-state calls allocate nothing; a buffer only grows.
type workspace[T float] struct {
	a, b, tmp []T
}

var (
	workspaces32 freelist.List[workspace[float32]]
	workspaces64 freelist.List[workspace[float64]]
)

// workspaces returns T's free list of workspaces.
func workspaces[T float]() *freelist.List[workspace[T]] {
	return freelist.Pick[workspace[T]](&workspaces32, &workspaces64)
}

func getWorkspace[T float](na, nb, ntmp int) *workspace[T] {
	w := workspaces[T]().Get()
	if cap(w.a) < na {
		w.a = make([]T, na)
	}
	if cap(w.b) < nb {
		w.b = make([]T, nb)
	}
	if cap(w.tmp) < ntmp {
		w.tmp = make([]T, ntmp)
	}
	w.a, w.b, w.tmp = w.a[:na], w.b[:nb], w.tmp[:ntmp]
	return w
}

func putWorkspace[T float](w *workspace[T]) { workspaces[T]().Put(w) }

// small reports whether gemm computes an m x n x k product directly
// (gemmSmall), accumulating into C term by term, rather than packed.
func (kern *microKernel[T]) small(m, n, k int) bool {
	return float64(m)*float64(n)*float64(k) < kern.smallWork || min(m, n) <= kern.smallDim
}

// thin reports whether gemm computes an m x n x k product by rows
// (gemmRows) when beta = 0.
func (kern *microKernel[T]) thin(m, n, k int) bool {
	return kern.rows != nil && n <= rowsMaxN && k <= kcBlock && float64(m)*float64(n)*float64(k) <= rowsMaxWork
}

// gemm is the common driver behind Sgemm and Dgemm (arguments already
// checked). It picks the small direct path or the packed path, and splits
// large problems over goroutines.
func gemm[T float](kern *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	gemmThen(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, nil, nil)
}

// A Then is work on blocks of a product's result (SgemmThen): then(arg, c,
// ldc, i0, i1, j0, j1) on rows [i0, i1) and columns [j0, j1) of C.
type Then[T float] func(arg any, c []T, ldc int, i0, i1, j0, j1 int)

// gemmThen is gemm followed by then(arg, c, ldc, i0, i1, j0, j1) on
// disjoint blocks of C that cover it (rows [i0, i1), columns [j0, j1)),
// each called once the block is final, by the goroutine that computed it
// (nil: none).
func gemmThen[T float](kern *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int, then Then[T], arg any) {
	if m == 0 || n == 0 {
		return
	}
	whole := func() {
		if then != nil {
			then(arg, c, ldc, 0, m, 0, n)
		}
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		whole()
		return
	}
	if kern.small(m, n, k) {
		gemmSmall(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		whole()
		return
	}
	if beta == 0 && kern.thin(m, n, k) {
		gemmRows(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, c, ldc)
		whole()
		return
	}
	if !parallel.Splits(m*n*k, minParallelWork) {
		gemmPacked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		whole()
		return
	}

	w := parallel.Workers
	// Split C into vertical strips (over n: each goroutine packs its own
	// part of B and all of A) or horizontal strips (over m: its own part of
	// A and all of B), with no synchronisation beyond the final join. Strip
	// edges fall on multiples of the finest tile the kernel computes
	// exactly (e.g. 16 columns for 12x32 with its 12x16 edge kernel), which
	// balances e.g. n=400 as 208+192 rather than 224+176. Pick the split
	// with the lower estimated per-goroutine cost: FMAs on padded tiles
	// plus the packing that each goroutine repeats.
	rowGran, colGran := kern.granularity()
	mPad := (m + rowGran - 1) / rowGran * rowGran
	nPad := (n + colGran - 1) / colGran * colGran
	const packCost = 16 // packing one element costs about as much as 16 tile FMAs
	stripCost := func(units, unit, otherPad, other int) (cost float64, grain int) {
		grain = max(1, int(minParallelWork/(float64(unit)*float64(otherPad)*float64(k))))
		ww := min(w, units/grain)
		if ww <= 1 {
			return -1, grain
		}
		per := (units + ww - 1) / ww
		cost = float64(per*unit)*float64(otherPad)*float64(k) +
			packCost*float64(k)*float64(per*unit+other)
		return cost, grain
	}
	nUnits, mUnits := nPad/colGran, mPad/rowGran
	costN, grainN := stripCost(nUnits, colGran, mPad, m)
	costM, grainM := stripCost(mUnits, rowGran, nPad, n)
	if costN < 0 && costM < 0 {
		gemmPacked(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		whole()
		return
	}
	// The split's operands go to the workers in a job (parallel.ForJob):
	// a closure would be made anew by every product.
	j := getJob[T]()
	*j = gemmJob[T]{kern: kern, transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta,
		a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, then: then, arg: arg}
	switch {
	case costM < 0 || (costN >= 0 && costN <= costM):
		if pw := min(w, nUnits/grainN); float64((m+kern.mr-1)/kern.mr*kern.mr)*float64(k) <= maxSharedA {
			j.strips(pw, colGran)
			break
		}
		j.split, j.gran = splitColumns, colGran
		parallel.ForJob(nUnits, grainN, j)
	default:
		j.split, j.gran = splitRows, rowGran
		parallel.ForJob(mUnits, grainM, j)
	}
	putJob(j)
}

// A gemmJob is a product split over cores: its operands, and the split's
// own numbers.
type gemmJob[T float] struct {
	kern           *microKernel[T]
	transA, transB bool
	m, n, k        int
	alpha, beta    T
	a, b, c        []T
	lda, ldb, ldc  int
	then           Then[T]
	arg            any

	split gemmSplit // what a unit of the split is
	gran  int       // columns or rows per unit of a static split

	// strips' dynamic split
	width, nStrips int
	strided        bool
	next           atomic.Int64
}

var (
	jobs32 freelist.List[gemmJob[float32]]
	jobs64 freelist.List[gemmJob[float64]]
)

// jobs returns T's free list of jobs.
func jobs[T float]() *freelist.List[gemmJob[T]] { return freelist.Pick[gemmJob[T]](&jobs32, &jobs64) }

func getJob[T float]() *gemmJob[T] { return jobs[T]().Get() }

// putJob clears j (it holds no operands) and gives it back.
func putJob[T float](j *gemmJob[T]) {
	*j = gemmJob[T]{}
	jobs[T]().Put(j)
}

// gemmSplit says what a unit of a split product is.
type gemmSplit int

const (
	splitColumns gemmSplit = iota // gran columns of C
	splitRows                     // gran rows of C
	splitStrips                   // a worker taking strips (strips)
)

// Run runs units [lo, hi) of j (parallel.Job).
func (j *gemmJob[T]) Run(lo, hi int) {
	switch j.split {
	case splitColumns:
		j.columns(lo, hi)
	case splitRows:
		j.rows(lo, hi)
	default:
		j.stripWorkers(lo, hi)
	}
}

// columns computes C's columns of units [lo, hi).
func (j *gemmJob[T]) columns(lo, hi int) {
	j0, j1 := lo*j.gran, min(hi*j.gran, j.n)
	var bs []T
	if j.transB {
		bs = j.b[j0*j.ldb:] // B(p, j) = b[j*ldb + p]
	} else {
		bs = j.b[j0:] // B(p, j) = b[p*ldb + j]
	}
	gemmPacked(j.kern, j.transA, j.transB, j.m, j1-j0, j.k, j.alpha, j.a, j.lda, bs, j.ldb, j.beta, j.c[j0:], j.ldc)
	if j.then != nil {
		j.then(j.arg, j.c, j.ldc, 0, j.m, j0, j1)
	}
}

// rows computes C's rows of units [lo, hi).
func (j *gemmJob[T]) rows(lo, hi int) {
	i0, i1 := lo*j.gran, min(hi*j.gran, j.m)
	var as []T
	if j.transA {
		as = j.a[i0:] // A(i, p) = a[p*lda + i]
	} else {
		as = j.a[i0*j.lda:] // A(i, p) = a[i*lda + p]
	}
	gemmPacked(j.kern, j.transA, j.transB, i1-i0, j.n, j.k, j.alpha, as, j.lda, j.b, j.ldb, j.beta, j.c[i0*j.ldc:], j.ldc)
	if j.then != nil {
		j.then(j.arg, j.c, j.ldc, i0, i1, 0, j.n)
	}
}

// stridedB reports whether a product reads op(B) where it lies (fnB)
// instead of packing it: B not transposed, every column tile exact (n a
// multiple of the finest tile width, so that no tile reads past a row of
// B), and at most one block of rows (mcBlock), so that each row of B is
// read by a few micro-panels only; with more rows, packing B once pays.
// For a batch of 128 times a [560, 400] weight, skipping the packing takes
// the product from 151-153 to 168-170 GFLOP/s on one core.
func (kern *microKernel[T]) stridedB(transB bool, m, n int) bool {
	if kern.fnB == nil || transB || m > mcBlock || !readBInPlace {
		return false
	}
	_, cols := kern.granularity()
	return n%cols == 0
}

// readBInPlace enables stridedB (a variable for tests).
var readBInPlace = true

// granularity returns the finest row and column counts the kernel computes
// without padding: mr and nr, or smaller where an edge kernel covers a full
// tile width (height) with fewer rows (columns).
func (kern *microKernel[T]) granularity() (rows, cols int) {
	rows, cols = kern.mr, kern.nr
	for _, e := range kern.edges {
		if e.cols == kern.nr && kern.mr%e.rows == 0 {
			rows = min(rows, e.rows)
		}
		if e.rows == kern.mr && kern.nr%e.cols == 0 {
			cols = min(cols, e.cols)
		}
	}
	return rows, cols
}

// gemmPacked is the single-goroutine Goto/BLIS loop nest:
//
//	for jc over n by nc:             B block kc x nc
//	  for pc over k by kc:           pack B[pc:pc+kc, jc:jc+nc]
//	    for ic over m by mc:         pack A[ic:ic+mc, pc:pc+kc]
//	      macroKernel: for each nr-wide B micro-panel, for each mr-high
//	      A micro-panel, one micro-kernel call on an mr x nr tile of C.
//
// beta is applied on the first pc block only; later blocks accumulate.
func gemmPacked[T float](kern *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	kc, mc, nc := blockSizes(kern)
	mr, nr := kern.mr, kern.nr
	kc = evenDepth(kc, k)
	mcp := min(mc, (m+mr-1)/mr*mr)
	ncp := min(nc, (n+nr-1)/nr*nr)
	ws := getWorkspace[T](mcp*kc, kc*ncp, mr*nr)
	strided := kern.stridedB(transB, m, n)
	for jc := 0; jc < n; jc += nc {
		ncur := min(nc, n-jc)
		for pc := 0; pc < k; pc += kc {
			kcur := min(kc, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			bs, bld := ws.b, 0
			if strided {
				bs, bld = b[pc*ldb+jc:], ldb
			} else {
				packB(transB, b, ldb, pc, kcur, jc, ncur, nr, ws.b)
			}
			for ic := 0; ic < m; ic += mc {
				mcur := min(mc, m-ic)
				packA(transA, a, lda, ic, mcur, pc, kcur, mr, ws.a)
				macroKernelB(kern, mcur, ncur, kcur, alpha, ws.a, bs, bld, bet, c[ic*ldc+jc:], ldc, ws.tmp)
			}
		}
	}
	putWorkspace(ws)
}

// Thin products: at most rowsMaxN columns and rowsMaxWork multiply-adds
// go to the kernel's rows function (see BenchmarkThin for the crossover).
const (
	rowsMaxN    = 16
	rowsMaxWork = 1 << 17
)

// gemmRows computes C = alpha·op(A)·op(B) for beta = 0 with kern.rows,
// which reads op(A) through its strides and op(B) as contiguous rows, so
// nothing is packed: the products of tiny models (a [100,2] batch times a
// [2,4] weight) cost what their multiply-adds cost. Every element of C is
// the chain of fused multiply-adds over p = 0..k-1 from zero, then times
// alpha, that the packed kernels compute in one k block (k <= kcBlock), so
// the result does not depend on the path.
func gemmRows[T float](kern *microKernel[T], transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, c []T, ldc int) {
	ars, acs := lda, 1 // A(i, p) = a[i*lda + p]
	if transA {
		ars, acs = 1, lda // A(i, p) = a[p*lda + i]
	}
	if !transB {
		kern.rows(m, n, k, &a[0], ars, acs, &b[0], ldb, &c[0], ldc, alpha)
		return
	}
	// op(B)(p, j) = b[j*ldb + p]: transpose it into rows of a pooled buffer
	// (k <= kcBlock, n <= rowsMaxN), as the packing of B would.
	ws := getWorkspace[T](0, k*n, 0)
	packStrided(ws.b, n, b, ldb, n, k)
	kern.rows(m, n, k, &a[0], ars, acs, &ws.b[0], n, &c[0], ldc, alpha)
	putWorkspace(ws)
}

// evenDepth returns the depth of the k blocks: at most kc, and k spread
// evenly over the blocks so that the last one is not a sliver.
func evenDepth(kc, k int) int {
	kc = min(kc, k)
	if nb := (k + kc - 1) / kc; nb > 1 {
		kc = (k + nb - 1) / nb
	}
	return kc
}

// maxSharedA bounds the packed copy of all of op(A) (elements, rows padded
// to mr) that each strips worker (gemmJob.strips) keeps; larger products use the static
// split, whose workers pack A one mc x kc block at a time.
const maxSharedA = 1 << 20

// stripsPerWorker is how many vertical strips gemmJob.strips cuts C into per
// worker: enough that a worker whose core is busy with something else
// (another process, the runtime) does not hold up the whole product, few
// enough that the strips stay a few micro-panels wide.
const stripsPerWorker = 4

// strips computes C in vertical strips handed out dynamically to w
// workers. Each worker packs all of op(A) once, on taking its first strip,
// into its own buffer (A panels for the k block at pc start at pc*mPad),
// then for every strip it takes packs that strip of op(B) and runs the
// macro-kernel, exactly as gemmPacked does for one strip. Compared with a
// static split into w strips this costs nothing extra in packing (each
// worker still packs A once and its own columns of B) and keeps all cores
// busy when one of them is slow.
func (j *gemmJob[T]) strips(w, gran int) {
	nr, n := j.kern.nr, j.n
	// Strip width: a multiple of nr where that still gives each worker
	// several strips, else of the finest exact tile width.
	width := (n + w*stripsPerWorker - 1) / (w * stripsPerWorker)
	if g := (width + nr - 1) / nr * nr; g*w*2 <= n {
		width = g
	} else {
		width = (width + gran - 1) / gran * gran
	}
	j.split, j.width, j.nStrips, j.strided = splitStrips, width, (n+width-1)/width, j.kern.stridedB(j.transB, j.m, n)
	parallel.ForJob(w, 1, j)
}

// stripWorkers runs hi - lo of strips' workers, one after another: each
// takes strips until none is left.
func (j *gemmJob[T]) stripWorkers(lo, hi int) {
	kern, m, k := j.kern, j.m, j.k
	kc, mc, _ := blockSizes(kern)
	mr, nr := kern.mr, kern.nr
	kc = evenDepth(kc, k)
	mPad := (m + mr - 1) / mr * mr
	for range hi - lo {
		ws := getWorkspace[T](mPad*k, kc*((j.width+nr-1)/nr*nr), mr*nr)
		packed := false
		for {
			s := int(j.next.Add(1)) - 1
			if s >= j.nStrips {
				break
			}
			if !packed {
				for pc := 0; pc < k; pc += kc {
					packA(j.transA, j.a, j.lda, 0, m, pc, min(kc, k-pc), mr, ws.a[pc*mPad:])
				}
				packed = true
			}
			j0 := s * j.width
			ncur := min(j.width, j.n-j0)
			for pc := 0; pc < k; pc += kc {
				kcur := min(kc, k-pc)
				bet := j.beta
				if pc > 0 {
					bet = 1
				}
				bs, bld := ws.b, 0
				if j.strided {
					bs, bld = j.b[pc*j.ldb+j0:], j.ldb
				} else {
					packB(j.transB, j.b, j.ldb, pc, kcur, j0, ncur, nr, ws.b)
				}
				for ic := 0; ic < m; ic += mc {
					macroKernelB(kern, min(mc, m-ic), ncur, kcur, j.alpha, ws.a[pc*mPad+ic*kcur:], bs, bld, bet, j.c[ic*j.ldc+j0:], j.ldc, ws.tmp)
				}
			}
			if j.then != nil {
				j.then(j.arg, j.c, j.ldc, 0, m, j0, j0+ncur)
			}
		}
		putWorkspace(ws)
	}
}

// macroKernel multiplies a packed mc x kc block of A by a packed kc x nc
// block of B into C. Each B micro-panel is reused across all A micro-panels
// (it stays in L1); the A block is re-read from L2. A partial tile at the
// bottom or right edge uses the smallest edge kernel that covers it; if that
// is still larger than the tile, the result goes through a scratch tile so
// that nothing outside C is written.
func macroKernel[T float](kern *microKernel[T], m, n, k int, alpha T, a, b []T, beta T, c []T, ldc int, tmp []T) {
	macroKernelB(kern, m, n, k, alpha, a, b, 0, beta, c, ldc, tmp)
}

// macroKernelB is macroKernel with B packed (ldb = 0) or, for ldb > 0, read
// where it lies by the kernels' fnB: B(p, j) = b[p*ldb + j]. The tiles and
// the arithmetic are the same either way.
func macroKernelB[T float](kern *microKernel[T], m, n, k int, alpha T, a, b []T, ldb int, beta T, c []T, ldc int, tmp []T) {
	mr, nr := kern.mr, kern.nr
	for jr := 0; jr < n; jr += nr {
		nrr := min(nr, n-jr)
		bp := &b[jr*k]
		if ldb > 0 {
			bp = &b[jr]
		}
		for ir := 0; ir < m; ir += mr {
			mrr := min(mr, m-ir)
			ap := &a[ir*k]
			fn, fnB, rows, cols := kern.fn, kern.fnB, mr, nr
			if mrr != mr || nrr != nr {
				for _, e := range kern.edges {
					if e.rows >= mrr && e.cols >= nrr {
						fn, fnB, rows, cols = e.fn, e.fnB, e.rows, e.cols
						break
					}
				}
			}
			if rows == mrr && cols == nrr {
				if ldb > 0 {
					fnB(k, ap, bp, &c[ir*ldc+jr], ldc, alpha, beta, ldb)
				} else {
					fn(k, ap, bp, &c[ir*ldc+jr], ldc, alpha, beta)
				}
				continue
			}
			if ldb > 0 {
				fnB(k, ap, bp, &tmp[0], nr, alpha, 0, ldb)
			} else {
				fn(k, ap, bp, &tmp[0], nr, alpha, 0)
			}
			for i := 0; i < mrr; i++ {
				crow := c[(ir+i)*ldc+jr:][:nrr]
				trow := tmp[i*nr:][:nrr]
				if beta == 0 {
					copy(crow, trow)
					continue
				}
				for j, t := range trow {
					crow[j] = t + beta*crow[j]
				}
			}
		}
	}
}

// packA copies the m x k block of op(A) starting at (i0, p0) into mr-row
// micro-panels: dst[(ir/mr)*mr*k + p*mr + i] = op(A)(i0+ir+i, p0+p), rows
// past m zero-filled. Both storage orders end up in this one layout, which
// is all the micro-kernel knows about.
func packA[T float](transA bool, a []T, lda, i0, m, p0, k, mr int, dst []T) {
	for ir := 0; ir < m; ir += mr {
		rows := min(mr, m-ir)
		d := dst[ir*k:][:mr*k]
		if !transA {
			// Row i of the panel is contiguous in the source.
			packStrided(d, mr, a[(i0+ir)*lda+p0:], lda, rows, k)
		} else {
			// Column p of the panel is contiguous in the source.
			packContiguous(d, mr, a[(p0)*lda+i0+ir:], lda, rows, k)
		}
		if rows < mr {
			for p := 0; p < k; p++ {
				clear(d[p*mr+rows : p*mr+mr])
			}
		}
	}
}

// packB copies the k x n block of op(B) starting at (p0, j0) into nr-column
// micro-panels: dst[(jr/nr)*nr*k + p*nr + j] = op(B)(p0+p, j0+jr+j), columns
// past n zero-filled.
func packB[T float](transB bool, b []T, ldb, p0, k, j0, n, nr int, dst []T) {
	for jr := 0; jr < n; jr += nr {
		cols := min(nr, n-jr)
		d := dst[jr*k:][:nr*k]
		if !transB {
			// Row p of the panel is contiguous in the source.
			packContiguous(d, nr, b[p0*ldb+j0+jr:], ldb, cols, k)
		} else {
			// Column j of the panel is contiguous in the source.
			packStrided(d, nr, b[(j0+jr)*ldb+p0:], ldb, cols, k)
		}
		if cols < nr {
			for p := 0; p < k; p++ {
				clear(d[p*nr+cols : p*nr+nr])
			}
		}
	}
}

// packContiguous copies k rows of width cols (<= w) from a source with row
// stride lds into a panel of width w: d[p*w+j] = src[p*lds+j]. Full-width
// rows go through an unrolled assembly copy where there is one: rows are
// only 16-128 bytes, too short for copy's memmove call to pay off.
func packContiguous[T float](d []T, w int, src []T, lds, cols, k int) {
	var zero T
	size := unsafe.Sizeof(zero)
	if cols == w && k > 0 {
		if f := packCopyFunc(uintptr(w) * size); f != nil {
			_ = src[(k-1)*lds+w-1] // bounds for the unchecked copy
			_ = d[k*w-1]
			f(k, unsafe.Pointer(&src[0]), uintptr(lds)*size, unsafe.Pointer(&d[0]))
			return
		}
	}
	if cols <= 8 {
		// Too short for copy's call to pay off.
		for p := 0; p < k; p++ {
			dd, ss := d[p*w:][:cols], src[p*lds:][:cols]
			for j := range dd {
				dd[j] = ss[j]
			}
		}
		return
	}
	for p := 0; p < k; p++ {
		copy(d[p*w:p*w+cols], src[p*lds:][:cols])
	}
}

// packStrided transposes rows of the source into a panel of width w:
// d[p*w+i] = src[i*lds+p] for i < rows, p < k. Where there is assembly,
// groups of eight and then four float32 rows go through register
// transposes; the rest is scalar Go.
func packStrided[T float](d []T, w int, src []T, lds, rows, k int) {
	i := 0
	var zero T
	if haveTranspose4 && unsafe.Sizeof(zero) == 4 {
		for _, g := range [2]int{8, 4} {
			kg := k / g * g
			if kg == 0 {
				continue
			}
			for ; i+g <= rows; i += g {
				// The assembly does not check bounds; these do.
				_ = src[(i+g-1)*lds+kg-1]
				_ = d[(kg-1)*w+i+g-1]
				s, dd := (*float32)(unsafe.Pointer(&src[i*lds])), (*float32)(unsafe.Pointer(&d[i]))
				if g == 8 {
					transpose8x8s(kg, s, lds, dd, w)
				} else {
					transpose4x4s(kg, s, lds, dd, w)
				}
				for r := i; r < i+g; r++ {
					for p := kg; p < k; p++ {
						d[p*w+r] = src[r*lds+p]
					}
				}
			}
		}
	}
	for ; i+4 <= rows; i += 4 {
		r0 := src[i*lds:][:k]
		r1 := src[(i+1)*lds:][:k]
		r2 := src[(i+2)*lds:][:k]
		r3 := src[(i+3)*lds:][:k]
		for p := range r0 {
			dd := d[p*w+i:][:4]
			dd[0], dd[1], dd[2], dd[3] = r0[p], r1[p], r2[p], r3[p]
		}
	}
	for ; i < rows; i++ {
		for p, v := range src[i*lds:][:k] {
			d[p*w+i] = v
		}
	}
}

// scaleC sets C = beta*C; beta == 0 writes zeros without reading C.
func scaleC[T float](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc:][:n]
		switch beta {
		case 0:
			clear(row)
		case 1:
		default:
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmSmall computes small products directly, without packing: C is scaled
// by beta, then alpha*op(A)*op(B) is accumulated with loops that walk memory
// contiguously for each transpose case.
func gemmSmall[T float](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	scaleC(m, n, beta, c, ldc)
	for i := 0; i < m; i++ {
		crow := c[i*ldc:][:n]
		switch {
		case !transB:
			// C[i,:] += alpha*A(i,p) * B[p,:]  (axpy over rows of B)
			for p := 0; p < k; p++ {
				var aip T
				if transA {
					aip = a[p*lda+i]
				} else {
					aip = a[i*lda+p]
				}
				aip *= alpha
				brow := b[p*ldb:][:n]
				for j, bv := range brow {
					crow[j] += aip * bv
				}
			}
		case !transA:
			// C[i,j] += alpha * dot(A[i,:], B[j,:])  (both rows contiguous)
			arow := a[i*lda:][:k]
			for j := range crow {
				brow := b[j*ldb:][:k]
				var s T
				for p, av := range arow {
					s += av * brow[p]
				}
				crow[j] += alpha * s
			}
		default:
			for j := range crow {
				brow := b[j*ldb:][:k]
				var s T
				for p, bv := range brow {
					s += a[p*lda+i] * bv
				}
				crow[j] += alpha * s
			}
		}
	}
}
