// Package randn draws standard normal numbers fast, by the ziggurat method
// of Marsaglia and Tsang (J. Stat. Softw. 5(8), 2000) with 128 layers.
//
// Each draw takes one 64-bit word from a xoshiro256++ generator (Blackman
// and Vigna, ACM TOMS 47(4), 2021: four 64-bit words of state, additions,
// shifts and rotations, no multiplication), kept in registers while a slice
// is filled: 7 bits pick the layer and 32 others give the value, so that the
// layer and the value are independent (Doornik, 2005).
// About 97% of draws are accepted at once; the rest (2.8% over 10^7 draws)
// go to the wedge or tail test. It serves annealed importance sampling,
// where drawing the Gibbs noise otherwise costs as much as the matrix
// products.
//
// PCG (pcg.go) is the generator of math/rand/v2's PCG with bulk draws that
// give rand.Rand's values exactly: the training noise of tensor.RNG, whose
// streams stay those of the standard library.
package randn

import (
	"math"
	"math/bits"
)

// Xoshiro is a xoshiro256++ generator.
type Xoshiro struct{ s0, s1, s2, s3 uint64 }

// NewXoshiro returns a generator whose state is drawn from the two seeds by
// SplitMix64, as the generator's authors recommend (never all zero).
func NewXoshiro(seed1, seed2 uint64) *Xoshiro {
	x := &Xoshiro{}
	x.s0, seed1 = splitMix(seed1)
	x.s1, _ = splitMix(seed1)
	x.s2, seed2 = splitMix(seed2 ^ 0x6a09e667f3bcc909)
	x.s3, _ = splitMix(seed2)
	if x.s0|x.s1|x.s2|x.s3 == 0 {
		x.s0 = 1
	}
	return x
}

// splitMix returns SplitMix64's output for state s and the next state.
func splitMix(s uint64) (out, next uint64) {
	s += 0x9e3779b97f4a7c15
	z := s
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31, s
}

// Uint64 returns 64 uniformly distributed random bits.
func (x *Xoshiro) Uint64() uint64 {
	var u uint64
	x.s0, x.s1, x.s2, x.s3, u = xoshiroStep(x.s0, x.s1, x.s2, x.s3)
	return u
}

// xoshiroStep advances the state and returns the new state and its output.
func xoshiroStep(s0, s1, s2, s3 uint64) (n0, n1, n2, n3, out uint64) {
	out = bits.RotateLeft64(s0+s3, 23) + s0
	t := s1 << 17
	s2 ^= s0
	s3 ^= s1
	s1 ^= s2
	s0 ^= s3
	s2 ^= t
	s3 = bits.RotateLeft64(s3, 45)
	return s0, s1, s2, s3, out
}

const (
	layers = 128
	r      = 3.442619855899      // start of the tail
	v      = 9.91256303526217e-3 // area of each layer
	m1     = 2147483648.0        // 2^31: the value is a signed 32-bit integer
)

var kn [layers]uint32 // |j| < kn[i]: accept at once
var wn, fn [layers]float64

func init() {
	dn, tn := r, r
	q := v / math.Exp(-0.5*dn*dn)
	kn[0] = uint32(dn / q * m1)
	kn[1] = 0
	wn[0] = q / m1
	wn[layers-1] = dn / m1
	fn[0] = 1
	fn[layers-1] = math.Exp(-0.5 * dn * dn)
	for i := layers - 2; i >= 1; i-- {
		dn = math.Sqrt(-2 * math.Log(v/dn+math.Exp(-0.5*dn*dn)))
		kn[i+1] = uint32(dn / tn * m1)
		tn = dn
		fn[i] = math.Exp(-0.5 * dn * dn)
		wn[i] = dn / m1
	}
}

// Float64 returns one standard normal number drawn with src.
func Float64(src *Xoshiro) float64 {
	for {
		u := src.Uint64()
		i := u & (layers - 1)
		j := int32(uint32(u >> 8))
		x := float64(j) * wn[i]
		if absU32(j) < kn[i] {
			return x // inside the layer's rectangle
		}
		if i == 0 {
			return tail(src, j < 0)
		}
		// The wedge between the rectangle and the density.
		y := fn[i] + uniform(src)*(fn[i-1]-fn[i])
		if y < math.Exp(-0.5*x*x) {
			return x
		}
	}
}

// Fill32 sets dst to standard normal numbers drawn with src.
func Fill32(src *Xoshiro, dst []float32) {
	s0, s1, s2, s3 := src.s0, src.s1, src.s2, src.s3 // in registers: stores to dst may alias src
	for k := range dst {
		var u uint64
		s0, s1, s2, s3, u = xoshiroStep(s0, s1, s2, s3)
		i := u & (layers - 1)
		j := int32(uint32(u >> 8))
		if absU32(j) < kn[i] {
			dst[k] = float32(float64(j) * wn[i])
			continue
		}
		// Rare (about 3%, mostly the top layer): the wedge or tail test.
		src.s0, src.s1, src.s2, src.s3 = s0, s1, s2, s3
		dst[k] = float32(slow(src, i, j))
		s0, s1, s2, s3 = src.s0, src.s1, src.s2, src.s3
	}
	src.s0, src.s1, src.s2, src.s3 = s0, s1, s2, s3
}

// slow finishes a draw whose first word fell outside the layer's
// rectangle, then draws afresh as Float64 does.
func slow(src *Xoshiro, i uint64, j int32) float64 {
	x := float64(j) * wn[i]
	if i == 0 {
		return tail(src, j < 0)
	}
	if fn[i]+uniform(src)*(fn[i-1]-fn[i]) < math.Exp(-0.5*x*x) {
		return x
	}
	return Float64(src)
}

// tail draws from the normal tail beyond r (Marsaglia, 1964).
func tail(src *Xoshiro, neg bool) float64 {
	for {
		x := -math.Log(uniform(src)) / r
		y := -math.Log(uniform(src))
		if y+y >= x*x {
			if neg {
				return -(r + x)
			}
			return r + x
		}
	}
}

// uniform returns a uniform number in (0, 1).
func uniform(src *Xoshiro) float64 {
	return (float64(src.Uint64()>>11) + 0.5) * 0x1p-53
}

// absU32 returns |j| without a branch (the sign is a coin flip, which a
// branch would mispredict half the time).
func absU32(j int32) uint32 {
	m := j >> 31
	return uint32(j^m) - uint32(m)
}

// FillBits32 sets dst to random 32-bit words: the low then the high half of
// each 64-bit output (for an odd length the last high half is dropped).
func FillBits32(src *Xoshiro, dst []uint32) {
	s0, s1, s2, s3 := src.s0, src.s1, src.s2, src.s3
	for k := 0; k < len(dst); k += 2 {
		var u uint64
		s0, s1, s2, s3, u = xoshiroStep(s0, s1, s2, s3)
		dst[k] = uint32(u)
		if k+1 < len(dst) {
			dst[k+1] = uint32(u >> 32)
		}
	}
	src.s0, src.s1, src.s2, src.s3 = s0, s1, s2, s3
}
