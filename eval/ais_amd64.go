//go:build amd64 && !purego

package eval

import "golang.org/x/sys/cpu"

// hasAISKernel reports whether aisRow64 can run (AVX-512F, with the
// ZMM state saved by the OS, as x/sys/cpu checks).
var hasAISKernel = cpu.X86.HasAVX512F

//go:noescape
func aisRow64(a *float32, acc *[8]float64, n int, k *[24]float64, bp, db float64, rnd *uint32, hout *float32, hval float32) (over uint64)

// aisRowVec runs aisRow64 on the longest multiple of 8 elements of a and
// returns how many it did and their increments' sum (0, 0 when it cannot
// run or a lane was out of the series' range).
func aisRowVec(a []float32, rnd []uint32, hout []float32, hval float32, bp, db float64) (n int, acc float64) {
	n = len(a) &^ 7
	if !hasAISKernel || n == 0 {
		return 0, 0
	}
	var lanes [8]float64
	if aisRow64(&a[0], &lanes, n, &aisK, bp, db, &rnd[:n][0], &hout[:n][0], hval) != 0 {
		return 0, 0
	}
	return n, ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}
