//go:build !amd64 || purego

package tensor

// Without the AVX-512 kernels the scalar functions do all the work.

var hasVecMath = false

func vecExp(d, x []float32) int      { return 0 }
func vecLog(d, x []float32) int      { return 0 }
func vecSigmoid(d, x []float32) int  { return 0 }
func vecSoftplus(d, x []float32) int { return 0 }
func vecELU(d, x []float32) int      { return 0 }
func vecStep(d, x []float32) int     { return 0 }
func vecReLU(d, x []float32) int     { return 0 }

func vecLeaky(d, x []float32, slope float32) int { return 0 }

func vecELUGrad(d, g, x, y []float32) int { return 0 }

func vecNonFinite(x []float32) (bool, int) { return false, 0 }

func vecBin32(op binOp, d, a, b []float32, n, sa, sb int) int { return 0 }

func vecUnaryGrad(f UnaryFunc, d, g, x, y []float32) int { return 0 }

func vecAxpy(y []float32, a float32, x []float32) int { return 0 }

func vecFill(d []float32, y float32) int { return 0 }

func vecAddMul(d, a, b []float32) int { return 0 }

func vecRowSums(d, x []float32, rows, n int) int              { return 0 }
func vecKeptSums(d, x []float32, outer, c, inner, lo, hi int) {}

func vecDot(x, y []float32) (float32, int) { return 0, 0 }

func fmaSourcePointers(srcs [][]float32, n int, buf *[]uintptr) []uintptr { return nil }
func vecFMAPlanes4(dst []float32, ptrs []uintptr, coefs []float32) bool   { return false }

func vecAffine(d, x []float32, a, b float32) int                                     { return 0 }
func vecLinComb(d []float32, a float32, x []float32, b float32, y []float32) int     { return 0 }
func vecAdamDir(d, m, v []float32, eps float32) int                                  { return 0 }
func vecAdamDirGrad(gm, gv, g, m, v []float32, eps float32) int                      { return 0 }
func vecAdamUpdate(x, g, m, v []float32, b1, b2, eps, step float32) int              { return 0 }
func vecAdamSecondMoment(d, v, g []float32, b2, c2 float32) int                      { return 0 }
func vecAdamMomentsGrad(gm, gv, gg, um, uv, g []float32, b1, c1, b2, c2 float32) int { return 0 }
func vecAdamApply(d, x, m, v []float32, negStep, eps float32) int                    { return 0 }
func vecAdamApplyGrad(gm, gv, up, m, v []float32, negStep, eps float32) int          { return 0 }
