package tensor

import (
	"fmt"
	"math"
	"testing"
)

// The row loops for small 2-D results give the general strided loops'
// results bit for bit: broadcasts of rows, columns, scalars and vectors in
// either operand (short rows also through the vector kernels), the four
// operations, sums and maxima over either axis or all of them (also of
// vectors), BroadcastTo (also to vectors), float32 and float64.
func TestRowLoopsMatchStridedLoops(t *testing.T) {
	rng := NewRNG(9)
	// 37 and 40 rows also take the vector kernels sixteen rows at a time
	// (short rows' arithmetic, long rows' sums).
	shapes := [][]int{{7, 5}, {5}, {1, 5}, {7, 1}, {1, 1}, {1}, {}, {1, 7}, {3, 20}, {20}, {3, 1}, {37, 5}, {37, 1}, {40, 4}, {4}, {40, 1}, {37, 21}, {21}}
	for _, dt := range []DType{Float32, Float64} {
		for _, sa := range shapes {
			for _, sb := range shapes {
				if len(sa) < 2 && len(sb) < 2 {
					continue
				}
				a, b := rng.Normal(dt, 0, 1, sa...), rng.Normal(dt, 1.5, 0.3, sb...)
				for _, op := range []func(a, b *Tensor) *Tensor{Add, Sub, Mul, Div} {
					got, ok := tryOp(func() *Tensor { return op(a, b) })
					rowLoops = false
					want, wok := tryOp(func() *Tensor { return op(a, b) })
					rowLoops = true
					if ok != wok {
						t.Fatalf("%v %v %v: row loops panic %v, strided %v", dt, sa, sb, !ok, !wok)
					}
					if ok {
						sameBits(t, fmt.Sprintf("%v %v op %v", dt, sa, sb), got, want)
					}
				}
			}
			for _, from := range shapes {
				v := rng.Normal(dt, 0, 1, from...)
				got, ok := tryOp(func() *Tensor { return BroadcastTo(v, sa) })
				rowLoops = false
				want, wok := tryOp(func() *Tensor { return BroadcastTo(v, sa) })
				rowLoops = true
				if ok != wok {
					t.Fatalf("BroadcastTo %v -> %v: row loops panic %v, strided %v", from, sa, !ok, !wok)
				}
				if ok {
					sameBits(t, fmt.Sprintf("BroadcastTo %v -> %v", from, sa), got, want)
				}
			}
			if len(sa) == 0 {
				continue
			}
			x := rng.Normal(dt, 0, 1, sa...)
			axesSets := [][]int{{0}, {1}, {0, 1}, nil}
			if len(sa) == 1 {
				axesSets = [][]int{{0}, nil}
			}
			for _, axes := range axesSets {
				for _, keep := range []bool{false, true} {
					for _, f := range []func(*Tensor, bool, ...int) *Tensor{Sum, Max} {
						got := f(x, keep, axes...)
						rowLoops = false
						want := f(x, keep, axes...)
						rowLoops = true
						sameBits(t, fmt.Sprintf("%v %v reduce %v keep %v", dt, sa, axes, keep), got, want)
					}
				}
			}
		}
	}
}

func tryOp(f func() *Tensor) (t *Tensor, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f(), true
}

func sameBits(t *testing.T, what string, got, want *Tensor) {
	t.Helper()
	if !SameShape(got.Shape(), want.Shape()) {
		t.Fatalf("%s: shape %v, want %v", what, got.Shape(), want.Shape())
	}
	for i := range want.Size() {
		// Bits, so that -0 and +0 differ; any NaN matches any NaN.
		if g, w := got.Flat(i), want.Flat(i); math.Float64bits(g) != math.Float64bits(w) && !(g != g && w != w) {
			t.Fatalf("%s: element %d %v, want %v", what, i, g, w)
		}
	}
}

// BenchmarkSmallBroadcast times row loops on small 2-D operands and, in an
// arena step, a [100, 1] column broadcast to [100, 400] ("column400": a row
// sum's cotangent spread over a Frey GRBM's hidden units) and a bias row
// added to [100, 400] ("addrow400"):
//
//	go test ./tensor -run XXX -bench SmallBroadcast -benchtime 20000x
func BenchmarkSmallBroadcast(b *testing.B) {
	rng := NewRNG(1)
	x := rng.Normal(Float32, 0, 1, 100, 4)
	bias := rng.Normal(Float32, 0, 1, 4)
	col := rng.Normal(Float32, 0, 1, 100, 1)
	a := NewArena()
	wide := rng.Normal(Float32, 0, 1, 100, 1).InArena(a) // a row sum's cotangent, spread over H = 400
	xw := rng.Normal(Float32, 0, 1, 100, 400).InArena(a) // a batch's hidden inputs, and their bias
	bw := rng.Normal(Float32, 0, 1, 400).InArena(a)
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"sum0", func() { Sum(x, false, 0) }},
		{"sum1", func() { Sum(x, true, 1) }},
		{"addrow", func() { Add(x, bias) }},
		{"mulcol", func() { Mul(x, col) }},
		{"broadcast", func() { BroadcastTo(bias, []int{100, 4}) }},
		{"column400", func() { a.Step(func() { BroadcastTo(wide, []int{100, 400}) }) }},
		{"addrow400", func() { a.Step(func() { Add(xw, bw) }) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.f()
			}
		})
	}
}

// HasNaNOrInf on long float32 tensors finds a NaN or an infinity at any position, in the vector
// prefix and in the tail, and nothing in finite values (the largest, the
// smallest subnormal, negative zero).
func TestHasNaNOrInfLong(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 200, 1000} {
		x := New(Float32, n)
		for i := range n {
			x.f32[i] = [...]float32{3.4028235e38, -3.4028235e38, 1e-45, float32(math.Copysign(0, -1)), 1}[i%5]
		}
		if x.HasNaNOrInf() {
			t.Fatalf("n=%d: finite values reported", n)
		}
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			for _, at := range []int{0, n / 2, n - 1} {
				old := x.f32[at]
				x.f32[at] = bad
				if !x.HasNaNOrInf() {
					t.Fatalf("n=%d: %v at %d missed", n, bad, at)
				}
				x.f32[at] = old
			}
		}
	}
}

// BenchmarkRowSums sums the rows of a [100, 560] float32 tensor (a GRBM's
// quadratic term per example): sixteen rows at a time in vector lanes, or
// (scalar) one row after another.
func BenchmarkRowSums(b *testing.B) {
	x := NewRNG(1).Normal(Float32, 0, 1, 100, 560)
	for _, vec := range []bool{true, false} {
		b.Run(map[bool]string{true: "vector", false: "scalar"}[vec], func(b *testing.B) {
			saved := hasVecMath
			defer func() { hasVecMath = saved }()
			hasVecMath = hasVecMath && vec
			for range b.N {
				Sum(x, false, 1)
			}
		})
	}
}

// TestBroadcastColumnCopiesBits: broadcasting a column fills each row with
// its value's exact bits (the vector fill on 16-value blocks, the scalar
// loop on the rest): signed zeros, a NaN's payload, infinities,
// subnormals, at widths around the blocks.
func TestBroadcastColumnCopiesBits(t *testing.T) {
	vals := []uint32{0x80000000, 0, 0x7fc01234, 0xffa00001, 0x7f800000, 0xff800000, 0x00000001, 0x807fffff, 0x3f9e0419}
	col := New(Float32, len(vals), 1)
	for i, b := range vals {
		col.f32[i] = math.Float32frombits(b)
	}
	for _, w := range []int{1, 15, 16, 17, 33, 400} {
		for _, rowLoopsOn := range []bool{true, false} {
			rowLoops = rowLoopsOn
			got := BroadcastTo(col, []int{len(vals), w})
			rowLoops = true
			for r, b := range vals {
				for j := range w {
					if g := math.Float32bits(got.f32[r*w+j]); g != b {
						t.Fatalf("width %d, row loops %v: element [%d, %d] has bits %#x, want %#x", w, rowLoopsOn, r, j, g, b)
					}
				}
			}
		}
	}
}
