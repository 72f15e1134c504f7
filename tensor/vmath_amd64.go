//go:build amd64 && !purego

package tensor

import "golang.org/x/sys/cpu"

// Vector kernels of vmath_amd64.s; each handles len(x) rounded down to a
// multiple of 16.
//
//go:noescape
func expAVX512(d, x []float32)

//go:noescape
func logAVX512(d, x []float32)

//go:noescape
func sigmoidAVX512(d, x []float32)

//go:noescape
func softplusAVX512(d, x []float32)

// hasVecMath reports whether the AVX-512 kernels can run (x/sys/cpu also
// checks that the OS saves the ZMM registers).
var hasVecMath = cpu.X86.HasAVX512F

func vecExp(d, x []float32) int      { return vec(expAVX512, d, x) }
func vecLog(d, x []float32) int      { return vec(logAVX512, d, x) }
func vecSigmoid(d, x []float32) int  { return vec(sigmoidAVX512, d, x) }
func vecSoftplus(d, x []float32) int { return vec(softplusAVX512, d, x) }

// vec runs kernel k on the longest multiple-of-16 prefix of x and returns
// its length; the caller finishes the tail.
func vec(k func(d, x []float32), d, x []float32) int {
	n := len(x) &^ 15
	if !hasVecMath || n == 0 {
		return 0
	}
	k(d[:n], x[:n])
	return n
}
