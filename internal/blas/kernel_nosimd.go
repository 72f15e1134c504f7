//go:build !goexperiment.simd || !amd64

package blas

// simdKernels32 holds the simd/archsimd kernels; see kernel_simd.go (built
// only with GOEXPERIMENT=simd).
var simdKernels32 []*microKernel[float32]
