package tensor

import (
	"fmt"
	"math"
	"strings"
)

// DType is the element type of a Tensor.
type DType int

const (
	// Float32 is the default element type, used for training.
	Float32 DType = iota
	// Float64 is used where precision matters, notably gradient checks.
	Float64
)

func (d DType) String() string {
	switch d {
	case Float32:
		return "float32"
	case Float64:
		return "float64"
	}
	return fmt.Sprintf("DType(%d)", int(d))
}

// Float is the set of element types a Tensor can hold.
type Float interface{ ~float32 | ~float64 }

// Tensor is a dense, contiguous, row-major n-d array of float32 or float64.
// Exactly one of the two data slices is non-nil, matching DType.
//
// Operations never modify their inputs; they return new tensors. The only
// mutating functions are the ones documented as in-place (names ending in
// "InPlace" or taking a destination), which optimizers use on parameters.
type Tensor struct {
	shape []int
	dims  [4]int // shape's storage for up to 4 dimensions: one allocation per tensor
	dtype DType
	f32   []float32
	f64   []float64
	// arena is the Arena of the computation the tensor belongs to (nil:
	// none). Operations give their results the arena of their inputs, and
	// take the results' storage from it while it is in a Step.
	arena *Arena
	// served is 1 + the index of t's storage among the buffers its arena
	// has handed out in this Step, on the header the storage was served
	// with (0 for views, heap storage and slab-cut small tensors): what
	// Release needs to take it back.
	served int32
	// scoped is set on a tensor whose storage its arena served in the
	// current Step (from its buffers or its slab) and on views of it: such
	// storage, and so the tensor, lives no longer than the step.
	scoped bool
}

// New returns a zero tensor of the given dtype and shape, on the heap.
func New(dt DType, shape ...int) *Tensor { return (*Arena)(nil).zeros(dt, shape...) }

// zeros allocates a zero tensor whose storage comes from a while a is in a
// Step (and the tensor is not tiny), else from the heap; the tensor
// belongs to a either way. a may be nil.
func (a *Arena) zeros(dt DType, shape ...int) *Tensor { return a.alloc(dt, shape, true) }

// New returns a zeroed tensor that belongs to a (New when a is nil): during
// a Step its storage is the step's, like an operation's result.
func (a *Arena) New(dt DType, shape ...int) *Tensor { return a.zeros(dt, shape...) }

// empty is zeros without the zeroing, for operations that overwrite every
// element of their result.
func (a *Arena) empty(dt DType, shape ...int) *Tensor { return a.alloc(dt, shape, false) }

func (a *Arena) alloc(dt DType, shape []int, zero bool) *Tensor {
	n := checkShape("New", shape)
	if dt != Float32 && dt != Float64 {
		panic(fmt.Sprintf("tensor.New: unknown dtype %v", dt))
	}
	if a.serving() {
		return a.serve(dt, shape, n, zero)
	}
	t := header(shape, dt, a)
	if dt == Float32 {
		t.f32 = make([]float32, n)
	} else {
		t.f64 = make([]float64, n)
	}
	return t
}

// Zeros is New.
func Zeros(dt DType, shape ...int) *Tensor { return New(dt, shape...) }

// ZerosLike returns a zero tensor with x's dtype and shape, in x's arena.
func ZerosLike(x *Tensor) *Tensor { return x.arena.zeros(x.dtype, x.shape...) }

// Full returns a tensor of the given shape filled with v.
func Full(dt DType, v float64, shape ...int) *Tensor {
	t := New(dt, shape...)
	t.Fill(v)
	return t
}

// Ones returns a tensor of ones.
func Ones(dt DType, shape ...int) *Tensor { return Full(dt, 1, shape...) }

// OnesLike returns a tensor of ones with x's dtype and shape, in x's arena.
func OnesLike(x *Tensor) *Tensor {
	t := x.arena.empty(x.dtype, x.shape...)
	t.Fill(1)
	return t
}

// Scalar returns a 0-d tensor holding v.
func Scalar(dt DType, v float64) *Tensor { return Full(dt, v) }

// FromFloat32 wraps data (not copied) as a tensor of the given shape.
func FromFloat32(data []float32, shape ...int) *Tensor {
	n := checkShape("FromFloat32", shape)
	if n != len(data) {
		panic(fmt.Sprintf("tensor.FromFloat32: %d values do not fit shape %v (%d elements)", len(data), shape, n))
	}
	t := header(shape, Float32, nil)
	t.f32 = data
	return t
}

// FromFloat64 wraps data (not copied) as a tensor of the given shape.
func FromFloat64(data []float64, shape ...int) *Tensor {
	n := checkShape("FromFloat64", shape)
	if n != len(data) {
		panic(fmt.Sprintf("tensor.FromFloat64: %d values do not fit shape %v (%d elements)", len(data), shape, n))
	}
	t := header(shape, Float64, nil)
	t.f64 = data
	return t
}

// FromValues converts float64 values to a tensor of dtype dt.
func FromValues(dt DType, data []float64, shape ...int) *Tensor {
	t := New(dt, shape...)
	if len(data) != t.Size() {
		panic(fmt.Sprintf("tensor.FromValues: %d values do not fit shape %v", len(data), shape))
	}
	for i, v := range data {
		t.SetFlat(i, v)
	}
	return t
}

// Shape returns the tensor's shape. The caller must not modify it.
func (t *Tensor) Shape() []int { return t.shape }

// Rank is the number of dimensions.
func (t *Tensor) Rank() int { return len(t.shape) }

// Dim returns the size of dimension i; negative i counts from the end.
func (t *Tensor) Dim(i int) int { return t.shape[normAxis("Dim", i, len(t.shape))] }

// DType returns the element type.
func (t *Tensor) DType() DType { return t.dtype }

// Size is the number of elements.
func (t *Tensor) Size() int {
	if t.dtype == Float32 {
		return len(t.f32)
	}
	return len(t.f64)
}

// F32 returns the float32 data (shared, not copied). It panics for float64 tensors.
func (t *Tensor) F32() []float32 {
	if t.dtype != Float32 {
		panic("tensor.F32: tensor is " + t.dtype.String())
	}
	return t.f32
}

// F64 returns the float64 data (shared, not copied). It panics for float32 tensors.
func (t *Tensor) F64() []float64 {
	if t.dtype != Float64 {
		panic("tensor.F64: tensor is " + t.dtype.String())
	}
	return t.f64
}

// Flat returns element i of the flattened tensor as float64.
func (t *Tensor) Flat(i int) float64 {
	if t.dtype == Float32 {
		return float64(t.f32[i])
	}
	return t.f64[i]
}

// SetFlat sets element i of the flattened tensor.
func (t *Tensor) SetFlat(i int, v float64) {
	if t.dtype == Float32 {
		t.f32[i] = float32(v)
	} else {
		t.f64[i] = v
	}
}

// At returns the element at the given index.
func (t *Tensor) At(idx ...int) float64 { return t.Flat(t.offset(idx)) }

// Set sets the element at the given index.
func (t *Tensor) Set(v float64, idx ...int) { t.SetFlat(t.offset(idx), v) }

func (t *Tensor) offset(idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.At: index %v for shape %v", idx, t.shape))
	}
	off := 0
	for i, k := range idx {
		if k < 0 || k >= t.shape[i] {
			panic(fmt.Sprintf("tensor.At: index %v out of range for shape %v", idx, t.shape))
		}
		off = off*t.shape[i] + k
	}
	return off
}

// Item returns the single element of a one-element tensor.
func (t *Tensor) Item() float64 {
	if t.Size() != 1 {
		panic(fmt.Sprintf("tensor.Item: shape %v has %d elements", t.shape, t.Size()))
	}
	return t.Flat(0)
}

// Values returns a float64 copy of the data.
func (t *Tensor) Values() []float64 {
	out := make([]float64, t.Size())
	for i := range out {
		out[i] = t.Flat(i)
	}
	return out
}

// Fill sets every element to v, in place.
func (t *Tensor) Fill(v float64) {
	if t.dtype == Float32 {
		f := float32(v)
		for i := range t.f32 {
			t.f32[i] = f
		}
	} else {
		for i := range t.f64 {
			t.f64[i] = v
		}
	}
}

// CopyFrom copies src's data into t, in place. Shapes must have equal size and dtypes match.
func (t *Tensor) CopyFrom(src *Tensor) {
	if t.dtype != src.dtype || t.Size() != src.Size() {
		panic(fmt.Sprintf("tensor.CopyFrom: %v%v from %v%v", t.dtype, t.shape, src.dtype, src.shape))
	}
	if t.dtype == Float32 {
		copy(t.f32, src.f32)
	} else {
		copy(t.f64, src.f64)
	}
}

// Clone returns a deep copy (in t's arena).
func (t *Tensor) Clone() *Tensor {
	c := t.arena.empty(t.dtype, t.shape...)
	c.CopyFrom(t)
	return c
}

// As returns t converted to dtype dt (t itself if it already has that dtype).
func (t *Tensor) As(dt DType) *Tensor {
	if t.dtype == dt {
		return t
	}
	c := t.arena.empty(dt, t.shape...)
	if dt == Float64 {
		for i, v := range t.f32 {
			c.f64[i] = float64(v)
		}
	} else {
		for i, v := range t.f64 {
			c.f32[i] = float32(v)
		}
	}
	return c
}

// Reshape returns a tensor sharing t's data with a new shape. One dimension may be -1.
func (t *Tensor) Reshape(shape ...int) *Tensor {
	var buf [4]int
	shape = append(buf[:0], shape...) // a copy to fill in the -1 (panics print copies, so that buf stays on the stack)
	infer, n := -1, 1
	for i, d := range shape {
		if d == -1 {
			if infer >= 0 {
				panic(fmt.Sprintf("tensor.Reshape: more than one -1 in %v", cloneInts(shape)))
			}
			infer = i
			continue
		}
		if d < 0 {
			panic(fmt.Sprintf("tensor.Reshape: negative dimension in %v", cloneInts(shape)))
		}
		n *= d
	}
	if infer >= 0 {
		if n == 0 || t.Size()%n != 0 {
			panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v to %v", t.shape, cloneInts(shape)))
		}
		shape[infer] = t.Size() / n
		n *= shape[infer]
	}
	if n != t.Size() {
		panic(fmt.Sprintf("tensor.Reshape: cannot reshape %v (%d elements) to %v", t.shape, t.Size(), cloneInts(shape)))
	}
	return t.view(shape)
}

// header returns a tensor without storage, of a copy of shape.
func header(shape []int, dt DType, a *Arena) *Tensor {
	t := new(Tensor)
	t.setHeader(shape, dt, a)
	return t
}

// setHeader makes t a tensor without storage, of a copy of shape.
func (t *Tensor) setHeader(shape []int, dt DType, a *Arena) {
	*t = Tensor{dtype: dt, arena: a}
	if len(shape) <= len(t.dims) {
		t.shape = t.dims[:len(shape):len(shape)]
		copy(t.shape, shape)
	} else {
		t.shape = cloneInts(shape)
	}
}

// InArena returns a tensor sharing t's data (not copied) that belongs to
// a: what is computed from it takes its storage from a during a's Step.
// A training step wraps its minibatch with it.
func (t *Tensor) InArena(a *Arena) *Tensor {
	return &Tensor{shape: t.shape, dtype: t.dtype, f32: t.f32, f64: t.f64, arena: a}
}

// SetArena makes t belong to a (nil: to none) in place: for tensors a
// computation owns for good, such as parameters, whose results should come
// from the computation's arena.
func (t *Tensor) SetArena(a *Arena) { t.arena = a }

// Arena returns the arena t belongs to, or nil.
func (t *Tensor) Arena() *Arena { return t.arena }

// HasNaNOrInf reports whether any element is NaN or infinite.
func (t *Tensor) HasNaNOrInf() bool {
	// NaN and ±Inf are the values whose exponent bits are all ones.
	if t.dtype == Float32 {
		bad, n := vecNonFinite(t.f32)
		if bad {
			return true
		}
		for _, v := range t.f32[n:] {
			if math.Float32bits(v)&0x7f800000 == 0x7f800000 {
				return true
			}
		}
		return false
	}
	for _, v := range t.f64 {
		if math.Float64bits(v)&0x7ff0000000000000 == 0x7ff0000000000000 {
			return true
		}
	}
	return false
}

// String prints small tensors in full and large ones abbreviated.
func (t *Tensor) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Tensor(%v, %v)[", t.dtype, t.shape)
	n := t.Size()
	for i := 0; i < n && i < 16; i++ {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%.6g", t.Flat(i))
	}
	if n > 16 {
		b.WriteString(" ...")
	}
	b.WriteString("]")
	return b.String()
}

// SameShape reports whether a and b have identical shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// SizeOf returns the number of elements of a shape.
func SizeOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func checkShape(op string, shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.%s: negative dimension in shape %v", op, cloneInts(shape))) // a copy: shape stays off the heap
		}
		n *= d
	}
	return n
}

func cloneInts(s []int) []int {
	c := make([]int, len(s))
	copy(c, s)
	return c
}

func normAxis(op string, ax, rank int) int {
	if ax < 0 {
		ax += rank
	}
	if ax < 0 || ax >= rank {
		panic(fmt.Sprintf("tensor.%s: axis out of range for rank %d", op, rank))
	}
	return ax
}

func sameDType(op string, a, b *Tensor) {
	if a.dtype != b.dtype {
		panic(fmt.Sprintf("tensor.%s: dtype mismatch %v%v and %v%v", op, a.dtype, a.shape, b.dtype, b.shape))
	}
}
