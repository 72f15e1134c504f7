// Package cblas calls OpenBLAS's cblas_sgemm and cblas_dgemm through cgo.
//
// It is only compiled with the openblas build tag (and cgo); package blas
// uses it then instead of its own kernels. It is a separate package because
// Go does not allow cgo and Go assembly (blas_amd64.s) in one package.
// Install the library with: apt-get install -y libopenblas-dev.
package cblas
