//go:build !openblas || !cgo

package blas

// useOpenBLAS is true in builds with the openblas tag (see openblas.go).
const useOpenBLAS = false

func openblasSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("blas: built without the openblas tag")
}

func openblasDgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	panic("blas: built without the openblas tag")
}
