package checkpoint

import (
	"fmt"
	"math"
)

// DType is a safetensors element type name as it appears in the header.
type DType string

// The element types this package reads and writes.
const (
	DTypeF32 DType = "F32" // IEEE 754 binary32
	DTypeF64 DType = "F64" // IEEE 754 binary64
	DTypeI64 DType = "I64" // two's-complement signed 64-bit integer
)

// Size returns the size of one element in bytes, or 0 if d is not a dtype
// this package supports.
func (d DType) Size() int {
	switch d {
	case DTypeF32:
		return 4
	case DTypeF64, DTypeI64:
		return 8
	}
	return 0
}

// otherDTypes are dtypes of the safetensors specification that this package
// does not support; they get a more helpful error than a misspelled name.
var otherDTypes = map[DType]bool{
	"BOOL": true, "U8": true, "I8": true, "F8_E5M2": true, "F8_E4M3": true,
	"I16": true, "U16": true, "F16": true, "BF16": true, "I32": true,
	"U32": true, "U64": true,
}

func checkDType(d DType) error {
	if d.Size() > 0 {
		return nil
	}
	if otherDTypes[d] {
		return fmt.Errorf("unsupported dtype %s (supported: F32, F64, I64)", d)
	}
	return fmt.Errorf("unknown dtype %q", string(d))
}

// Tensor is one named array of a checkpoint: a dtype, a shape and the
// elements in row-major order. Exactly one of F32, F64 and I64 holds the
// data, the one matching DType; the others are nil. A scalar has an empty
// (or nil) Shape and one element; a shape containing 0 has no elements.
//
// Use the constructors [F32], [F64] and [I64] to build tensors.
type Tensor struct {
	DType DType
	Shape []int
	F32   []float32
	F64   []float64
	I64   []int64
}

// F32 returns a float32 tensor of the given shape. It does not copy data; it
// copies shape.
func F32(shape []int, data []float32) Tensor {
	return Tensor{DType: DTypeF32, Shape: cloneShape(shape), F32: data}
}

// F64 returns a float64 tensor of the given shape. It does not copy data; it
// copies shape.
func F64(shape []int, data []float64) Tensor {
	return Tensor{DType: DTypeF64, Shape: cloneShape(shape), F64: data}
}

// I64 returns an int64 tensor of the given shape. It does not copy data; it
// copies shape.
func I64(shape []int, data []int64) Tensor {
	return Tensor{DType: DTypeI64, Shape: cloneShape(shape), I64: data}
}

func cloneShape(shape []int) []int {
	return append(make([]int, 0, len(shape)), shape...)
}

// NumElements returns the product of the shape (1 for a scalar), or -1 if a
// dimension is negative or the product overflows.
func (t Tensor) NumElements() int {
	n, err := numElements(t.Shape)
	if err != nil {
		return -1
	}
	return n
}

// numElements returns the product of shape, rejecting negative dimensions
// and products whose byte size (for 8-byte elements) would overflow int64.
func numElements(shape []int) (int, error) {
	const limit = math.MaxInt64 / 8
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("shape %v has a negative dimension", shape)
		}
		if d == 0 {
			n = 0
			continue
		}
		if n > limit/int64(d) {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= int64(d)
	}
	if n > math.MaxInt {
		return 0, fmt.Errorf("shape %v is too large", shape)
	}
	return int(n), nil
}

// Validate reports whether t is well formed: a supported dtype, a valid
// shape, a data slice of the dtype whose length is the product of the shape,
// and no data in the slices of the other dtypes.
func (t Tensor) Validate() error {
	if err := checkDType(t.DType); err != nil {
		return err
	}
	n, err := numElements(t.Shape)
	if err != nil {
		return err
	}
	lens := map[DType]int{DTypeF32: len(t.F32), DTypeF64: len(t.F64), DTypeI64: len(t.I64)}
	for _, d := range []DType{DTypeF32, DTypeF64, DTypeI64} {
		switch {
		case d == t.DType && lens[d] != n:
			return fmt.Errorf("dtype %s with shape %v needs %d elements, but %s holds %d", t.DType, t.Shape, n, d, lens[d])
		case d != t.DType && lens[d] != 0:
			return fmt.Errorf("dtype is %s, but %s also holds %d elements", t.DType, d, lens[d])
		}
	}
	return nil
}
