package tensor

import (
	"fmt"
	"math"

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
		out = ArenaOf(a, b).empty(a.dtype, batch, m, n)
	} else {
		out = ArenaOf(a, b).empty(a.dtype, m, n)
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

// MatMulBias returns a·b + bias for a [m, k], b [k, n] and bias [n]: a dense
// layer's pre-activation, with the bits of Add(MatMul(a, b, false, false),
// bias). Each block of the product gets its bias as soon as the block is
// final, on the core that computed it and while it is in that core's cache,
// instead of in a pass of its own over the result.
func MatMulBias(a, b, bias *Tensor) *Tensor {
	sameDType("MatMulBias", a, b)
	sameDType("MatMulBias", a, bias)
	if len(a.shape) != 2 || len(b.shape) != 2 || len(bias.shape) != 1 || a.shape[1] != b.shape[0] || bias.shape[0] != b.shape[1] {
		panic(fmt.Sprintf("tensor.MatMulBias: shapes %v · %v + %v", a.shape, b.shape, bias.shape))
	}
	m, k, n := a.shape[0], a.shape[1], b.shape[1]
	out := ArenaOf(a, b, bias).empty(a.dtype, m, n)
	if a.dtype == Float32 {
		blas.SgemmThen(false, false, m, n, k, 1, a.f32, k, b.f32, n, 0, out.f32, n, addBias32, bias)
	} else {
		blas.DgemmThen(false, false, m, n, k, 1, a.f64, k, b.f64, n, 0, out.f64, n, addBias64, bias)
	}
	return out
}

// addBias32 and addBias64 are MatMulBias's work on each block of the
// product (blas.Then): the bias tensor's values added to the block's rows.
func addBias32(bias any, c []float32, ldc, i0, i1, j0, j1 int) {
	addBias(c, bias.(*Tensor).f32, ldc, i0, i1, j0, j1)
}

func addBias64(bias any, c []float64, ldc, i0, i1, j0, j1 int) {
	addBias(c, bias.(*Tensor).f64, ldc, i0, i1, j0, j1)
}

// addBias adds bias[j0:j1] to columns [j0, j1) of rows [i0, i1) of c (rows
// of n values), as Add's rows do.
func addBias[T Float](c, bias []T, n, i0, i1, j0, j1 int) {
	if m := j1 - j0; m < 16 {
		// Short rows (binRow's scalar additions) without a call per row.
		b := bias[j0:j1]
		for i := i0; i < i1; i++ {
			row := c[i*n+j0 : i*n+j1]
			for j := range b {
				row[j] += b[j]
			}
		}
		return
	}
	for i := i0; i < i1; i++ {
		row := c[i*n+j0 : i*n+j1]
		binRow(opAdd, row, row, bias[j0:j1], j1-j0, 1, 1)
	}
}

// MatMulAddInPlace adds op(a)·op(b) to c ([m, n], 2-D operands) in place
// where the matrix kernels do so with the bits of MatMul followed by
// AddInPlace (blas.SgemmAddsExactly), and reports whether it did; it
// leaves c alone otherwise.
func MatMulAddInPlace(c, a, b *Tensor, transA, transB bool) bool {
	if len(a.shape) != 2 || len(b.shape) != 2 || len(c.shape) != 2 || a.dtype != c.dtype || b.dtype != c.dtype {
		return false
	}
	_, m, k := matDims(a, transA)
	_, kb, n := matDims(b, transB)
	if k != kb || c.shape[0] != m || c.shape[1] != n {
		panic(fmt.Sprintf("tensor.MatMulAddInPlace: %v += %v%s · %v%s", c.shape, a.shape, tflag(transA), b.shape, tflag(transB)))
	}
	lda, ldb := a.shape[1], b.shape[1]
	if c.dtype == Float32 {
		if !blas.SgemmAddsExactly(m, n, k) {
			return false
		}
		blas.Sgemm(transA, transB, m, n, k, 1, a.f32, lda, b.f32, ldb, 1, c.f32, n)
	} else {
		if !blas.DgemmAddsExactly(m, n, k) {
			return false
		}
		blas.Dgemm(transA, transB, m, n, k, 1, a.f64, lda, b.f64, ldb, 1, c.f64, n)
	}
	return true
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

// Inverse returns the inverse of a square 2-D matrix by Gauss-Jordan
// elimination with partial pivoting. A singular matrix panics.
func Inverse(x *Tensor) *Tensor {
	if len(x.shape) != 2 || x.shape[0] != x.shape[1] {
		panic(fmt.Sprintf("tensor.Inverse: shape %v is not a square matrix", x.shape))
	}
	n := x.shape[0]
	a := x.As(Float64).Clone().f64
	inv := make([]float64, n*n)
	for i := 0; i < n; i++ {
		inv[i*n+i] = 1
	}
	for col := 0; col < n; col++ {
		p := col
		for r := col + 1; r < n; r++ {
			if abs(a[r*n+col]) > abs(a[p*n+col]) {
				p = r
			}
		}
		if a[p*n+col] == 0 {
			panic(fmt.Sprintf("tensor.Inverse: matrix of shape %v is singular", x.shape))
		}
		if p != col {
			for j := 0; j < n; j++ {
				a[p*n+j], a[col*n+j] = a[col*n+j], a[p*n+j]
				inv[p*n+j], inv[col*n+j] = inv[col*n+j], inv[p*n+j]
			}
		}
		d := a[col*n+col]
		for j := 0; j < n; j++ {
			a[col*n+j] /= d
			inv[col*n+j] /= d
		}
		for r := 0; r < n; r++ {
			if r == col || a[r*n+col] == 0 {
				continue
			}
			f := a[r*n+col]
			for j := 0; j < n; j++ {
				a[r*n+j] -= f * a[col*n+j]
				inv[r*n+j] -= f * inv[col*n+j]
			}
		}
	}
	return FromFloat64(inv, n, n).As(x.dtype)
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// Cholesky returns the lower-triangular L with L Lᵀ = x for a symmetric
// positive-definite matrix (only x's lower triangle is read). A matrix that
// is not positive definite panics.
func Cholesky(x *Tensor) *Tensor {
	l, ok := TryCholesky(x)
	if !ok {
		panic(fmt.Sprintf("tensor.Cholesky: matrix of shape %v is not positive definite", x.shape))
	}
	return l
}

// TryCholesky is Cholesky that reports a matrix that is not (numerically)
// positive definite with ok = false instead of panicking. It is computed in
// float64 and returned in x's dtype.
func TryCholesky(x *Tensor) (l *Tensor, ok bool) {
	if len(x.shape) != 2 || x.shape[0] != x.shape[1] {
		panic(fmt.Sprintf("tensor.Cholesky: shape %v is not a square matrix", x.shape))
	}
	n := x.shape[0]
	a := x.As(Float64).f64
	lf := make([]float64, n*n)
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= lf[j*n+k] * lf[j*n+k]
		}
		if !(s > 0) {
			return nil, false
		}
		d := math.Sqrt(s)
		lf[j*n+j] = d
		for i := j + 1; i < n; i++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= lf[i*n+k] * lf[j*n+k]
			}
			lf[i*n+j] = s / d
		}
	}
	return FromFloat64(lf, n, n).As(x.dtype), true
}

// TrilMask returns the n x n lower-triangular mask with diag on the diagonal.
func TrilMask(dt DType, n int, diag float64) *Tensor {
	m := New(dt, n, n)
	for i := 0; i < n; i++ {
		for j := 0; j < i; j++ {
			m.Set(1, i, j)
		}
		m.Set(diag, i, i)
	}
	return m
}
