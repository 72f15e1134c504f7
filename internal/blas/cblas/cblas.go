//go:build openblas && cgo

package cblas

// OpenBLAS runs its own thread pool; set OPENBLAS_NUM_THREADS to limit it.

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
*/
import "C"

func trans(t bool) C.enum_CBLAS_TRANSPOSE {
	if t {
		return C.CblasTrans
	}
	return C.CblasNoTrans
}

// ld returns a leading dimension OpenBLAS accepts: it rejects ld < 1 even
// when the matrix is empty and never read.
func ld(x int) C.blasint { return C.blasint(max(x, 1)) }

func ptr[T float32 | float64](s []T) *T {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// Sgemm is the row-major cblas_sgemm; arguments as for blas.Sgemm, already
// checked by the caller.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	C.cblas_sgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.float(alpha), (*C.float)(ptr(a)), ld(lda), (*C.float)(ptr(b)), ld(ldb),
		C.float(beta), (*C.float)(ptr(c)), ld(ldc))
}

// Dgemm is the row-major cblas_dgemm.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	C.cblas_dgemm(C.CblasRowMajor, trans(transA), trans(transB),
		C.blasint(m), C.blasint(n), C.blasint(k),
		C.double(alpha), (*C.double)(ptr(a)), ld(lda), (*C.double)(ptr(b)), ld(ldb),
		C.double(beta), (*C.double)(ptr(c)), ld(ldc))
}
