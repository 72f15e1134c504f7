// Package vmath evaluates exp and log over float32 slices, with AVX2+FMA
// assembly on amd64 (8 lanes) and a portable scalar fallback elsewhere.
//
// The algorithms are Cephes' expf and logf (range reduction plus minimax
// polynomial, a few ulp of float32). The vector kernels handle the normal
// range; inputs outside it (overflow or underflow of exp, non-positive,
// subnormal, infinite or NaN arguments of log) are recomputed by the scalar
// code, so results agree with it everywhere.
package vmath

import "math"

const (
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	log2e = 1.44269504088896341
)

// Exp sets d[i] = exp(x[i]). d and x must have the same length.
func Exp(d, x []float32) {
	x = x[:len(d)]
	n := 0
	if useAVX2 {
		n = len(d) &^ 7
		if n > 0 {
			exp8(&d[0], &x[0], n)
			for i, v := range x[:n] {
				if !(v >= -87 && v <= 88) { // also NaN
					d[i] = Exp32(v)
				}
			}
		}
	}
	for i := n; i < len(d); i++ {
		d[i] = Exp32(x[i])
	}
}

// Log sets d[i] = log(x[i]). d and x must have the same length.
func Log(d, x []float32) {
	x = x[:len(d)]
	n := 0
	if useAVX2 {
		n = len(d) &^ 7
		if n > 0 {
			log8(&d[0], &x[0], n)
			for i, v := range x[:n] {
				if !(v >= 1.17549435e-38 && v <= math.MaxFloat32) { // also NaN
					d[i] = Log32(v)
				}
			}
		}
	}
	for i := n; i < len(d); i++ {
		d[i] = Log32(x[i])
	}
}

// Exp32 is Cephes' expf: exp(x) = 2^n exp(r), |r| <= ln2/2.
func Exp32(x float32) float32 {
	if !(x <= 88.72283 && x >= -87.3) { // also catches NaN
		switch {
		case x > 88.72283:
			return float32(math.Inf(1))
		case x < -103.97208:
			return 0
		case x != x:
			return x
		}
		return float32(math.Exp(float64(x))) // subnormal results
	}
	fn := log2e*x + 0.5
	ni := int32(fn)
	if float32(ni) > fn {
		ni-- // floor for negative arguments
	}
	n := float32(ni)
	r := x - n*ln2Hi - n*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	if ni > 127 { // x in (88.38, 88.72]: 2^n overflows alone
		return y * 2 * math.Float32frombits(uint32(ni+126)<<23)
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// Log32 is Cephes' logf: log(x) = e ln2 + log(m), m in [sqrt(1/2), sqrt(2)).
func Log32(x float32) float32 {
	switch {
	case x != x || x == float32(math.Inf(1)):
		return x
	case x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	}
	bits := math.Float32bits(x)
	if bits>>23 == 0 { // subnormal
		return float32(math.Log(float64(x)))
	}
	e := int32(bits>>23) - 127
	m := math.Float32frombits(bits&0x007fffff | 0x3f800000) // [1, 2)
	if m > 1.41421356 {
		m *= 0.5
		e++
	}
	f := m - 1
	z := f * f
	p := float32(7.0376836292e-2)
	p = p*f - 1.1514610310e-1
	p = p*f + 1.1676998740e-1
	p = p*f - 1.2420140846e-1
	p = p*f + 1.4249322787e-1
	p = p*f - 1.6668057665e-1
	p = p*f + 2.0000714765e-1
	p = p*f - 2.4999993993e-1
	p = p*f + 3.3333331174e-1
	y := f*z*p - 0.5*z
	fe := float32(e)
	return f + y + fe*ln2Lo + fe*ln2Hi
}
