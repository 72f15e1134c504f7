package tensor

import "math"

// Float32 transcendental kernels. Training runs in float32, where routing
// every element through float64 math.Exp/Log costs more than the matrix
// products of a GRBM step. These use the classic Cephes single-precision
// range reductions and minimax polynomials (relative error a few ulp of
// float32); float64 tensors keep the math package's functions, so gradient
// checks are unaffected.

const (
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	log2e = 1.44269504088896341
)

// exp32 is expf from Cephes: exp(x) = 2^n * exp(r), |r| <= ln2/2.
func exp32(x float32) float32 {
	if !(x <= 88.72283 && x >= -87.3) { // also catches NaN
		switch {
		case x > 88.72283:
			return float32(math.Inf(1))
		case x != x:
			return x
		}
		// Below -87.3 the result would be subnormal: flush to zero, since
		// subnormal operands slow every later float operation on x86.
		return 0
	}
	// floor(log2e*x + 0.5) without a data-dependent branch: the argument
	// plus 256 is positive, where truncation is the floor.
	ni := int32(log2e*x+0.5+256) - 256
	n := float32(ni)
	r := x - n*ln2Hi - n*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	if ni > 127 { // x in (88.38, 88.72]: 2^ni alone would overflow
		return y * 2 * math.Float32frombits(uint32(ni+126)<<23)
	}
	return y * math.Float32frombits(uint32(ni+127)<<23)
}

// log32 is logf from Cephes: log(x) = e*ln2 + log(m), m in [sqrt(1/2), sqrt(2)).
func log32(x float32) float32 {
	switch {
	case x != x || x == float32(math.Inf(1)):
		return x
	case x < 0:
		return float32(math.NaN())
	case x == 0:
		return float32(math.Inf(-1))
	}
	bits := math.Float32bits(x)
	e := int32(bits>>23) - 127
	if bits>>23 == 0 { // subnormal: normalise first
		return float32(math.Log(float64(x)))
	}
	// m in [sqrt(1/2), sqrt(2)): when the mantissa exceeds sqrt(2)'s, halve m
	// and bump e, without a data-dependent branch.
	mant := bits & 0x007fffff
	k := (0x3504f3 - mant) >> 31 // 1 when mant > mantissa of sqrt(2)
	m := math.Float32frombits(mant | 0x3f800000 - k<<23)
	e += int32(k)
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

// log1p32 computes log(1+x) accurately for small x via the classic
// correction log(u) + (x - (u-1))/u with u = 1+x.
func log1p32(x float32) float32 {
	u := 1 + x
	if u == 1 {
		return x
	}
	if u == float32(math.Inf(1)) {
		return u
	}
	return log32(u) + (x-(u-1))/u
}

func sigmoid32(x float32) float32 {
	if x >= 0 {
		return 1 / (1 + exp32(-x))
	}
	e := exp32(x)
	return e / (1 + e)
}

func softplus32(x float32) float32 {
	if x > 0 {
		return x + log1p32(exp32(-x))
	}
	return log1p32(exp32(x))
}

func tanh32(x float32) float32 {
	if x > 9 || x < -9 {
		return float32(math.Copysign(1, float64(x)))
	}
	if x > -0.5 && x < 0.5 {
		return float32(math.Tanh(float64(x)))
	}
	e := exp32(2 * x)
	return (e - 1) / (e + 1)
}
