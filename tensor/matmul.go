package tensor

import (
	"fmt"

	"github.com/bism-ml/bism/internal/blas"
)

// MatMul returns op(a) @ op(b), where op transposes the last two dimensions
// when the flag is set. Operands are 2-D, or 3-D with a leading batch
// dimension; a 2-D operand, or a batch of 1, is shared across the batch.
func MatMul(a, b *Tensor, transA, transB bool) *Tensor {
	sameDType("MatMul", a, b)
	ba, m, ka := matDims(a, transA)
	bb, kb, n := matDims(b, transB)
	if ka != kb || (ba != bb && ba != 1 && bb != 1) || len(a.shape) < 2 || len(b.shape) < 2 {
		panic(fmt.Sprintf("tensor.MatMul: shape mismatch %v%s and %v%s", a.shape, tflag(transA), b.shape, tflag(transB)))
	}
	batch := max(ba, bb)
	var out *Tensor
	if len(a.shape) == 3 || len(b.shape) == 3 {
		out = New(a.dtype, batch, m, n)
	} else {
		out = New(a.dtype, m, n)
	}
	lda, ldb := a.shape[len(a.shape)-1], b.shape[len(b.shape)-1]
	sa, sb := m*ka, ka*n
	if ba == 1 {
		sa = 0
	}
	if bb == 1 {
		sb = 0
	}
	for i := 0; i < batch; i++ {
		if a.dtype == Float32 {
			blas.Sgemm(transA, transB, m, n, ka, 1, a.f32[i*sa:], lda, b.f32[i*sb:], ldb, 0, out.f32[i*m*n:], n)
		} else {
			blas.Dgemm(transA, transB, m, n, ka, 1, a.f64[i*sa:], lda, b.f64[i*sb:], ldb, 0, out.f64[i*m*n:], n)
		}
	}
	return out
}

// matDims returns (batch, rows, cols) of op(x).
func matDims(x *Tensor, trans bool) (batch, r, c int) {
	switch len(x.shape) {
	case 2:
		batch, r, c = 1, x.shape[0], x.shape[1]
	case 3:
		batch, r, c = x.shape[0], x.shape[1], x.shape[2]
	default:
		panic(fmt.Sprintf("tensor.MatMul: operand of shape %v is not 2-D or 3-D", x.shape))
	}
	if trans {
		r, c = c, r
	}
	return
}

func tflag(t bool) string {
	if t {
		return "^T"
	}
	return ""
}
