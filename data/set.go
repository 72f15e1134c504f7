package data

import "fmt"

// Set is a data set of N examples stored as a row-major float32 matrix:
// example i occupies X[i*Dim() : (i+1)*Dim()].
type Set struct {
	// X holds the N examples back to back, len(X) == N*Dim().
	X []float32
	// N is the number of examples.
	N int
	// Shape is the shape of one example, e.g. [2] for the checkerboard,
	// [1, 28, 20] for Frey faces, [1, 32, 32] for MNIST and [3, 32, 32]
	// for CIFAR-10 (channels, height, width).
	Shape []int
	// Labels holds one class label per example, or is nil when the data
	// set has none.
	Labels []int
}

// Split groups the parts of a data set. Val is nil for data sets that
// have no validation part (MNIST, CIFAR-10, and the checkerboard, whose
// validation points are part of Train; see CheckerboardSplit).
type Split struct {
	Train, Val, Test *Set
}

// NewSet wraps x as a Set of examples with the given per-example shape.
// labels may be nil; otherwise it needs one entry per example.
func NewSet(x []float32, labels []int, shape ...int) (*Set, error) {
	d := 1
	for _, s := range shape {
		if s <= 0 {
			return nil, fmt.Errorf("data: invalid example shape %v", shape)
		}
		d *= s
	}
	if len(shape) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("data: %d values do not form whole examples of shape %v", len(x), shape)
	}
	n := len(x) / d
	if labels != nil && len(labels) != n {
		return nil, fmt.Errorf("data: %d labels for %d examples", len(labels), n)
	}
	return &Set{X: x, N: n, Shape: append([]int(nil), shape...), Labels: labels}, nil
}

// Dim returns the number of values in one example (the product of Shape).
func (s *Set) Dim() int {
	d := 1
	for _, v := range s.Shape {
		d *= v
	}
	return d
}

// Row returns example i as a sub-slice of X (no copy; its capacity is
// clipped so that appending to it cannot overwrite example i+1).
func (s *Set) Row(i int) []float32 {
	d := s.Dim()
	return s.X[i*d : (i+1)*d : (i+1)*d]
}

// Batch gathers the examples idx into dst, back to back, and returns
// dst[:len(idx)*Dim()]. dst is reused when its capacity suffices and
// replaced by a new slice otherwise, so a training loop can pass the
// previous result back in and allocate only once. It panics if an index
// is out of range.
func (s *Set) Batch(idx []int, dst []float32) []float32 {
	d := s.Dim()
	need := len(idx) * d
	if cap(dst) < need {
		dst = make([]float32, need)
	}
	dst = dst[:need]
	if d < 16 {
		// Short rows (the checkerboard's 2) without a call per row.
		for k, i := range idx {
			row, src := dst[k*d:(k+1)*d], s.X[i*d:(i+1)*d]
			for j := range row {
				row[j] = src[j]
			}
		}
		return dst
	}
	for k, i := range idx {
		copy(dst[k*d:(k+1)*d], s.X[i*d:(i+1)*d])
	}
	return dst
}

// BatchLabels gathers the labels of the examples idx into dst the same
// way Batch does. It returns nil when the set has no labels.
func (s *Set) BatchLabels(idx []int, dst []int) []int {
	if s.Labels == nil {
		return nil
	}
	if cap(dst) < len(idx) {
		dst = make([]int, len(idx))
	}
	dst = dst[:len(idx)]
	for k, i := range idx {
		dst[k] = s.Labels[i]
	}
	return dst
}

// Slice returns the examples [lo, hi) as a Set sharing memory with s.
func (s *Set) Slice(lo, hi int) *Set {
	if lo < 0 || hi > s.N || lo > hi {
		panic(fmt.Sprintf("data: Slice(%d, %d) out of range for %d examples", lo, hi, s.N))
	}
	d := s.Dim()
	out := &Set{X: s.X[lo*d : hi*d : hi*d], N: hi - lo, Shape: append([]int(nil), s.Shape...)}
	if s.Labels != nil {
		out.Labels = s.Labels[lo:hi:hi]
	}
	return out
}
