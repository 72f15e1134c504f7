package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/internal/freelist"
	"github.com/bism-ml/bism/internal/parallel"
)

// 2-D convolution (cross-correlation, as in every deep-learning library) and
// average pooling on NCHW tensors.
//
// Conv2d, Conv2dInputGrad and Conv2dWeightGrad are the three partial
// derivatives of the trilinear form T(x, w, y) = <Conv2d(x, w), y>, so each is
// the adjoint of the others in one argument. All three run GEMMs on im2col
// matrices (or, for 1x1 kernels with stride 1 and no padding, on the samples
// themselves), one sample per GEMM for large planes and several side by side
// for small ones, with samples split over cores. Same-size stride-1
// convolutions build shifted copies of the input planes instead of the patch
// matrix: with AVX-512 and planes of a multiple of 32 pixels they sum them
// with vector FMAs (conv2dShifted), otherwise, on large planes, they feed
// them to K GEMMs (conv2dPlaneGEMM).

// convGeom is the geometry of one convolution.
type convGeom struct {
	n, c, h, w     int // input
	o, kh, kw      int // weight (channels c shared with the input)
	ho, wo         int // output spatial size
	stride, pad    int
	ckk, hw, howo  int // c*kh*kw, h*w, ho*wo
	direct         bool
	flopsPerSample int
}

// convGeometry validates a convolution of an input shaped xs by a weight shaped
// ws and returns its geometry, or panics naming op and both shapes.
func convGeometry(op string, xs, ws []int, stride, pad int) convGeom {
	fail := func(why string) { convPanic(op, xs, ws, stride, pad, why) }
	if len(xs) != 4 || len(ws) != 4 {
		fail("input must be [N,C,H,W] and weight [O,C,KH,KW]")
	}
	if stride < 1 || pad < 0 {
		fail("stride must be >= 1 and pad >= 0")
	}
	if xs[1] != ws[1] {
		fail(fmt.Sprintf("input has %d channels, weight expects %d", xs[1], ws[1]))
	}
	if ws[2] < 1 || ws[3] < 1 {
		fail("empty kernel")
	}
	g := convGeom{
		n: xs[0], c: xs[1], h: xs[2], w: xs[3],
		o: ws[0], kh: ws[2], kw: ws[3],
		stride: stride, pad: pad,
	}
	if g.h+2*pad < g.kh || g.w+2*pad < g.kw {
		fail("kernel larger than padded input")
	}
	g.ho = (g.h+2*pad-g.kh)/stride + 1
	g.wo = (g.w+2*pad-g.kw)/stride + 1
	g.ckk = g.c * g.kh * g.kw
	g.hw = g.h * g.w
	g.howo = g.ho * g.wo
	g.direct = g.kh == 1 && g.kw == 1 && stride == 1 && pad == 0
	g.flopsPerSample = 2 * g.o * g.howo * g.ckk
	return g
}

// convPanic panics naming the convolution op and its operands. It boxes
// copies, so that its callers' shapes and numbers stay on their stacks.
func convPanic(op string, xs, ws []int, stride, pad int, why string) {
	panic(fmt.Sprintf("tensor.%s: input %v and weight %v (stride %d, pad %d): %s", op, slices.Clone(xs), slices.Clone(ws), stride, pad, why))
}

// outShape returns the output's shape in buf (at least 4 long).
func (g *convGeom) outShape(buf []int) []int {
	return append(buf[:0], g.n, g.o, g.ho, g.wo)
}

// grain is the number of samples per parallel chunk below which splitting
// over cores does not pay.
func (g *convGeom) grain() int {
	const minFlops = 1 << 17
	return 1 + minFlops/(g.flopsPerSample+1)
}

// Conv2d returns the 2-D cross-correlation of x [N,C,H,W] with w [O,C,KH,KW]:
// an [N,O,Ho,Wo] tensor with Ho = (H+2*pad-KH)/stride+1 (likewise Wo), where
// out[n,o,i,j] = sum_{c,p,q} w[o,c,p,q] * x[n,c,i*stride-pad+p, j*stride-pad+q]
// and x is zero outside its bounds. There is no bias; add one by broadcasting.
func Conv2d(x, w *Tensor, stride, pad int) *Tensor {
	sameDType("Conv2d", x, w)
	g := convGeometry("Conv2d", x.shape, w.shape, stride, pad)
	var buf [4]int
	out := ArenaOf(x, w).empty(x.dtype, g.outShape(buf[:])...)
	if x.dtype == Float32 {
		conv2d(&g, x.f32, w.f32, out.f32)
	} else {
		conv2d(&g, x.f64, w.f64, out.f64)
	}
	return out
}

// Conv2dBias returns Conv2d(x, w, stride, pad) plus b [O] on every output
// plane: the bits of Add(Conv2d(x, w, stride, pad), b reshaped to
// [O,1,1]), with each sample's addition made while its planes are still in
// the cache (or while they are copied out of a grouped product) instead
// of in a pass of its own over a second tensor.
func Conv2dBias(x, w, b *Tensor, stride, pad int) *Tensor {
	sameDType("Conv2dBias", x, w)
	sameDType("Conv2dBias", x, b)
	g := convGeometry("Conv2dBias", x.shape, w.shape, stride, pad)
	if b.Size() != g.o {
		panic(fmt.Sprintf("tensor.Conv2dBias: bias %v for weight %v: want %d entries", b.shape, w.shape, g.o))
	}
	var buf [4]int
	out := ArenaOf(x, w).empty(x.dtype, g.outShape(buf[:])...)
	if x.dtype == Float32 {
		conv2dBias(&g, x.f32, w.f32, b.f32, out.f32)
	} else {
		conv2dBias(&g, x.f64, w.f64, b.f64, out.f64)
	}
	return out
}

// Conv2dInputGrad returns the adjoint of x -> Conv2d(x, w, stride, pad)
// applied to g [N,O,Ho,Wo] (the transposed convolution): a tensor of shape
// xShape with <Conv2d(x, w), g> = <x, Conv2dInputGrad(g, w, ...)> for all x.
func Conv2dInputGrad(g, w *Tensor, xShape []int, stride, pad int) *Tensor {
	sameDType("Conv2dInputGrad", g, w)
	geo := convGeometry("Conv2dInputGrad", xShape, w.shape, stride, pad)
	checkConvOut("Conv2dInputGrad", g, xShape, w.shape, &geo)
	if stride == 1 && !geo.direct && geo.kh == geo.kw && pad <= geo.kh-1 {
		// With stride 1 the transposed convolution is a convolution of g with
		// the spatially flipped, channel-transposed kernel and padding
		// k-1-pad: im2col copies instead of col2im's scattered sums.
		return Conv2d(g, flipTranspose(w), 1, geo.kh-1-pad)
	}
	dx := ArenaOf(g, w).zeros(g.dtype, xShape...)
	if g.dtype == Float32 {
		conv2dInputGrad(&geo, g.f32, w.f32, dx.f32)
	} else {
		conv2dInputGrad(&geo, g.f64, w.f64, dx.f64)
	}
	return dx
}

// Conv2dWeightGrad returns the adjoint of w -> Conv2d(x, w, stride, pad)
// applied to g [N,O,Ho,Wo]: a tensor of shape wShape with
// <Conv2d(x, w), g> = <w, Conv2dWeightGrad(x, g, ...)> for all w.
func Conv2dWeightGrad(x, g *Tensor, wShape []int, stride, pad int) *Tensor {
	sameDType("Conv2dWeightGrad", x, g)
	geo := convGeometry("Conv2dWeightGrad", x.shape, wShape, stride, pad)
	checkConvOut("Conv2dWeightGrad", g, x.shape, wShape, &geo)
	dw := ArenaOf(x, g).zeros(x.dtype, wShape...)
	if x.dtype == Float32 {
		conv2dWeightGrad(&geo, x.f32, g.f32, dw.f32)
	} else {
		conv2dWeightGrad(&geo, x.f64, g.f64, dw.f64)
	}
	return dw
}

// flipTranspose returns w' [C,O,KH,KW] with w'[c,o,p,q] = w[o,c,KH-1-p,KW-1-q].
func flipTranspose(w *Tensor) *Tensor {
	o, c, kh, kw := w.shape[0], w.shape[1], w.shape[2], w.shape[3]
	out := w.arena.empty(w.dtype, c, o, kh, kw)
	if w.dtype == Float32 {
		flipTransposeKernels(w.f32, out.f32, o, c, kh*kw)
	} else {
		flipTransposeKernels(w.f64, out.f64, o, c, kh*kw)
	}
	return out
}

// flipTransposeKernels writes each kernel (o, c) of src [O,C,KK] reversed
// (the flip of both spatial axes, in row-major order) as kernel (c, o) of
// dst [C,O,KK], dst in order (fresh storage, written once: sequential
// stores keep the writes from missing the cache kernel by kernel).
func flipTransposeKernels[T Float](src, dst []T, o, c, kk int) {
	for j := 0; j < c; j++ {
		for i := 0; i < o; i++ {
			s := src[(i*c+j)*kk:][:kk]
			d := dst[(j*o+i)*kk:][:kk]
			for t, v := range s {
				d[kk-1-t] = v
			}
		}
	}
}

func checkConvOut(op string, g *Tensor, xs, ws []int, geo *convGeom) {
	var buf [4]int
	if want := geo.outShape(buf[:]); !SameShape(g.shape, want) {
		panic(fmt.Sprintf("tensor.%s: gradient %v does not match output shape %v of input %v and weight %v (stride %d, pad %d)",
			op, slices.Clone(g.shape), slices.Clone(want), slices.Clone(xs), slices.Clone(ws), geo.stride, geo.pad))
	}
}

// shiftedWeightGrad reports whether the weight gradient runs as dot
// products of the output gradient with shifted input planes
// (conv2dWeightGradShifted) instead of im2col + GEMM: stride 1, an output as
// large as the input (a square kernel of size 2·pad+1), large planes and
// few channel pairs, the stem and first blocks of a narrow ResNet. There the
// patch matrix (9x the input) costs more to build and pack than the product
// it feeds; BenchmarkConvNarrow measured the shifted form about 2-4x faster
// at H·W = 1024 with O·C <= 128 (1, 8 and 8 input channels, 8, 8 and 16
// outputs), and slower on 16x16 planes (two runs, machine shared).
// shiftedForwardPairs is the largest O·C for which shiftedForward holds:
// no limit, but a variable, so that tests and BenchmarkConvNarrow can send
// convolutions to the GEMMs.
var shiftedForwardPairs = math.MaxInt

// shiftedForward reports whether the convolution itself runs as weighted sums
// of shifted input planes (conv2dShifted): stride 1, an output as large as
// the input, planes a multiple of 32 pixels (the vector kernel's block) and
// at least 4 output channels. BenchmarkConvNarrow (batch 100, machine
// shared, so ratios only) measured it faster than im2col + GEMM at every
// ResNet shape it times on an AMD EPYC (Zen 5): 2-18x at the CPU-scale
// shapes (1→8 channels at 32x32 to 128→64 at 8x8), 1.3-1.6x at the paper
// scale's 64→64 at 32x32, 128→128 at 16x16 and 256→256 at 8x8; on an Intel Xeon, with an earlier
// 32-lane kernel, 1.5-7x up to 32→64 at 8x8 and level at 64→64 on 32x32.
// The stride-1 input gradient, a convolution with the flipped kernel,
// takes the same path.
func (g *convGeom) shiftedForward() bool {
	return g.stride == 1 && g.ho == g.h && g.wo == g.w && !g.direct && hasVecMath &&
		g.hw%32 == 0 && g.o >= 4 && g.o*g.c <= shiftedForwardPairs
}

func (g *convGeom) shiftedWeightGrad() bool {
	return g.stride == 1 && g.ho == g.h && g.wo == g.w && !g.direct && g.hw >= 1024 && g.o*g.c <= 128
}

// gemmMinCols is the fewest columns a convolution's GEMM should have: layers
// with smaller output planes (the 16x16, 8x8 and 4x4 stages of the ResNet)
// put several samples side by side in one patch matrix, so the weight
// matrix is packed once per group instead of once per sample (at 4x4 that
// packing cost more than the product itself).
var gemmMinCols = 256

// samplesPerGEMM is how many samples share one GEMM (see gemmMinCols).
func (g *convGeom) samplesPerGEMM() int {
	return max(1, (gemmMinCols+g.howo-1)/g.howo)
}

// patches writes the patch matrix of one sample x [C,H,W] into col with row
// stride ld: the im2col matrix, or for a direct (1x1) convolution the
// sample itself.
func patches[T Float](g *convGeom, x, col []T, ld int) {
	if g.direct {
		toColumns(x, col, 1, g.c, g.hw, ld)
		return
	}
	im2col(g, x, col, ld)
}

// groupPatches returns the patch matrix [CKK, m·HoWo] of samples s..s+m-1
// of x, built in col, or for one sample of a direct convolution the sample
// itself.
func groupPatches[T Float](g *convGeom, x, col []T, s, m int) []T {
	xs := g.c * g.hw
	if g.direct && m == 1 {
		return x[s*xs : (s+1)*xs]
	}
	for j := 0; j < m; j++ {
		patches(g, x[(s+j)*xs:(s+j+1)*xs], col[j*g.howo:], m*g.howo)
	}
	return col
}

// toColumns copies m samples laid out [m][rows][cols] into dst [rows][ld]
// with sample j in columns j·cols..(j+1)·cols, so one GEMM can treat them as
// one wide matrix; fromColumns is the inverse.
func toColumns[T Float](src, dst []T, m, rows, cols, ld int) {
	for j := 0; j < m; j++ {
		for r := 0; r < rows; r++ {
			copy(dst[r*ld+j*cols:][:cols], src[(j*rows+r)*cols:][:cols])
		}
	}
}

func fromColumns[T Float](src, dst []T, m, rows, cols, ld int) {
	for j := 0; j < m; j++ {
		for r := 0; r < rows; r++ {
			copy(dst[(j*rows+r)*cols:][:cols], src[r*ld+j*cols:][:cols])
		}
	}
}

// fromColumnsBias is fromColumns that adds bias[r] to row r as it copies.
func fromColumnsBias[T Float](src, dst, bias []T, m, rows, cols, ld int) {
	var v [1]T
	for j := 0; j < m; j++ {
		for r := 0; r < rows; r++ {
			v[0] = bias[r]
			binRow(opAdd, dst[(j*rows+r)*cols:][:cols], src[r*ld+j*cols:][:cols], v[:], cols, 1, 0)
		}
	}
}

// eachGroup runs f over the samples [lo, hi) in groups of up to
// samplesPerGEMM (first sample s, m samples, ld = m·HoWo columns), with the
// worker's scratch buffers (convScratch).
func eachGroup[T Float](g *convGeom, lo, hi int, f func(s, m, ld int, col, wide []T)) {
	nb := min(g.samplesPerGEMM(), hi-lo)
	col, wide, sc := convScratch[T](g, nb)
	defer sc.release()
	for s := lo; s < hi; s += nb {
		m := min(nb, hi-s)
		f(s, m, m*g.howo, col, wide)
	}
}

// forGroups runs j's group over every group of samples, in parallel. The
// groups are fixed by the batch alone (sampleRanges, then groups of up to
// samplesPerGEMM within each range), never by the number of workers, so
// that each product, and so each result bit, is the same on any number of
// cores.
func (j *convJob[T]) forGroups() {
	g := &j.g
	j.nb = g.samplesPerGEMM()
	j.q = newSampleGroups(g.n, g.grain(), j.nb)
	parallel.ForJob(j.q.count, max(1, g.grain()/j.nb), j)
}

// groups runs groups [lo, hi) with one worker's scratch.
func (j *convJob[T]) groups(lo, hi int) {
	g := &j.g
	col, wide, sc := convScratch[T](g, min(j.nb, g.n))
	defer sc.release()
	for i := lo; i < hi; i++ {
		s, m := j.q.at(i)
		j.group(s, m, m*g.howo, col, wide)
	}
}

// group runs j's operation on the m samples from s (ld = m·HoWo columns).
func (j *convJob[T]) group(s, m, ld int, col, wide []T) {
	if j.op == convInputGrad {
		j.inputGradGroup(s, m, ld, col, wide)
		return
	}
	j.forwardGroup(s, m, ld, col, wide)
}

// convScratch returns the scratch buffers of a worker that runs groups of
// up to nb samples: a patch matrix [CKK, nb·HoWo] (none for a direct
// convolution one sample at a time) and, when samples are grouped, a
// [O, nb·HoWo] matrix for the output or its gradient. release(s) returns
// them.
func convScratch[T Float](g *convGeom, nb int) (col, wide []T, s scratch[T]) {
	if !g.direct || nb > 1 {
		s.col = getBuf[T](g.ckk * nb * g.howo)
		col = *s.col
	}
	if nb > 1 {
		s.wide = getBuf[T](g.o * nb * g.howo)
		wide = *s.wide
	}
	return col, wide, s
}

// scratch holds a worker's pooled convolution buffers (nil where unused).
type scratch[T Float] struct{ col, wide *[]T }

func (s scratch[T]) release() {
	if s.col != nil {
		putBuf(s.col)
	}
	if s.wide != nil {
		putBuf(s.wide)
	}
}

// planeGEMM reports whether the convolution runs as K GEMMs on shifted
// input planes (conv2dPlaneGEMM): stride 1, an output as large as the input
// (a square kernel of size 2·pad+1), and planes large enough for one sample
// per GEMM.
func (g *convGeom) planeGEMM() bool {
	return g.stride == 1 && g.ho == g.h && g.wo == g.w && !g.direct && g.kh == g.kw && g.samplesPerGEMM() == 1
}

func conv2d[T Float](g *convGeom, x, w, out []T) { conv2dBias(g, x, w, nil, out) }

// conv2dBias is conv2d plus bias[o] on output plane o (no bias when nil).
func conv2dBias[T Float](g *convGeom, x, w, bias, out []T) {
	if g.shiftedForward() {
		conv2dShifted(g, x, w, bias, out)
		return
	}
	if g.planeGEMM() {
		conv2dPlaneGEMM(g, x, w, bias, out)
		return
	}
	j := newConvJob[T](g, convForward)
	j.x, j.w, j.bias, j.out = x, w, bias, out
	j.forGroups()
	j.free()
}

// forwardGroup is conv2dBias on a group of samples.
func (j *convJob[T]) forwardGroup(s, m, ld int, col, wide []T) {
	g, x, w, bias, out := &j.g, j.x, j.w, j.bias, j.out
	os := g.o * g.howo
	b := groupPatches(g, x, col, s, m)
	// out [O, m·HoWo] = W [O, CKK] @ col [CKK, m·HoWo]
	if m == 1 {
		gemm(false, false, g.o, ld, g.ckk, w, g.ckk, b, ld, 0, out[s*os:], ld)
		addPlaneBias(out[s*os:(s+1)*os], bias, g.howo)
		return
	}
	gemm(false, false, g.o, ld, g.ckk, w, g.ckk, b, ld, 0, wide, ld)
	if bias == nil {
		fromColumns(wide, out[s*os:], m, g.o, g.howo, ld)
		return
	}
	fromColumnsBias(wide, out[s*os:], bias, m, g.o, g.howo, ld)
}

// addPlaneBias adds bias[o] to every entry of plane o of one sample's
// output planes [O, hw] (nothing when bias is nil), with the additions of
// a broadcast Add.
func addPlaneBias[T Float](planes, bias []T, hw int) {
	var v [1]T
	for o := range bias {
		p := planes[o*hw : (o+1)*hw]
		v[0] = bias[o]
		binRow(opAdd, p, p, v[:], hw, 1, 0)
	}
}

// conv2dPlaneGEMM computes a same-size stride-1 convolution without the
// patch matrix: with the K column-shifted copies of each input plane
// (shiftedPlanes, [C][K][H+2·pad][W]), the patch rows of kernel row kh are
// the rows (c, kw) of one matrix with row stride (H+2·pad)·W starting kh·W
// into the buffer, so out = Σ_kh W_kh [O, C·K] @ P_kh [C·K, H·W], K
// accumulating GEMMs with the weight regrouped by kernel row. The planes
// are a third of the im2col matrix (for K = 3) and the GEMMs do the same
// work as one of depth C·K², whose packing is split into blocks anyway.
func conv2dPlaneGEMM[T Float](g *convGeom, x, w, bias, out []T) {
	k := g.kw
	ck := g.c * k
	wbuf := getBuf[T](k * g.o * ck)
	defer putBuf(wbuf)
	wk := *wbuf // wk[kh][o][c·K+kw] = w[o][c][kh][kw]
	for kh := 0; kh < k; kh++ {
		for o := 0; o < g.o; o++ {
			dst := wk[(kh*g.o+o)*ck:][:ck]
			for c := 0; c < g.c; c++ {
				copy(dst[c*k:(c+1)*k], w[((o*g.c+c)*k+kh)*k:][:k])
			}
		}
	}
	perSample(g, convPlaneGEMM, x, wk, bias, out)
}

// perSample runs the convolution op over the batch's samples, split over
// the workers.
func perSample[T Float](g *convGeom, op convOp, x, w, bias, out []T) {
	j := newConvJob[T](g, op)
	j.x, j.w, j.bias, j.out = x, w, bias, out
	parallel.ForJob(g.n, g.grain(), j)
	j.free()
}

// planeGEMMSamples is conv2dPlaneGEMM on samples [lo, hi) (j.w is the
// regrouped weight).
func (j *convJob[T]) planeGEMMSamples(lo, hi int) {
	g, x, wk, bias, out := &j.g, j.x, j.w, j.bias, j.out
	k, hw, ph := g.kw, g.hw, (g.h+2*g.pad)*g.w
	ck := g.c * k
	buf := getBuf[T](ck * ph)
	defer putBuf(buf)
	planes := (*buf)[:ck*ph]
	for n := lo; n < hi; n++ {
		fillShiftedPlanes(g, planes, x, n)
		on := out[n*g.o*hw:]
		for kh := 0; kh < k; kh++ {
			var beta T
			if kh > 0 {
				beta = 1
			}
			gemm(false, false, g.o, hw, ck, wk[kh*g.o*ck:], ck, planes[kh*g.w:], ph, beta, on, hw)
		}
		addPlaneBias(on[:g.o*hw], bias, hw)
	}
}

func conv2dInputGrad[T Float](g *convGeom, gr, w, dx []T) {
	j := newConvJob[T](g, convInputGrad)
	j.gr, j.w, j.out = gr, w, dx
	j.forGroups()
	j.free()
}

// inputGradGroup is conv2dInputGrad on a group of samples (j.out is dx).
func (j *convJob[T]) inputGradGroup(s, m, ld int, col, wide []T) {
	g, gr, w, dx := &j.g, j.gr, j.w, j.out
	xs, os := g.c*g.hw, g.o*g.howo
	gs := gr[s*os:]
	if m > 1 {
		toColumns(gs, wide, m, g.o, g.howo, ld)
		gs = wide
	}
	c := col
	if g.direct && m == 1 {
		c = dx[s*xs : (s+1)*xs]
	}
	// col [CKK, m·HoWo] = W^T [CKK, O] @ g [O, m·HoWo]
	gemm(true, false, g.ckk, ld, g.o, w, g.ckk, gs, ld, 0, c, ld)
	switch {
	case g.direct && m > 1:
		fromColumns(col, dx[s*xs:], m, g.c, g.hw, ld)
	case !g.direct:
		for j := 0; j < m; j++ {
			col2im(g, col[j*g.howo:], dx[(s+j)*xs:(s+j+1)*xs], ld)
		}
	}
}

func conv2dWeightGrad[T Float](g *convGeom, x, gr, dw []T) {
	if g.shiftedWeightGrad() {
		conv2dWeightGradShifted(g, x, gr, dw)
		return
	}
	conv2dWeightGradGEMM(g, x, gr, dw)
}

// conv2dWeightGradGEMM accumulates dW += g @ col^T over groups of samples.
func conv2dWeightGradGEMM[T Float](g *convGeom, x, gr, dw []T) {
	weightGradOver(g, convWeightGEMM, x, gr, dw)
}

// weightGradOver runs the weight gradient op over the batch's sample
// ranges into dw (reduceOverSamples).
func weightGradOver[T Float](g *convGeom, op convOp, x, gr, dw []T) {
	j := newConvJob[T](g, op)
	j.x, j.gr = x, gr
	j.reduceOverSamples(dw)
	j.free()
}

// weightGradGEMMRange is conv2dWeightGradGEMM on samples [lo, hi) into acc.
func (j *convJob[T]) weightGradGEMMRange(lo, hi int, acc []T) {
	g, x, gr := &j.g, j.x, j.gr
	os := g.o * g.howo
	eachGroup(g, lo, hi, func(s, m, ld int, col, wide []T) {
		b := groupPatches(g, x, col, s, m)
		gs := gr[s*os:]
		if m > 1 {
			toColumns(gs, wide, m, g.o, g.howo, ld)
			gs = wide
		}
		var beta T
		if s > lo {
			beta = 1
		}
		// dW [O, CKK] += g [O, m·HoWo] @ col^T [m·HoWo, CKK]
		gemm(false, true, g.o, g.ckk, ld, gs, ld, b, ld, beta, acc, g.ckk)
	})
}

// reduceChunks is the number of ranges a batch is split into for the
// convolutions' parallel work. It is fixed, so that which samples share a
// product and the order of the weight gradient's sum, and so every result
// bit, do not depend on the number of cores; two keep a 2-core machine
// busy.
const reduceChunks = 2

// sampleRanges splits [0, n) into at most reduceChunks ranges of at least
// grain samples, the same for any number of workers: the first k of r.
func sampleRanges(n, grain int) (r [reduceChunks][2]int, k int) {
	chunks := max(1, min(reduceChunks, n/max(grain, 1)))
	size := (n + chunks - 1) / chunks
	for lo := 0; lo < n; lo += size {
		r[k] = [2]int{lo, min(lo+size, n)}
		k++
	}
	return r, k
}

// sampleGroups numbers the groups that forGroups runs: the ranges of
// sampleRanges, in order, each cut into groups of up to nb samples.
type sampleGroups struct {
	ranges       [reduceChunks][2]int
	k, nb, count int
}

func newSampleGroups(n, grain, nb int) sampleGroups {
	q := sampleGroups{nb: nb}
	q.ranges, q.k = sampleRanges(n, grain)
	for _, r := range q.ranges[:q.k] {
		q.count += (r[1] - r[0] + nb - 1) / nb
	}
	return q
}

// at returns group i's first sample and its number of samples.
func (q sampleGroups) at(i int) (s, m int) {
	j := i // within the current range
	for _, r := range q.ranges[:q.k] {
		if g := (r[1] - r[0] + q.nb - 1) / q.nb; j >= g {
			j -= g
			continue
		}
		s = r[0] + j*q.nb
		return s, min(q.nb, r[1]-s)
	}
	panic(fmt.Sprintf("tensor: sample group %d of %d", i, q.count))
}

// reduceOverSamples runs j's range over the sample ranges of sampleRanges
// in parallel, each accumulating into its own zeroed buffer (the first
// range into dw, which is zero), and adds the buffers into dw in range
// order: the result depends on the batch and the grain only, not on the
// workers or their scheduling.
func (j *convJob[T]) reduceOverSamples(dw []T) {
	g := &j.g
	ranges, nr := sampleRanges(g.n, g.grain())
	if nr == 1 {
		j.sampleRange(0, g.n, dw)
		return
	}
	j.ranges, j.out = ranges, dw
	parallel.ForJob(nr, 1, j)
	for _, p := range j.partials[1:nr] { // pooled: a weight gradient can be megabytes
		for i, v := range *p {
			dw[i] += v
		}
		putBuf(p)
	}
}

// rangesOf runs ranges [lo, hi) of reduceOverSamples.
func (j *convJob[T]) rangesOf(lo, hi int) {
	dw := j.out
	for c := lo; c < hi; c++ {
		if c == 0 {
			j.sampleRange(j.ranges[c][0], j.ranges[c][1], dw)
			continue
		}
		buf := getBuf[T](len(dw))
		clear(*buf)
		j.sampleRange(j.ranges[c][0], j.ranges[c][1], *buf)
		j.partials[c] = buf
	}
}

// sampleRange runs j's weight gradient on samples [lo, hi) into acc.
func (j *convJob[T]) sampleRange(lo, hi int, acc []T) {
	if j.op == convWeightShifted {
		j.weightGradShiftedRange(lo, hi, acc)
		return
	}
	j.weightGradGEMMRange(lo, hi, acc)
}

// shiftedPlanes writes, for one input plane xc [H,W], the k column-shifted
// copies with pad zero rows above and below: planes[kw] is [H+2·pad, W]
// with planes[kw][pad+i][j] = xc[i][j+kw-pad] (zero outside the plane). The
// input pixel under kernel tap (kh, kw) of output pixel i (flat, row-major)
// is then planes[kw][kh·W + i]: every tap is one contiguous source.
func shiftedPlanes[T Float](planes, xc []T, h, wd, pad, k int) {
	hw, ph := h*wd, (h+2*pad)*wd
	for kw := 0; kw < k; kw++ {
		d := kw - pad
		pl := planes[kw*ph : (kw+1)*ph]
		clear(pl[:pad*wd])
		clear(pl[pad*wd+hw:])
		dst := pl[pad*wd : pad*wd+hw]
		switch {
		case d == 0:
			copy(dst, xc)
		case d > 0:
			copy(dst[:hw-d], xc[d:])
			for r := wd - d; r < hw; r += wd {
				for i := r; i < r+d; i++ {
					dst[i] = 0
				}
			}
		default:
			copy(dst[-d:], xc[:hw+d])
			for r := 0; r < hw; r += wd {
				for i := r; i < r-d; i++ {
					dst[i] = 0
				}
			}
		}
	}
}

// shiftedSources returns the C·K² source slices of the planes buffer
// ([C][K][H+2·pad][W]), in the weight's (c, kh, kw) order, each of length
// H·W, in *buf (grown as needed).
func shiftedSources[T Float](g *convGeom, planes []T, buf *[][]T) [][]T {
	k, hw, ph := g.kw, g.hw, (g.h+2*g.pad)*g.w
	srcs := (*buf)[:0]
	for c := 0; c < g.c; c++ {
		for kh := 0; kh < k; kh++ {
			for kw := 0; kw < k; kw++ {
				base := (c*k+kw)*ph + kh*g.w
				srcs = append(srcs, planes[base:base+hw])
			}
		}
	}
	*buf = srcs
	return srcs
}

// The source lists of shiftedSources, and their addresses
// (fmaSourcePointers), kept for the next convolution.
var (
	sources32      freelist.List[[][]float32]
	sources64      freelist.List[[][]float64]
	sourcePointers freelist.List[[]uintptr]
)

func getSources[T Float]() *[][]T { return freelist.Pick[[][]T](&sources32, &sources64).Get() }

func putSources[T Float](b *[][]T) {
	clear(*b) // hold no planes
	freelist.Pick[[][]T](&sources32, &sources64).Put(b)
}

// getShifted returns a worker's buffer for the shifted planes of one
// sample ([C][K][H+2·pad][W]) and its sources (shiftedSources);
// release gives both back.
func getShifted[T Float](g *convGeom) (planes []T, srcs [][]T, s shiftedScratch[T]) {
	ph := (g.h + 2*g.pad) * g.w
	s.buf, s.srcs = getBuf[T](g.c*g.kw*ph), getSources[T]()
	planes = (*s.buf)[:g.c*g.kw*ph]
	return planes, shiftedSources(g, planes, s.srcs), s
}

// shiftedScratch is getShifted's pooled buffers.
type shiftedScratch[T Float] struct {
	buf  *[]T
	srcs *[][]T
}

func (s shiftedScratch[T]) release() {
	putBuf(s.buf)
	putSources(s.srcs)
}

// fillShiftedPlanes writes the shifted planes of every input channel of
// sample n into planes ([C][K][H+2·pad][W]).
func fillShiftedPlanes[T Float](g *convGeom, planes, x []T, n int) {
	k, hw, ph := g.kw, g.hw, (g.h+2*g.pad)*g.w
	for c := 0; c < g.c; c++ {
		shiftedPlanes(planes[c*k*ph:(c+1)*k*ph], x[(n*g.c+c)*hw:][:hw], g.h, g.w, g.pad, k)
	}
}

// conv2dShifted computes the output planes as weighted sums of the shifted
// input planes, four output channels per pass (vecFMAPlanes4), with no patch
// matrix and no packing; other element types and leftover channels use
// axpy.
func conv2dShifted[T Float](g *convGeom, x, w, bias, out []T) {
	blas.Count(g.o, g.n*g.howo, g.ckk) // the work of the GEMM it replaces
	perSample(g, convShifted, x, w, bias, out)
}

// shiftedSamples is conv2dShifted on samples [lo, hi).
func (j *convJob[T]) shiftedSamples(lo, hi int) {
	g, x, w, bias, out := &j.g, j.x, j.w, j.bias, j.out
	hw, m := g.hw, g.c*g.kw*g.kw
	planes, srcs, sc := getShifted[T](g)
	defer sc.release()
	var ptrs []uintptr // the sources' addresses for the vector kernel, fixed for this buffer
	if s32, ok := any(srcs).([][]float32); ok {
		pb := sourcePointers.Get()
		defer sourcePointers.Put(pb)
		ptrs = fmaSourcePointers(s32, hw, pb)
	}
	for n := lo; n < hi; n++ {
		fillShiftedPlanes(g, planes, x, n)
		on := out[n*g.o*hw : (n+1)*g.o*hw]
		o := 0
		if d32, ok := any(on).([]float32); ok && ptrs != nil {
			w32 := any(w).([]float32)
			for ; o+4 <= g.o && vecFMAPlanes4(d32[o*hw:(o+4)*hw], ptrs, w32[o*m:(o+4)*m]); o += 4 {
			}
		}
		for ; o < g.o; o++ {
			dst, coefs := on[o*hw:(o+1)*hw], w[o*m:(o+1)*m]
			clear(dst)
			for j, src := range srcs {
				axpy(dst, coefs[j], src)
			}
		}
		addPlaneBias(on, bias, hw)
	}
}

// conv2dWeightGradShifted computes dW[o,c,kh,kw] = Σ_n <g_{n,o}, source
// (c,kh,kw) of sample n>, the sources being shifted copies of the input
// planes (shiftedSources).
func conv2dWeightGradShifted[T Float](g *convGeom, x, gr, dw []T) {
	blas.Count(g.o, g.ckk, g.n*g.howo)
	weightGradOver(g, convWeightShifted, x, gr, dw)
}

// weightGradShiftedRange is conv2dWeightGradShifted on samples [lo, hi)
// into acc.
func (j *convJob[T]) weightGradShiftedRange(lo, hi int, acc []T) {
	g, x, gr := &j.g, j.x, j.gr
	hw, m := g.hw, g.c*g.kw*g.kw
	planes, srcs, sc := getShifted[T](g)
	defer sc.release()
	for n := lo; n < hi; n++ {
		fillShiftedPlanes(g, planes, x, n)
		for o := 0; o < g.o; o++ {
			gn := gr[(n*g.o+o)*hw:][:hw]
			row := acc[o*m : (o+1)*m]
			for j, src := range srcs {
				row[j] += dot(gn, src)
			}
		}
	}
}

// dot returns Σ x_i y_i (len(y) >= len(x)).
func dot[T Float](x, y []T) T {
	y = y[:len(x)]
	var s T
	if x32, ok := any(x).([]float32); ok {
		v, k := vecDot(x32, any(y).([]float32))
		s, x, y = T(v), x[k:], y[k:]
	}
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

// validRange returns the output positions [lo, hi) along one axis whose input
// position o*stride - pad + k lies in [0, size).
func validRange(k, pad, stride, size, out int) (lo, hi int) {
	if d := pad - k; d > 0 {
		lo = (d + stride - 1) / stride
	}
	if n := size + pad - k; n > 0 {
		hi = min(out, (n-1)/stride+1)
	}
	if lo > hi {
		lo = hi
	}
	return lo, hi
}

// im2col writes the [C*KH*KW, Ho*Wo] patch matrix of one sample x [C,H,W]
// into col with row stride ld, overwriting every element of its rows (zeros
// where the window hangs over the padding).
func im2col[T Float](g *convGeom, x, col []T, ld int) {
	s, p := g.stride, g.pad
	if s == 1 && g.wo == g.w {
		im2colRows(g, x, col, ld)
		return
	}
	for c := 0; c < g.c; c++ {
		xc := x[c*g.hw : (c+1)*g.hw]
		for kh := 0; kh < g.kh; kh++ {
			ohLo, ohHi := validRange(kh, p, s, g.h, g.ho)
			for kw := 0; kw < g.kw; kw++ {
				owLo, owHi := validRange(kw, p, s, g.w, g.wo)
				row := col[((c*g.kh+kh)*g.kw+kw)*ld:][:g.howo]
				clear(row[:ohLo*g.wo])
				clear(row[ohHi*g.wo:])
				for oh := ohLo; oh < ohHi; oh++ {
					src := xc[(oh*s-p+kh)*g.w:][:g.w]
					dst := row[oh*g.wo : (oh+1)*g.wo]
					clear(dst[:owLo])
					clear(dst[owHi:])
					iw := owLo*s - p + kw
					if s == 1 {
						copy(dst[owLo:owHi], src[iw:])
						continue
					}
					for ow := owLo; ow < owHi; ow++ {
						dst[ow] = src[iw]
						iw += s
					}
				}
			}
		}
	}
}

// im2colRows is im2col for stride 1 and an output as wide as the input
// (2*pad = KW-1): each patch row is then the input plane shifted by a
// constant offset, copied in one block, with the entries that wrapped
// around a row end zeroed afterwards.
func im2colRows[T Float](g *convGeom, x, col []T, ld int) {
	p, w := g.pad, g.w
	for c := 0; c < g.c; c++ {
		xc := x[c*g.hw : (c+1)*g.hw]
		for kh := 0; kh < g.kh; kh++ {
			ohLo, ohHi := validRange(kh, p, 1, g.h, g.ho)
			for kw := 0; kw < g.kw; kw++ {
				row := col[((c*g.kh+kh)*g.kw+kw)*ld:][:g.howo]
				clear(row[:ohLo*w])
				clear(row[ohHi*w:])
				if ohLo >= ohHi {
					continue
				}
				dst := row[ohLo*w : ohHi*w]
				start := (ohLo - p + kh) * w // the input row of output row ohLo
				n := len(dst)
				switch d := kw - p; {
				case d == 0:
					copy(dst, xc[start:start+n])
				case d > 0:
					copy(dst[:n-d], xc[start+d:start+n])
					for r := w - d; r < n; r += w {
						for i := r; i < r+d; i++ {
							dst[i] = 0
						}
					}
				default:
					copy(dst[-d:], xc[start:start+n+d])
					for r := 0; r < n; r += w {
						for i := r; i < r-d; i++ {
							dst[i] = 0
						}
					}
				}
			}
		}
	}
}

// col2im is the adjoint of im2col: it sets x [C,H,W] to the sum, over every
// window position, of the patch entries in col (row stride ld) that read
// each input element.
func col2im[T Float](g *convGeom, col, x []T, ld int) {
	clear(x)
	s, p := g.stride, g.pad
	for c := 0; c < g.c; c++ {
		xc := x[c*g.hw : (c+1)*g.hw]
		for kh := 0; kh < g.kh; kh++ {
			ohLo, ohHi := validRange(kh, p, s, g.h, g.ho)
			for kw := 0; kw < g.kw; kw++ {
				owLo, owHi := validRange(kw, p, s, g.w, g.wo)
				row := col[((c*g.kh+kh)*g.kw+kw)*ld:][:g.howo]
				for oh := ohLo; oh < ohHi; oh++ {
					dst := xc[(oh*s-p+kh)*g.w:][:g.w]
					src := row[oh*g.wo : (oh+1)*g.wo]
					iw := owLo*s - p + kw
					if s == 1 {
						sv := src[owLo:owHi]
						d := dst[iw:][:len(sv)]
						for i, v := range sv {
							d[i] += v
						}
						continue
					}
					for ow := owLo; ow < owHi; ow++ {
						dst[iw] += src[ow]
						iw += s
					}
				}
			}
		}
	}
}

// gemm computes C = op(A) op(B) + beta*C through internal/blas. As in BLAS,
// C need not be initialised when beta is 0.
func gemm[T Float](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		blas.Sgemm(transA, transB, m, n, k, 1, a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas.Dgemm(transA, transB, m, n, k, 1, a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	default:
		// Not a: the panic's argument would make every call box its operands
		// on the heap.
		panic("tensor: gemm on an element type other than float32 and float64")
	}
}

// Scratch buffers, one free list per element type, so that repeated
// convolutions do not allocate a patch matrix per call, nor the fused
// elementwise kernels their chunks. A buffer only grows.
var (
	bufs32 freelist.List[[]float32]
	bufs64 freelist.List[[]float64]
)

// getBuf returns a scratch slice of length n with arbitrary contents.
func getBuf[T Float](n int) *[]T {
	b := freelist.Pick[[]T](&bufs32, &bufs64).Get()
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return b
}

func putBuf[T Float](b *[]T) { freelist.Pick[[]T](&bufs32, &bufs64).Put(b) }

// ---- average pooling ----

func poolGeometry(op string, shape []int, k int) (planes, h, w int) {
	if len(shape) != 4 || k < 1 || shape[2]%k != 0 || shape[3]%k != 0 {
		panic(fmt.Sprintf("tensor.%s: shape %v is not [N,C,H,W] with H and W divisible by kernel %d", op, shape, k))
	}
	return shape[0] * shape[1], shape[2], shape[3]
}

// AvgPool2d averages x [N,C,H,W] over non-overlapping k x k windows (stride
// k, no padding), giving [N,C,H/k,W/k]. H and W must be divisible by k.
func AvgPool2d(x *Tensor, k int) *Tensor {
	planes, h, w := poolGeometry("AvgPool2d", x.shape, k)
	out := x.arena.empty(x.dtype, x.shape[0], x.shape[1], h/k, w/k)
	grain := grainElems/(h*w+1) + 1
	if x.dtype == Float32 {
		poolPlanes(x.f32, out.f32, planes, grain, h, w, k, &avgPoolBody)
	} else {
		poolPlanes(x.f64, out.f64, planes, grain, h, w, k, &avgPoolBody)
	}
	return out
}

// poolPlanes runs body, avgPool or avgUnpool on a kernel's operands, over
// planes split across the workers.
func poolPlanes[T Float](x, out []T, planes, grain, h, w, k int, body *kernelBody) {
	kk := newKernel[T]()
	kk.s[0], kk.s[1], kk.i = x, out, [3]int{h, w, k}
	kk.units(planes, grain, body)
}

func avgPoolKernel[T Float](k *kernel[T], lo, hi int) {
	avgPool(k.s[0], k.s[1], lo, hi, k.i[0], k.i[1], k.i[2])
}

func avgUnpoolKernel[T Float](k *kernel[T], lo, hi int) {
	avgUnpool(k.s[0], k.s[1], lo, hi, k.i[0], k.i[1], k.i[2])
}

var (
	avgPoolBody   = kernelBody{avgPoolKernel[float32], avgPoolKernel[float64]}
	avgUnpoolBody = kernelBody{avgUnpoolKernel[float32], avgUnpoolKernel[float64]}
)

// AvgUnpool2d is the adjoint of AvgPool2d: it spreads each element of
// g [N,C,Hp,Wp], divided by k*k, over its k x k window of an
// [N,C,Hp*k,Wp*k] tensor.
func AvgUnpool2d(g *Tensor, k int) *Tensor {
	if len(g.shape) != 4 || k < 1 {
		panic(fmt.Sprintf("tensor.AvgUnpool2d: shape %v is not [N,C,H,W] or kernel %d < 1", g.shape, k))
	}
	h, w := g.shape[2]*k, g.shape[3]*k
	out := g.arena.empty(g.dtype, g.shape[0], g.shape[1], h, w) // avgUnpool writes every entry
	grain := grainElems/(h*w+1) + 1
	if g.dtype == Float32 {
		poolPlanes(g.f32, out.f32, g.shape[0]*g.shape[1], grain, h, w, k, &avgUnpoolBody)
	} else {
		poolPlanes(g.f64, out.f64, g.shape[0]*g.shape[1], grain, h, w, k, &avgUnpoolBody)
	}
	return out
}

func avgPool[T Float](x, out []T, lo, hi, h, w, k int) {
	if k == 2 { // every ResNet down block
		avgPool2(x, out, lo, hi, h, w, 1/T(4))
		return
	}
	avgPoolLoop(x, out, lo, hi, h, w, k)
}

// avgPoolLoop is avgPool for any window size.
func avgPoolLoop[T Float](x, out []T, lo, hi, h, w, k int) {
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	for pl := lo; pl < hi; pl++ {
		xp := x[pl*h*w : (pl+1)*h*w]
		op := out[pl*ho*wo : (pl+1)*ho*wo]
		for oh := 0; oh < ho; oh++ {
			orow := op[oh*wo : (oh+1)*wo]
			clear(orow)
			for kh := 0; kh < k; kh++ {
				xrow := xp[(oh*k+kh)*w:][:w]
				for ow := range orow {
					var s T
					for _, v := range xrow[ow*k : (ow+1)*k] {
						s += v
					}
					orow[ow] += s
				}
			}
			for ow := range orow {
				orow[ow] *= inv
			}
		}
	}
}

// avgPool2 is avgPool for k = 2 without the loops over the window, with
// the same bits: the general loop computes (0 + ((0+a)+b)) + ((0+c)+d) for
// window rows (a, b) and (c, d); the zeros added to a and c can only turn
// a -0 sum into +0, which the outer 0 + ... (kept here) does anyway and
// which adding to a +0 or a nonzero value cannot show.
func avgPool2[T Float](x, out []T, lo, hi, h, w int, inv T) {
	ho, wo := h/2, w/2
	var zero T
	for pl := lo; pl < hi; pl++ {
		xp := x[pl*h*w : (pl+1)*h*w]
		op := out[pl*ho*wo : (pl+1)*ho*wo]
		for oh := 0; oh < ho; oh++ {
			orow := op[oh*wo : (oh+1)*wo]
			r0, r1 := xp[2*oh*w:][:w], xp[(2*oh+1)*w:][:w]
			for ow := range orow {
				o := zero + (r0[2*ow] + r0[2*ow+1])
				orow[ow] = (o + (r1[2*ow] + r1[2*ow+1])) * inv
			}
		}
	}
}

func avgUnpool[T Float](g, out []T, lo, hi, h, w, k int) {
	ho, wo := h/k, w/k
	inv := 1 / T(k*k)
	for pl := lo; pl < hi; pl++ {
		gp := g[pl*ho*wo : (pl+1)*ho*wo]
		op := out[pl*h*w : (pl+1)*h*w]
		for oh := 0; oh < ho; oh++ {
			grow := gp[oh*wo : (oh+1)*wo]
			// Fill the window's first row, then copy it to the other k-1:
			// the rows are equal, and copy is a memmove.
			orow := op[oh*k*w:][:w]
			if k == 2 { // every ResNet down block
				for ow, v := range grow {
					v *= inv
					orow[2*ow], orow[2*ow+1] = v, v
				}
			} else {
				for ow, v := range grow {
					v *= inv
					d := orow[ow*k : (ow+1)*k]
					for i := range d {
						d[i] = v
					}
				}
			}
			for kh := 1; kh < k; kh++ {
				copy(op[(oh*k+kh)*w:][:w], orow)
			}
		}
	}
}
