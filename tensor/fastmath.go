package tensor

import (
	"math"

	"github.com/bism-ml/bism/internal/vmath"
)

// Float32 transcendental kernels. Training runs in float32, where routing
// every element through float64 math.Exp/Log costs more than the matrix
// products of a GRBM step. These use the classic Cephes single-precision
// range reductions and minimax polynomials (relative error a few ulp of
// float32); float64 tensors keep the math package's functions, so gradient
// checks are unaffected.

func exp32(x float32) float32 { return vmath.Exp32(x) }

func log32(x float32) float32 { return vmath.Log32(x) }

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

// Slice kernels: the transcendental part runs through vmath's vector exp
// and log in blocks held on the stack, the cheap algebra around it in Go.

const block = 256

// expSlice sets d = exp(x).
func expSlice(d, x []float32) { vmath.Exp(d, x[:len(d)]) }

// logSlice sets d = log(x).
func logSlice(d, x []float32) { vmath.Log(d, x[:len(d)]) }

// log1pSlice sets d = log(1+x), with the correction that keeps small x accurate.
func log1pSlice(d, x []float32) {
	var u [block]float32
	for lo := 0; lo < len(d); lo += block {
		n := min(block, len(d)-lo)
		xs, ds := x[lo:lo+n], d[lo:lo+n]
		for i, v := range xs {
			u[i] = 1 + v
		}
		vmath.Log(ds, u[:n])
		for i, v := range xs {
			if ui := u[i]; ui == 1 {
				ds[i] = v
			} else if !math.IsInf(float64(ui), 1) {
				ds[i] += (v - (ui - 1)) / ui
			}
		}
	}
}

// sigmoidSlice sets d = 1/(1+exp(-x)) via e = exp(-|x|), which never overflows.
func sigmoidSlice(d, x []float32) {
	var e [block]float32
	for lo := 0; lo < len(d); lo += block {
		n := min(block, len(d)-lo)
		xs, ds := x[lo:lo+n], d[lo:lo+n]
		for i, v := range xs {
			e[i] = -abs32(v)
		}
		vmath.Exp(e[:n], e[:n])
		for i, v := range xs {
			if v >= 0 {
				ds[i] = 1 / (1 + e[i])
			} else {
				ds[i] = e[i] / (1 + e[i])
			}
		}
	}
}

// softplusSlice sets d = log(1+exp(x)) = max(x,0) + log1p(exp(-|x|)).
func softplusSlice(d, x []float32) {
	var e [block]float32
	for lo := 0; lo < len(d); lo += block {
		n := min(block, len(d)-lo)
		xs, ds := x[lo:lo+n], d[lo:lo+n]
		for i, v := range xs {
			e[i] = -abs32(v)
		}
		vmath.Exp(e[:n], e[:n])
		log1pSlice(ds, e[:n])
		for i, v := range xs {
			if v > 0 {
				ds[i] += v
			}
		}
	}
}

// eluSlice sets d = x for x > 0 and exp(x)-1 otherwise.
func eluSlice(d, x []float32) {
	var e [block]float32
	for lo := 0; lo < len(d); lo += block {
		n := min(block, len(d)-lo)
		xs, ds := x[lo:lo+n], d[lo:lo+n]
		for i, v := range xs {
			e[i] = min(v, 0)
		}
		vmath.Exp(e[:n], e[:n])
		for i, v := range xs {
			switch {
			case v > 0:
				ds[i] = v
			case v > -0.5: // exp(x)-1 cancels: use expm1
				ds[i] = float32(math.Expm1(float64(v)))
			default:
				ds[i] = e[i] - 1
			}
		}
	}
}

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }
