package tensor

import (
	"fmt"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestKeptSumsSameBits: a sum over every axis but one (a convolution's
// bias gradient) runs sixteen kept indices at a time in vector lanes; it
// must give the general loop's bits (the vector kernels off), on one worker
// and on three, with kept sizes that fill blocks of sixteen or leave some
// over, and the kept axis first, inside or last.
func TestKeptSumsSameBits(t *testing.T) {
	if !hasVecMath {
		t.Skip("no vector kernels on this CPU/build")
	}
	defer restoreSplitting()()
	rng := NewRNG(6)
	for _, c := range []struct {
		shape []int
		axes  []int
	}{
		{[]int{10, 32, 4, 4}, []int{0, 2, 3}},
		{[]int{7, 35, 3, 5}, []int{0, 2, 3}},
		{[]int{3, 16, 33}, []int{0, 2}},
		{[]int{40, 17, 2}, []int{0, 2}},
		{[]int{5, 2, 48}, []int{0, 1}},
		{[]int{48, 3, 5}, []int{1, 2}},
	} {
		x := rng.Normal(Float32, 0, 1, c.shape...)
		hasVecMath = false
		want := Sum(x, true, c.axes...)
		hasVecMath = true
		for _, split := range []bool{false, true} {
			parallel.Workers, grainElems = 1, 1<<14
			if split {
				parallel.Workers, grainElems = 3, 2*block
			}
			sameBits(t, fmt.Sprintf("%v over %v, split %v", c.shape, c.axes, split), Sum(x, true, c.axes...), want)
		}
	}
}

// BenchmarkKeptSums sums a [100, 32, 32, 32] activation over every axis
// but the channels (a convolution's bias gradient), sixteen channels in
// vector lanes or (general) one running sum at a time:
//
//	go test ./tensor -run XXX -bench KeptSums
func BenchmarkKeptSums(b *testing.B) {
	x := NewRNG(1).Normal(Float32, 0, 1, 100, 32, 32, 32)
	for _, vec := range []bool{true, false} {
		b.Run(map[bool]string{true: "vector", false: "general"}[vec], func(b *testing.B) {
			saved := hasVecMath
			defer func() { hasVecMath = saved }()
			hasVecMath = hasVecMath && vec
			for b.Loop() {
				Sum(x, true, 0, 2, 3)
			}
		})
	}
}

// restoreSplitting returns a function that restores the worker count, the
// grain and the vector-kernel switch as they are now: tests that change
// them defer it.
func restoreSplitting() func() {
	w, g, v := parallel.Workers, grainElems, hasVecMath
	return func() { parallel.Workers, grainElems, hasVecMath = w, g, v }
}

// vectorSettings lists the settings of hasVecMath this CPU and build can
// test: without the vector kernels, and with them where they run.
func vectorSettings() []bool {
	if hasVecMath {
		return []bool{false, true}
	}
	return []bool{false}
}
