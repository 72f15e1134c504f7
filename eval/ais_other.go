//go:build !amd64 || purego

package eval

// Without the AVX-512 kernel, aisRow's Go loop does all the work.

const hasAISKernel = false

func aisRowVec(a []float32, rnd []uint32, hout []float32, hval float32, bp, db float64) (n int, acc float64) {
	return 0, 0
}
