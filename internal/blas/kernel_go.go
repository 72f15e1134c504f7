package blas

import "unsafe"

// Portable micro-kernels, used on architectures without assembly, under the
// purego build tag, and as the fallback when the CPU lacks AVX2/FMA.
//
// The Go compiler does not vectorize and amd64 has 16 float registers (one
// reserved), so the tile is small: 4x4 keeps 16 accumulators, most of them
// in registers, and reads each packed A and B value once per step.

var (
	goKernel32 = &microKernel[float32]{name: "go-4x4", mr: 4, nr: 4, fn: kernelGo4x4[float32]}
	goKernel64 = &microKernel[float64]{name: "go-4x4", mr: 4, nr: 4, fn: kernelGo4x4[float64]}
)

func kernelGo4x4[T float](k int, ap, bp, cp *T, ldc int, alpha, beta T) {
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	var c20, c21, c22, c23 T
	var c30, c31, c32, c33 T
	if k > 0 {
		a := unsafe.Slice(ap, 4*k)
		b := unsafe.Slice(bp, 4*k)
		for len(a) >= 4 && len(b) >= 4 {
			b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
			a0 := a[0]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			a1 := a[1]
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			a2 := a[2]
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			a3 := a[3]
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
			a, b = a[4:], b[4:]
		}
	}
	c := unsafe.Slice(cp, 3*ldc+4)
	storeRow4(c[0:4:4], alpha, beta, c00, c01, c02, c03)
	storeRow4(c[ldc:ldc+4:ldc+4], alpha, beta, c10, c11, c12, c13)
	storeRow4(c[2*ldc:2*ldc+4:2*ldc+4], alpha, beta, c20, c21, c22, c23)
	storeRow4(c[3*ldc:3*ldc+4:3*ldc+4], alpha, beta, c30, c31, c32, c33)
}

// storeRow4 writes alpha*s + beta*c into one row of a tile; with beta == 0
// the old values are not read, so NaNs in C are overwritten.
func storeRow4[T float](c []T, alpha, beta T, s0, s1, s2, s3 T) {
	if beta == 0 {
		c[0], c[1], c[2], c[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	c[0] = alpha*s0 + beta*c[0]
	c[1] = alpha*s1 + beta*c[1]
	c[2] = alpha*s2 + beta*c[2]
	c[3] = alpha*s3 + beta*c[3]
}
