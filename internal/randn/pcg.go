package randn

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
)

// PCG is the generator of Go's math/rand/v2 PCG (a 128-bit linear
// congruential state with the DXSM output function), with the same seeding,
// state and binary form: a PCG and a rand.PCG seeded alike give the same
// words, and its draws (Float64, Norm and the Fill functions) give the
// values that a rand.Rand over that rand.PCG gives from Float64 and
// NormFloat64, draw for draw. The Fill functions keep the state in
// registers while they fill a slice, with no call through rand.Source per
// word, which makes a slice of normals about three times as fast.
type PCG struct{ hi, lo uint64 }

// NewPCG returns a generator seeded as rand.NewPCG(seed1, seed2).
func NewPCG(seed1, seed2 uint64) *PCG { return &PCG{seed1, seed2} }

// The state's step is state = state*mul + inc (mod 2^128).
const (
	mulHi = 2549297995355413924
	mulLo = 4865540595714422341
	incHi = 6364136223846793005
	incLo = 1442695040888963407
)

// pcgStep advances the state (hi, lo) and returns the new state and the
// output word, as rand.PCG.Uint64 does.
func pcgStep(hi, lo uint64) (nhi, nlo, out uint64) {
	const cheapMul = 0xda942042e4dd58b5
	// state = state * mul + inc
	nhi, nlo = bits.Mul64(lo, mulLo)
	nhi += hi*mulLo + lo*mulHi
	var c uint64
	nlo, c = bits.Add64(nlo, incLo, 0)
	nhi, _ = bits.Add64(nhi, incHi, c)
	// DXSM output
	out = nhi ^ nhi>>32
	out *= cheapMul
	out ^= out >> 48
	out *= nlo | 1
	return nhi, nlo, out
}

// Advance moves the generator on by n words, as n calls of Uint64 would,
// in O(log n) steps: the n-fold step is itself an affine map
// state*M + C (Brown, "Random number generation with arbitrary strides",
// 1994), built by squaring. A fill split over cores starts each piece from
// a copy advanced to that piece's first word.
func (p *PCG) Advance(n uint64) {
	accMulHi, accMulLo := uint64(0), uint64(1)
	accIncHi, accIncLo := uint64(0), uint64(0)
	curMulHi, curMulLo := uint64(mulHi), uint64(mulLo)
	curIncHi, curIncLo := uint64(incHi), uint64(incLo)
	for ; n > 0; n >>= 1 {
		if n&1 != 0 {
			accMulHi, accMulLo = mul128(accMulHi, accMulLo, curMulHi, curMulLo)
			accIncHi, accIncLo = mul128(accIncHi, accIncLo, curMulHi, curMulLo)
			accIncHi, accIncLo = add128(accIncHi, accIncLo, curIncHi, curIncLo)
		}
		// (M, C) composed with itself: (M², (M+1)·C).
		m1Hi, m1Lo := add128(curMulHi, curMulLo, 0, 1)
		curIncHi, curIncLo = mul128(m1Hi, m1Lo, curIncHi, curIncLo)
		curMulHi, curMulLo = mul128(curMulHi, curMulLo, curMulHi, curMulLo)
	}
	p.hi, p.lo = mul128(accMulHi, accMulLo, p.hi, p.lo)
	p.hi, p.lo = add128(p.hi, p.lo, accIncHi, accIncLo)
}

// mul128 returns a*b mod 2^128.
func mul128(aHi, aLo, bHi, bLo uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(aLo, bLo)
	return hi + aHi*bLo + aLo*bHi, lo
}

// add128 returns a+b mod 2^128.
func add128(aHi, aLo, bHi, bLo uint64) (hi, lo uint64) {
	lo, c := bits.Add64(aLo, bLo, 0)
	hi, _ = bits.Add64(aHi, bHi, c)
	return hi, lo
}

// Uint64 returns 64 uniformly distributed random bits (rand.Source).
func (p *PCG) Uint64() uint64 {
	var u uint64
	p.hi, p.lo, u = pcgStep(p.hi, p.lo)
	return u
}

// Float64 returns a uniform value in [0, 1), as rand.Rand.Float64.
func (p *PCG) Float64() float64 { return unit53(p.Uint64()) }

// unit53 maps a word to [0, 1) as rand.Rand.Float64 does.
func unit53(u uint64) float64 { return float64(u<<11>>11) / (1 << 53) }

// Norm returns a standard normal value, as rand.Rand.NormFloat64.
func (p *PCG) Norm() float64 {
	u := p.Uint64()
	j, i := int32(u), u>>32&0x7F
	x := float64(j) * float64(pcgWn[i])
	if absU32(j) < pcgKn[i] {
		return x
	}
	x, _ = p.normSlow(j, i, x)
	return x
}

// normSlow goes on with NormFloat64's ziggurat for a word (j, i) outside
// the rectangle of layer i (value x): the tail of layer 0, or the wedge
// test, drawing afresh on rejection. It returns the value and the number
// of words it drew.
func (p *PCG) normSlow(j int32, i uint64, x float64) (float64, int) {
	words := 0
	for {
		if i == 0 {
			for {
				x = -math.Log(p.Float64()) * (1.0 / pcgRn)
				y := -math.Log(p.Float64())
				words += 2
				if y+y >= x*x {
					break
				}
			}
			if j > 0 {
				return pcgRn + x, words
			}
			return -pcgRn - x, words
		}
		words++
		if pcgFn[i]+float32(p.Float64())*(pcgFn[i-1]-pcgFn[i]) < float32(math.Exp(-.5*x*x)) {
			return x, words
		}
		u := p.Uint64()
		words++
		j, i = int32(u), u>>32&0x7F
		x = float64(j) * float64(pcgWn[i])
		if absU32(j) < pcgKn[i] {
			return x, words
		}
	}
}

// Float is the element type of the Fill functions.
type Float interface{ ~float32 | ~float64 }

// FillNormal sets dst[i] = T(mean + std*Norm()) in order.
func FillNormal[T Float](p *PCG, dst []T, mean, std float64) {
	FillNormalStarts(p, dst, mean, std, nil)
}

// FillNormalStarts is FillNormal that also returns the number of words it
// drew and, when starts is not nil (len(dst) long), sets starts[i] to the
// word, counted from the first, at which value i began: a normal takes one
// word mostly, and more in the ziggurat's wedge and tail.
func FillNormalStarts[T Float](p *PCG, dst []T, mean, std float64, starts []int32) (words int) {
	hi, lo := p.hi, p.lo
	if starts != nil {
		starts = starts[:len(dst)]
	}
	for k := range dst {
		if starts != nil {
			starts[k] = int32(words)
		}
		var u uint64
		hi, lo, u = pcgStep(hi, lo)
		words++
		j, i := int32(u), u>>32&0x7F
		x := float64(j) * float64(pcgWn[i])
		if absU32(j) >= pcgKn[i] {
			var w int
			p.hi, p.lo = hi, lo
			x, w = p.normSlow(j, i, x)
			hi, lo = p.hi, p.lo
			words += w
		}
		dst[k] = T(mean + std*x)
	}
	p.hi, p.lo = hi, lo
	return words
}

// FillUniform sets dst[i] = T(lo + (hi-lo)*Float64()) in order.
func FillUniform[T Float](p *PCG, dst []T, lo, hi float64) {
	sh, sl := p.hi, p.lo
	for k := range dst {
		var u uint64
		sh, sl, u = pcgStep(sh, sl)
		dst[k] = T(lo + (hi-lo)*unit53(u))
	}
	p.hi, p.lo = sh, sl
}

// FillOdds sets dst[i] = T(U/(1-U)) for U = Float64(), drawn again while
// it is 0, in order, and returns the number of words it drew: len(dst)
// unless a U was 0 (one draw in 2^53).
func FillOdds[T Float](p *PCG, dst []T) (words int) {
	hi, lo := p.hi, p.lo
	words = len(dst)
	for k := range dst {
		var w uint64
		hi, lo, w = pcgStep(hi, lo)
		u := unit53(w)
		for u == 0 {
			hi, lo, w = pcgStep(hi, lo)
			u = unit53(w)
			words++
		}
		dst[k] = T(u / (1 - u))
	}
	p.hi, p.lo = hi, lo
	return words
}

// FillSign sets dst[i] to +1 when Uint64() is odd and -1 otherwise, in
// order.
func FillSign[T Float](p *PCG, dst []T) {
	hi, lo := p.hi, p.lo
	for k := range dst {
		var u uint64
		hi, lo, u = pcgStep(hi, lo)
		dst[k] = T(int(u&1)*2 - 1)
	}
	p.hi, p.lo = hi, lo
}

// FillBernoulli sets dst[i] = 1 where Float64() < prob[i] and 0 otherwise,
// in order; dst and prob have the same length.
func FillBernoulli[T Float](p *PCG, dst, prob []T) {
	hi, lo := p.hi, p.lo
	prob = prob[:len(dst)]
	for k := range dst {
		var u uint64
		hi, lo, u = pcgStep(hi, lo)
		// Branch-free: the comparison is a coin flip a branch would
		// mispredict about half the time.
		var one uint32
		if unit53(u) < float64(prob[k]) {
			one = 1
		}
		dst[k] = T(one)
	}
	p.hi, p.lo = hi, lo
}

// Skip draws and drops n values of a Fill function, so that the stream
// moves on exactly as far as that fill of n values would move it (the
// normal and odds draws take a varying number of words).
func Skip(p *PCG, n int, fill func(dst []float32)) {
	if n <= 0 {
		return
	}
	var buf [256]float32
	for n > 0 {
		m := min(n, len(buf))
		fill(buf[:m])
		n -= m
	}
}

var errPCGState = errors.New("randn: invalid PCG state")

// MarshalBinary returns the state in rand.PCG's binary form.
func (p *PCG) MarshalBinary() ([]byte, error) {
	b := append(make([]byte, 0, 20), "pcg:"...)
	b = binary.BigEndian.AppendUint64(b, p.hi)
	return binary.BigEndian.AppendUint64(b, p.lo), nil
}

// UnmarshalBinary restores a state in rand.PCG's binary form.
func (p *PCG) UnmarshalBinary(b []byte) error {
	if len(b) != 20 || string(b[:4]) != "pcg:" {
		return errPCGState
	}
	p.hi, p.lo = binary.BigEndian.Uint64(b[4:]), binary.BigEndian.Uint64(b[12:])
	return nil
}
