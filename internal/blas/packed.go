package blas

import "fmt"

// PackedB is a k x n matrix B packed once, in the micro-kernel's layout,
// for many products C += A·B with different A (AIS multiplies every
// transition's chains by the same matrix). Its rows are cut into blocks,
// and in each block the leading columns that are zero in all its rows may
// be declared, so that the products skip them: a block-triangular B costs
// only its non-zero part.
//
// MulAdd runs on the calling goroutine alone, with a fixed order of
// operations: callers split the rows of A between goroutines, and the
// result does not depend on how.
type PackedB[T float] struct {
	kern   *microKernel[T]
	k, n   int
	blocks []packedBlock[T]
	work   int64 // multiply-adds per row of A, zeros skipped
}

type packedBlock[T float] struct {
	p0, kc int // rows [p0, p0+kc) of B
	j0     int // the columns before j0 are zero in these rows
	b      []T // B[p0:p0+kc, j0:n] in nr-wide micro-panels
}

// NewPackedB32 packs the row-major k x n matrix b (row stride ldb). ends
// are the ends of the row blocks, increasing, the last one k; zero[i] is
// the number of leading columns that are zero in block i (rounded down to
// the kernel's tile width).
func NewPackedB32(b []float32, ldb, k, n int, ends, zero []int) *PackedB[float32] {
	return newPackedB(sgemmKernel, b, ldb, k, n, ends, zero)
}

// NewPackedB64 is NewPackedB32 in float64.
func NewPackedB64(b []float64, ldb, k, n int, ends, zero []int) *PackedB[float64] {
	return newPackedB(dgemmKernel, b, ldb, k, n, ends, zero)
}

func newPackedB[T float](kern *microKernel[T], b []T, ldb, k, n int, ends, zero []int) *PackedB[T] {
	checkGemm(false, false, 0, n, k, 0, k, len(b), ldb, 0, n)
	if len(ends) != len(zero) || len(ends) == 0 || ends[len(ends)-1] != k {
		panic(fmt.Sprintf("blas.NewPackedB: %d block ends %v and %d zero counts for k=%d", len(ends), ends, len(zero), k))
	}
	p := &PackedB[T]{kern: kern, k: k, n: n}
	p0 := 0
	for i, end := range ends {
		if end <= p0 || zero[i] < 0 || zero[i] > n {
			panic(fmt.Sprintf("blas.NewPackedB: block %d: rows [%d, %d), %d zero columns of %d", i, p0, end, zero[i], n))
		}
		j0 := zero[i] / kern.nr * kern.nr
		kc, cols := end-p0, n-j0
		strips := (cols + kern.nr - 1) / kern.nr
		blk := packedBlock[T]{p0: p0, kc: kc, j0: j0, b: make([]T, strips*kern.nr*kc)}
		packB(false, b, ldb, p0, kc, j0, cols, kern.nr, blk.b)
		p.blocks = append(p.blocks, blk)
		p.work += int64(kc) * int64(cols)
		p0 = end
	}
	return p
}

// MulAdd computes C += A·B for the m x k matrix a (row stride lda) into the
// m x n matrix c (row stride ldc), on the calling goroutine.
func (p *PackedB[T]) MulAdd(m int, a []T, lda int, c []T, ldc int) {
	checkGemm(false, false, m, p.n, p.k, len(a), lda, p.k*p.n, p.n, len(c), ldc)
	if m == 0 || p.n == 0 {
		return
	}
	flops.Add(2 * int64(m) * p.work)
	kern := p.kern
	_, mc, _ := blockSizes(kern)
	maxKc := 0
	for _, blk := range p.blocks {
		maxKc = max(maxKc, blk.kc)
	}
	mcp := min(mc, (m+kern.mr-1)/kern.mr*kern.mr)
	ws := getWorkspace[T](mcp*maxKc, 0, kern.mr*kern.nr)
	for ic := 0; ic < m; ic += mc {
		mcur := min(mc, m-ic)
		for _, blk := range p.blocks {
			packA(false, a, lda, ic, mcur, blk.p0, blk.kc, kern.mr, ws.a)
			macroKernel(kern, mcur, p.n-blk.j0, blk.kc, 1, ws.a, blk.b, 1, c[ic*ldc+blk.j0:], ldc, ws.tmp)
		}
	}
	putWorkspace(ws)
}
