//go:build openblas && cgo

package blas

import "github.com/bism-ml/bism/internal/blas/cblas"

// With the openblas tag, Sgemm and Dgemm hand every call to OpenBLAS.
const useOpenBLAS = true

var (
	openblasSgemm = cblas.Sgemm
	openblasDgemm = cblas.Dgemm
)
