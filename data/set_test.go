package data

import (
	"slices"
	"testing"
)

func TestSetHelpers(t *testing.T) {
	s, err := NewSet([]float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, []int{7, 8, 9}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 3 || s.Dim() != 4 {
		t.Fatalf("N, Dim = %d, %d; want 3, 4", s.N, s.Dim())
	}
	if r := s.Row(1); !slices.Equal(r, []float32{4, 5, 6, 7}) || cap(r) != 4 {
		t.Errorf("Row(1) = %v (cap %d)", r, cap(r))
	}
	b := s.Batch([]int{2, 0}, nil)
	if !slices.Equal(b, []float32{8, 9, 10, 11, 0, 1, 2, 3}) {
		t.Errorf("Batch = %v", b)
	}
	buf := make([]float32, 0, 100)
	b2 := s.Batch([]int{1}, buf)
	if &b2[0] != &buf[:1][0] || !slices.Equal(b2, []float32{4, 5, 6, 7}) {
		t.Errorf("Batch did not reuse the buffer: %v", b2)
	}
	if l := s.BatchLabels([]int{2, 0}, nil); !slices.Equal(l, []int{9, 7}) {
		t.Errorf("BatchLabels = %v", l)
	}
	sub := s.Slice(1, 3)
	if sub.N != 2 || sub.Row(0)[0] != 4 || !slices.Equal(sub.Labels, []int{8, 9}) {
		t.Errorf("Slice = %+v", sub)
	}
	if (&Set{Shape: []int{2}}).BatchLabels([]int{0}, nil) != nil {
		t.Error("BatchLabels without labels should be nil")
	}
}

func TestNewSetErrors(t *testing.T) {
	for _, c := range []struct {
		x      []float32
		labels []int
		shape  []int
	}{
		{make([]float32, 5), nil, []int{2}},
		{make([]float32, 4), nil, nil},
		{make([]float32, 4), nil, []int{0, 2}},
		{make([]float32, 4), []int{1}, []int{2}},
	} {
		if _, err := NewSet(c.x, c.labels, c.shape...); err == nil {
			t.Errorf("NewSet(len %d, %v, %v): no error", len(c.x), c.labels, c.shape)
		}
	}
}
