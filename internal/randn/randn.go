// Package randn draws standard normal numbers fast, by the ziggurat method
// of Marsaglia and Tsang (J. Stat. Softw. 5(8), 2000) with 128 layers.
//
// Each draw takes one 64-bit word from a PCG-DXSM generator, the one of
// math/rand/v2 (same seeds, same stream), kept in registers while a slice
// is filled: 7 bits pick the layer and 32 others give the value, so that
// the layer and the value are independent (Doornik, 2005).
// About 99% of draws are accepted at once; the rest go to the wedge or
// tail test. It serves annealed importance sampling, where drawing the
// Gibbs noise otherwise costs as much as the matrix products.
package randn

import (
	"math"
	"math/bits"
)

// PCG is math/rand/v2's PCG-DXSM generator: a 128-bit linear congruential
// state and the DXSM output function.
type PCG struct{ hi, lo uint64 }

// NewPCG returns the generator math/rand/v2's NewPCG(seed1, seed2) returns.
func NewPCG(seed1, seed2 uint64) *PCG { return &PCG{seed1, seed2} }

// Uint64 returns 64 uniformly distributed random bits.
func (p *PCG) Uint64() uint64 {
	var x uint64
	p.hi, p.lo, x = pcgStep(p.hi, p.lo)
	return x
}

// pcgStep advances the state and returns the new state and its output.
func pcgStep(hi, lo uint64) (nhi, nlo, out uint64) {
	const (
		mulHi    = 2549297995355413924
		mulLo    = 4865540595714422341
		incHi    = 6364136223846793005
		incLo    = 1442695040888963407
		cheapMul = 0xda942042e4dd58b5
	)
	nhi, nlo = bits.Mul64(lo, mulLo)
	nhi += hi*mulLo + lo*mulHi
	nlo, c := bits.Add64(nlo, incLo, 0)
	nhi, _ = bits.Add64(nhi, incHi, c)
	out = nhi
	out ^= out >> 32
	out *= cheapMul
	out ^= out >> 48
	out *= nlo | 1
	return nhi, nlo, out
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
func Float64(src *PCG) float64 {
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
func Fill32(src *PCG, dst []float32) {
	hi, lo := src.hi, src.lo // in registers: stores to dst may alias src
	for k := range dst {
		var u uint64
		hi, lo, u = pcgStep(hi, lo)
		i := u & (layers - 1)
		j := int32(uint32(u >> 8))
		if absU32(j) < kn[i] {
			dst[k] = float32(float64(j) * wn[i])
			continue
		}
		// Rare (about 3%, mostly the top layer): the wedge or tail test.
		src.hi, src.lo = hi, lo
		dst[k] = float32(slow(src, i, j))
		hi, lo = src.hi, src.lo
	}
	src.hi, src.lo = hi, lo
}

// slow finishes a draw whose first word fell outside the layer's
// rectangle, then draws afresh as Float64 does.
func slow(src *PCG, i uint64, j int32) float64 {
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
func tail(src *PCG, neg bool) float64 {
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
func uniform(src *PCG) float64 {
	return (float64(src.Uint64()>>11) + 0.5) * 0x1p-53
}

// absU32 returns |j| without a branch (the sign is a coin flip, which a
// branch would mispredict half the time).
func absU32(j int32) uint32 {
	m := j >> 31
	return uint32(j^m) - uint32(m)
}
