package tensor

import "math"

// The elementwise kernels of Adam (Kingma & Ba, 2015) as used by the
// trainer and by the unrolled, differentiable inner steps of BiSM (paper
// Sec. 3.2): each is one pass over its operands, vectorized for float32
// with the same IEEE operations in the same order as its scalar loop, so
// that results do not depend on which path computed an element.

// AdamDirection returns m / (sqrt(v) + eps) elementwise, in one pass.
func AdamDirection(m, v *Tensor, eps float64) *Tensor {
	sameDType("AdamDirection", m, v)
	if !SameShape(m.shape, v.shape) {
		panicShapes("AdamDirection", m.shape, v.shape)
	}
	out := ArenaOf(m, v).empty(m.dtype, m.shape...)
	if m.dtype == Float32 {
		adamDir(out.f32, m.f32, v.f32, float32(eps))
	} else {
		adamDir(out.f64, m.f64, v.f64, eps)
	}
	return out
}

func adamDir[T Float](d, m, v []T, eps T) {
	if !splits(len(d), grainElems) {
		adamDirRange(d, m, v, eps, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.c[0] = d, m, v, eps
	k.blocks(len(d), grainElems/4, &adamDirRangeBody)
}

// adamDirRange is adamDir over [lo, hi).
func adamDirRange[T Float](d, m, v []T, eps T, lo, hi int) {
	dd, mm, vv := d[lo:hi], m[lo:hi], v[lo:hi]
	if d32, ok := any(dd).([]float32); ok {
		k := vecAdamDir(d32, any(mm).([]float32), any(vv).([]float32), float32(eps))
		dd, mm, vv = dd[k:], mm[k:], vv[k:]
	}
	for i := range dd {
		dd[i] = mm[i] / (T(math.Sqrt(float64(vv[i]))) + eps)
	}
}

// adamDirRangeKernel is adamDirRange on a kernel's operands.
func adamDirRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamDirRange(k.s[0], k.s[1], k.s[2], k.c[0], lo, hi)
}

var adamDirRangeBody = kernelBody{adamDirRangeKernel[float32], adamDirRangeKernel[float64]}

// AdamDirectionGrad returns the gradients of sum(g * m/(sqrt(v)+eps)) with
// respect to m and v in one pass: g r and -g m r² / (2 sqrt(v)), r = 1/(sqrt(v)+eps).
func AdamDirectionGrad(g, m, v *Tensor, eps float64) (gm, gv *Tensor) {
	a := ArenaOf(g, m, v)
	gm, gv = a.empty(m.dtype, m.shape...), a.empty(m.dtype, m.shape...)
	if m.dtype == Float32 {
		adamDirGrad(gm.f32, gv.f32, g.f32, m.f32, v.f32, float32(eps))
	} else {
		adamDirGrad(gm.f64, gv.f64, g.f64, m.f64, v.f64, eps)
	}
	return gm, gv
}

func adamDirGrad[T Float](gm, gv, g, m, v []T, eps T) {
	if !splits(len(g), grainElems) {
		adamDirGradRange(gm, gv, g, m, v, eps, 0, len(g))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0] = gm, gv, g, m, v, eps
	k.blocks(len(g), grainElems/4, &adamDirGradRangeBody)
}

// adamDirGradRange is adamDirGrad over [lo, hi).
func adamDirGradRange[T Float](gm, gv, g, m, v []T, eps T, lo, hi int) {
	if gm32, ok := any(gm).([]float32); ok {
		lo += vecAdamDirGrad(gm32[lo:hi], any(gv).([]float32)[lo:hi], any(g).([]float32)[lo:hi], any(m).([]float32)[lo:hi], any(v).([]float32)[lo:hi], float32(eps))
	}
	for i := lo; i < hi; i++ {
		s := T(math.Sqrt(float64(v[i])))
		r := 1 / (s + eps)
		gm[i] = g[i] * r
		if s == 0 {
			// v = 0 only where every gradient so far was 0, so m = 0 too:
			// the direction is identically 0 there.
			gv[i] = 0
		} else {
			gv[i] = -g[i] * m[i] * r * r / (2 * s)
		}
	}
}

// adamDirGradRangeKernel is adamDirGradRange on a kernel's operands.
func adamDirGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamDirGradRange(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0], lo, hi)
}

var adamDirGradRangeBody = kernelBody{adamDirGradRangeKernel[float32], adamDirGradRangeKernel[float64]}

// AdamUpdateInPlace takes one Adam step on x in place from its gradient g,
// updating the moments m and v (all of one shape and dtype):
//
//	m ← b1 m + (1-b1) g,  v ← b2 v + (1-b2) g²,  x ← x - step · m / (√v + eps).
//
// step is the learning rate with the bias corrections folded in.
func AdamUpdateInPlace(x, g, m, v *Tensor, b1, b2, eps, step float64) {
	for _, t := range [...]*Tensor{g, m, v} {
		sameDType("AdamUpdateInPlace", x, t)
		if !SameShape(x.shape, t.shape) {
			panicShapes("AdamUpdateInPlace", x.shape, t.shape)
		}
	}
	if x.dtype == Float32 {
		adamUpdate(x.f32, g.f32, m.f32, v.f32, float32(b1), float32(b2), float32(eps), float32(step))
	} else {
		adamUpdate(x.f64, g.f64, m.f64, v.f64, b1, b2, eps, step)
	}
}

func adamUpdate[T Float](x, g, m, v []T, b1, b2, eps, step T) {
	if !splits(len(x), grainElems) {
		adamUpdateRange(x, g, m, v, b1, b2, eps, step, 0, len(x))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.c[0], k.c[1], k.c[2], k.c[3] = x, g, m, v, b1, b2, eps, step
	k.blocks(len(x), grainElems/4, &adamUpdateRangeBody)
}

// adamUpdateRange is adamUpdate over [lo, hi).
func adamUpdateRange[T Float](x, g, m, v []T, b1, b2, eps, step T, lo, hi int) {
	if x32, ok := any(x).([]float32); ok {
		lo += vecAdamUpdate(x32[lo:hi], any(g).([]float32)[lo:hi], any(m).([]float32)[lo:hi], any(v).([]float32)[lo:hi], float32(b1), float32(b2), float32(eps), float32(step))
	}
	for j := lo; j < hi; j++ {
		gj := g[j]
		m[j] = b1*m[j] + (1-b1)*gj
		v[j] = b2*v[j] + (1-b2)*gj*gj
		x[j] -= step * m[j] / (T(math.Sqrt(float64(v[j]))) + eps)
	}
}

// adamUpdateRangeKernel is adamUpdateRange on a kernel's operands.
func adamUpdateRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamUpdateRange(k.s[0], k.s[1], k.s[2], k.s[3], k.c[0], k.c[1], k.c[2], k.c[3], lo, hi)
}

var adamUpdateRangeBody = kernelBody{adamUpdateRangeKernel[float32], adamUpdateRangeKernel[float64]}

// adamSecondMoment computes Adam's second-moment update b2 v + c2 g², c2 =
// 1 - b2 rounded from float64 (as a LinComb coefficient would be).
func adamSecondMoment[T Float](d, v, g []T, b2, c2 T) {
	if !splits(len(d), grainElems) {
		adamSecondMomentRange(d, v, g, b2, c2, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.c[0], k.c[1] = d, v, g, b2, c2
	k.blocks(len(d), grainElems, &adamSecondMomentRangeBody)
}

// adamSecondMomentRange is adamSecondMoment over [lo, hi).
func adamSecondMomentRange[T Float](d, v, g []T, b2, c2 T, lo, hi int) {
	if d32, ok := any(d).([]float32); ok {
		lo += vecAdamSecondMoment(d32[lo:hi], any(v).([]float32)[lo:hi], any(g).([]float32)[lo:hi], float32(b2), float32(c2))
	}
	for i := lo; i < hi; i++ {
		d[i] = b2*v[i] + c2*(g[i]*g[i])
	}
}

// adamSecondMomentRangeKernel is adamSecondMomentRange on a kernel's operands.
func adamSecondMomentRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamSecondMomentRange(k.s[0], k.s[1], k.s[2], k.c[0], k.c[1], lo, hi)
}

var adamSecondMomentRangeBody = kernelBody{adamSecondMomentRangeKernel[float32], adamSecondMomentRangeKernel[float64]}

// adamApply computes Adam's parameter update x + negStep m / (sqrt(v) + eps)
// from updated moments.
func adamApply[T Float](d, x, m, v []T, negStep, eps T) {
	if !splits(len(d), grainElems) {
		adamApplyRange(d, x, m, v, negStep, eps, 0, len(d))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.c[0], k.c[1] = d, x, m, v, negStep, eps
	k.blocks(len(d), grainElems/4, &adamApplyRangeBody)
}

// adamApplyRange is adamApply over [lo, hi).
func adamApplyRange[T Float](d, x, m, v []T, negStep, eps T, lo, hi int) {
	if d32, ok := any(d).([]float32); ok {
		lo += vecAdamApply(d32[lo:hi], any(x).([]float32)[lo:hi], any(m).([]float32)[lo:hi], any(v).([]float32)[lo:hi], float32(negStep), float32(eps))
	}
	for i := lo; i < hi; i++ {
		d[i] = x[i] + negStep*(m[i]/(T(math.Sqrt(float64(v[i])))+eps))
	}
}

// adamApplyRangeKernel is adamApplyRange on a kernel's operands.
func adamApplyRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamApplyRange(k.s[0], k.s[1], k.s[2], k.s[3], k.c[0], k.c[1], lo, hi)
}

var adamApplyRangeBody = kernelBody{adamApplyRangeKernel[float32], adamApplyRangeKernel[float64]}

// adamApplyGrad computes the gradients of sum(up * adamApply(...)) with
// respect to m and v (the gradient for x is up itself): with r =
// 1/(sqrt(v)+eps), negStep up r and -negStep up m r² / (2 sqrt(v)).
func adamApplyGrad[T Float](gm, gv, up, m, v []T, negStep, eps T) {
	if !splits(len(gm), grainElems) {
		adamApplyGradRange(gm, gv, up, m, v, negStep, eps, 0, len(gm))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0], k.c[1] = gm, gv, up, m, v, negStep, eps
	k.blocks(len(gm), grainElems/4, &adamApplyGradRangeBody)
}

// adamApplyGradRange is adamApplyGrad over [lo, hi).
func adamApplyGradRange[T Float](gm, gv, up, m, v []T, negStep, eps T, lo, hi int) {
	if gm32, ok := any(gm).([]float32); ok {
		lo += vecAdamApplyGrad(gm32[lo:hi], any(gv).([]float32)[lo:hi], any(up).([]float32)[lo:hi], any(m).([]float32)[lo:hi], any(v).([]float32)[lo:hi], float32(negStep), float32(eps))
	}
	for i := lo; i < hi; i++ {
		d := negStep * up[i]
		s := T(math.Sqrt(float64(v[i])))
		r := 1 / (s + eps)
		gm[i] = d * r
		if s == 0 {
			gv[i] = 0 // v = 0 only where m = 0: see adamDirGrad
		} else {
			gv[i] = -d * m[i] * r * r / (2 * s)
		}
	}
}

// adamApplyGradRangeKernel is adamApplyGradRange on a kernel's operands.
func adamApplyGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamApplyGradRange(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0], k.c[1], lo, hi)
}

var adamApplyGradRangeBody = kernelBody{adamApplyGradRangeKernel[float32], adamApplyGradRangeKernel[float64]}

// The unrolled Adam steps keep both moments in one tensor, s = [m; v] of
// shape [2, p...] for a parameter of shape p, so that the moments' update
// is one node with one backward pass (paper Sec. 3.2's N unrolled steps).

// AdamMomentsPacked returns [b1 m + (1-b1) g; b2 v + (1-b2) g²] for s = [m; v]:
// the same operations as LinComb(b1, m, 1-b1, g) and LinComb(b2, v, 1-b2,
// Square(g)).
func AdamMomentsPacked(s, g *Tensor, b1, b2 float64) *Tensor {
	n := packedHalf("AdamMomentsPacked", s, g)
	out := ArenaOf(s, g).empty(s.dtype, s.shape...)
	if s.dtype == Float32 {
		linComb(out.f32[:n], float32(b1), s.f32[:n], float32(1-b1), g.f32)
		adamSecondMoment(out.f32[n:], s.f32[n:], g.f32, float32(b2), float32(1-b2))
	} else {
		linComb(out.f64[:n], b1, s.f64[:n], 1-b1, g.f64)
		adamSecondMoment(out.f64[n:], s.f64[n:], g.f64, b2, 1-b2)
	}
	return out
}

// AdamMomentsPackedGrad returns the gradients of sum(up * AdamMomentsPacked(s, g,
// b1, b2)) with respect to s and g in one pass, up = [U_m; U_v]:
// [b1 U_m + 0; b2 U_v] and 2 ((1-b2) U_v) g + ((1-b1) U_m + 0), the sums
// and products (and the +0 of a scaling) the unfused operations' backward
// passes make, added in the same pairs.
func AdamMomentsPackedGrad(up, g *Tensor, b1, b2 float64) (gs, gg *Tensor) {
	n := packedHalf("AdamMomentsPackedGrad", up, g)
	a := ArenaOf(up, g)
	gs, gg = a.empty(up.dtype, up.shape...), a.empty(g.dtype, g.shape...)
	if g.dtype == Float32 {
		adamMomentsGrad(gs.f32[:n], gs.f32[n:], gg.f32, up.f32[:n], up.f32[n:], g.f32, float32(b1), float32(1-b1), float32(b2), float32(1-b2))
	} else {
		adamMomentsGrad(gs.f64[:n], gs.f64[n:], gg.f64, up.f64[:n], up.f64[n:], g.f64, b1, 1-b1, b2, 1-b2)
	}
	return gs, gg
}

func adamMomentsGrad[T Float](gm, gv, gg, um, uv, g []T, b1, c1, b2, c2 T) {
	if !splits(len(g), grainElems) {
		adamMomentsGradRange(gm, gv, gg, um, uv, g, b1, c1, b2, c2, 0, len(g))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.s[5], k.c[0], k.c[1], k.c[2], k.c[3] = gm, gv, gg, um, uv, g, b1, c1, b2, c2
	k.blocks(len(g), grainElems, &adamMomentsGradRangeBody)
}

// adamMomentsGradRange is adamMomentsGrad over [lo, hi).
func adamMomentsGradRange[T Float](gm, gv, gg, um, uv, g []T, b1, c1, b2, c2 T, lo, hi int) {
	if gm32, ok := any(gm).([]float32); ok {
		lo += vecAdamMomentsGrad(gm32[lo:hi], any(gv).([]float32)[lo:hi], any(gg).([]float32)[lo:hi],
			any(um).([]float32)[lo:hi], any(uv).([]float32)[lo:hi], any(g).([]float32)[lo:hi],
			float32(b1), float32(c1), float32(b2), float32(c2))
	}
	var zero T // a scaling's +0 (it turns -0 into +0)
	for i := lo; i < hi; i++ {
		gm[i] = b1*um[i] + zero
		gv[i] = b2 * uv[i]
		fromM := c1*um[i] + zero
		gg[i] = 2*(c2*uv[i])*g[i] + fromM
	}
}

// adamMomentsGradRangeKernel is adamMomentsGradRange on a kernel's operands.
func adamMomentsGradRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamMomentsGradRange(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.s[5], k.c[0], k.c[1], k.c[2], k.c[3], lo, hi)
}

var adamMomentsGradRangeBody = kernelBody{adamMomentsGradRangeKernel[float32], adamMomentsGradRangeKernel[float64]}

// AdamApplyPacked returns x - step m / (sqrt(v) + eps) for s = [m; v].
func AdamApplyPacked(x, s *Tensor, step, eps float64) *Tensor {
	n := packedHalf("AdamApplyPacked", s, x)
	out := ArenaOf(x, s).empty(x.dtype, x.shape...)
	if x.dtype == Float32 {
		adamApply(out.f32, x.f32, s.f32[:n], s.f32[n:], float32(-step), float32(eps))
	} else {
		adamApply(out.f64, x.f64, s.f64[:n], s.f64[n:], -step, eps)
	}
	return out
}

// AdamApplyPackedGrad returns the gradient of sum(up * AdamApplyPacked(x, s,
// step, eps)) with respect to s = [m; v], in one pass (the gradient for x
// is up itself): with r = 1/(sqrt(v)+eps), [-step up r; step up m r² /
// (2 sqrt(v))].
func AdamApplyPackedGrad(up, s *Tensor, step, eps float64) *Tensor {
	n := packedHalf("AdamApplyPackedGrad", s, up)
	gs := ArenaOf(up, s).empty(s.dtype, s.shape...)
	if s.dtype == Float32 {
		adamApplyGrad(gs.f32[:n], gs.f32[n:], up.f32, s.f32[:n], s.f32[n:], float32(-step), float32(eps))
	} else {
		adamApplyGrad(gs.f64[:n], gs.f64[n:], up.f64, s.f64[:n], s.f64[n:], -step, eps)
	}
	return gs
}

// AdamApplyPackedGradAdd adds AdamApplyPackedGrad(up, s, step, eps) to acc
// (shaped like s) in place: one pass over acc instead of a new gradient and
// a sum, with the bits of AddInPlace(acc, AdamApplyPackedGrad(up, s, step,
// eps)). The gradient is computed in blocks that stay in the cache.
func AdamApplyPackedGradAdd(acc, up, s *Tensor, step, eps float64) {
	n := packedHalf("AdamApplyPackedGradAdd", s, up)
	sameDType("AdamApplyPackedGradAdd", acc, s)
	if !SameShape(acc.shape, s.shape) {
		panicShapes("AdamApplyPackedGradAdd", acc.shape, s.shape)
	}
	if s.dtype == Float32 {
		adamApplyGradAdd(acc.f32[:n], acc.f32[n:], up.f32, s.f32[:n], s.f32[n:], float32(-step), float32(eps))
	} else {
		adamApplyGradAdd(acc.f64[:n], acc.f64[n:], up.f64, s.f64[:n], s.f64[n:], -step, eps)
	}
}

// adamApplyGradAdd adds adamApplyGrad's gradients to am and av.
func adamApplyGradAdd[T Float](am, av, up, m, v []T, negStep, eps T) {
	if !splits(len(am), grainElems/4) {
		adamApplyGradAddRange(am, av, up, m, v, negStep, eps, 0, len(am))
		return
	}
	k := newKernel[T]()
	k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0], k.c[1] = am, av, up, m, v, negStep, eps
	k.blocks(len(am), grainElems/4, &adamApplyGradAddRangeBody)
}

// adamApplyGradAddRange is adamApplyGradAdd over [lo, hi): the gradients
// of chunk entries at a time, in the cache, then added in.
func adamApplyGradAddRange[T Float](am, av, up, m, v []T, negStep, eps T, lo, hi int) {
	var bm, bv [chunk]T
	for i := lo; i < hi; i += chunk {
		j := min(i+chunk, hi)
		gm, gv := bm[:j-i], bv[:j-i]
		adamApplyGradRange(gm, gv, up[i:j], m[i:j], v[i:j], negStep, eps, 0, j-i)
		axpyRange(am[i:j], 1, gm)
		axpyRange(av[i:j], 1, gv)
	}
}

// adamApplyGradAddRangeKernel is adamApplyGradAddRange on a kernel's operands.
func adamApplyGradAddRangeKernel[T Float](k *kernel[T], lo, hi int) {
	adamApplyGradAddRange(k.s[0], k.s[1], k.s[2], k.s[3], k.s[4], k.c[0], k.c[1], lo, hi)
}

var adamApplyGradAddRangeBody = kernelBody{adamApplyGradAddRangeKernel[float32], adamApplyGradAddRangeKernel[float64]}

// packedHalf checks that s is [2, p...] for p the shape of t (and of t's
// dtype) and returns the size of p.
func packedHalf(op string, s, t *Tensor) int {
	sameDType(op, s, t)
	if len(s.shape) != len(t.shape)+1 || s.shape[0] != 2 || !SameShape(s.shape[1:], t.shape) {
		panicShapes(op, s.shape, t.shape)
	}
	return t.Size()
}
