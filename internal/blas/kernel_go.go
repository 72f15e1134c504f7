package blas

import "unsafe"

// Portable micro-kernels, used on architectures without assembly, under the
// purego build tag, and as the fallback when the CPU lacks AVX2/FMA.
//
// The Go compiler does not vectorize, and its scheduler issues all of a
// loop body's loads and multiplies before the adds, so every product is a
// live temporary: a tile with more than ~8 accumulators spills to the stack
// (4x4 ran 25-30% slower than this 4x2 on Sapphire Rapids; 2x4 in between).

var (
	goKernel32 = &microKernel[float32]{name: "go-4x2", mr: 4, nr: 2, fn: kernelGo4x2[float32], smallWork: 32 * 1024, smallDim: 4}
	goKernel64 = &microKernel[float64]{name: "go-4x2", mr: 4, nr: 2, fn: kernelGo4x2[float64], smallWork: 32 * 1024, smallDim: 4}
)

func kernelGo4x2[T float](k int, ap, bp, cp *T, ldc int, alpha, beta T) {
	var c00, c01, c10, c11, c20, c21, c30, c31 T
	if k > 0 {
		a := unsafe.Slice(ap, 4*k)
		b := unsafe.Slice(bp, 2*k)
		for len(a) >= 4 && len(b) >= 2 {
			b0, b1 := b[0], b[1]
			a0, a1, a2, a3 := a[0], a[1], a[2], a[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c10 += a1 * b0
			c11 += a1 * b1
			c20 += a2 * b0
			c21 += a2 * b1
			c30 += a3 * b0
			c31 += a3 * b1
			a, b = a[4:], b[2:]
		}
	}
	c := unsafe.Slice(cp, 3*ldc+2)
	storeRow2(c[0:2:2], alpha, beta, c00, c01)
	storeRow2(c[ldc:ldc+2:ldc+2], alpha, beta, c10, c11)
	storeRow2(c[2*ldc:2*ldc+2:2*ldc+2], alpha, beta, c20, c21)
	storeRow2(c[3*ldc:3*ldc+2:3*ldc+2], alpha, beta, c30, c31)
}

// storeRow2 writes alpha*s + beta*c into one row of a tile; with beta == 0
// the old values are not read, so NaNs in C are overwritten.
func storeRow2[T float](c []T, alpha, beta T, s0, s1 T) {
	if beta == 0 {
		c[0], c[1] = alpha*s0, alpha*s1
		return
	}
	c[0] = alpha*s0 + beta*c[0]
	c[1] = alpha*s1 + beta*c[1]
}
