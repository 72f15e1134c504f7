//go:build !amd64 || purego

package blas

import "unsafe"

// Without assembly only the portable kernels are available.

func kernels32() []*microKernel[float32] {
	return append(append([]*microKernel[float32](nil), simdKernels32...), goKernel32)
}

func kernels64() []*microKernel[float64] { return []*microKernel[float64]{goKernel64} }

const haveTranspose4 = false

func transpose4x4s(k int, src *float32, lds int, dst *float32, ldd int) {
	panic("blas: no assembly")
}

func transpose8x8s(k int, src *float32, lds int, dst *float32, ldd int) {
	panic("blas: no assembly")
}

func packCopyFunc(width uintptr) func(k int, src unsafe.Pointer, lds uintptr, dst unsafe.Pointer) {
	return nil
}
