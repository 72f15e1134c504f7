package tensor

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
)

// naiveConv2d is the direct 7-loop definition of Conv2d, in float64.
func naiveConv2d(x, w *Tensor, stride, pad int) *Tensor {
	n, c, h, wd := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	o, kh, kw := w.shape[0], w.shape[2], w.shape[3]
	ho, wo := (h+2*pad-kh)/stride+1, (wd+2*pad-kw)/stride+1
	out := New(Float64, n, o, ho, wo)
	for b := 0; b < n; b++ {
		for oc := 0; oc < o; oc++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < wo; j++ {
					var s float64
					for ic := 0; ic < c; ic++ {
						for p := 0; p < kh; p++ {
							for q := 0; q < kw; q++ {
								ih, iw := i*stride-pad+p, j*stride-pad+q
								if ih < 0 || ih >= h || iw < 0 || iw >= wd {
									continue
								}
								s += w.At(oc, ic, p, q) * x.At(b, ic, ih, iw)
							}
						}
					}
					out.Set(s, b, oc, i, j)
				}
			}
		}
	}
	return out
}

func naiveAvgPool2d(x *Tensor, k int) *Tensor {
	n, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	out := New(Float64, n, c, h/k, w/k)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			for i := 0; i < h/k; i++ {
				for j := 0; j < w/k; j++ {
					var s float64
					for p := 0; p < k; p++ {
						for q := 0; q < k; q++ {
							s += x.At(b, ch, i*k+p, j*k+q)
						}
					}
					out.Set(s/float64(k*k), b, ch, i, j)
				}
			}
		}
	}
	return out
}

type convCase struct {
	x, w        []int
	stride, pad int
}

var convCases = []convCase{
	{[]int{2, 3, 5, 7}, []int{4, 3, 3, 3}, 1, 0},
	{[]int{2, 3, 5, 7}, []int{4, 3, 3, 3}, 1, 1},
	{[]int{3, 2, 7, 6}, []int{3, 2, 3, 3}, 2, 0},
	{[]int{3, 2, 7, 6}, []int{3, 2, 3, 3}, 2, 1},
	{[]int{2, 4, 6, 5}, []int{3, 4, 1, 1}, 1, 0}, // direct path, no im2col
	{[]int{2, 4, 6, 5}, []int{3, 4, 1, 1}, 2, 0},
	{[]int{2, 4, 6, 5}, []int{3, 4, 1, 1}, 1, 1},
	{[]int{1, 2, 4, 9}, []int{5, 2, 2, 3}, 3, 2},
	{[]int{2, 1, 3, 3}, []int{2, 1, 3, 3}, 1, 3},   // padding wider than the kernel
	{[]int{5, 3, 8, 8}, []int{6, 3, 3, 3}, 1, 1},   // enough samples to split over cores
	{[]int{2, 2, 6, 7}, []int{3, 2, 5, 5}, 1, 2},   // row-shift im2col with shifts of ±2
	{[]int{2, 2, 6, 7}, []int{3, 2, 3, 3}, 1, 2},   // stride 1, wider output: generic im2col, flipped-kernel input gradient
	{[]int{2, 2, 5, 4}, []int{3, 2, 2, 2}, 1, 1},   // even kernel
	{[]int{2, 2, 5, 4}, []int{3, 2, 3, 1}, 1, 1},   // non-square kernel: col2im input gradient
	{[]int{2, 4, 8, 8}, []int{5, 4, 3, 3}, 1, 1},   // shifted forward (4 planes by the vector kernel, 1 by axpy) and input gradient (4 planes)
	{[]int{2, 4, 8, 12}, []int{4, 4, 3, 3}, 1, 1},  // shifted forward: a 64-lane block and a 32-lane one
	{[]int{2, 2, 32, 32}, []int{3, 2, 3, 3}, 1, 1}, // large plane, few channels: shifted weight gradient
	{[]int{2, 2, 32, 32}, []int{3, 2, 5, 5}, 1, 2}, // the same with shifts of ±2
}

func (c convCase) String() string {
	return fmt.Sprintf("x%v_w%v_s%d_p%d", c.x, c.w, c.stride, c.pad)
}

// convRelDiff returns max|a-b| / max(max|b|, 1).
func convRelDiff(a, b *Tensor) float64 {
	var d, s float64
	for i := 0; i < b.Size(); i++ {
		d = math.Max(d, math.Abs(a.Flat(i)-b.Flat(i)))
		s = math.Max(s, math.Abs(b.Flat(i)))
	}
	return d / math.Max(s, 1)
}

// forConvCases runs f on every convCase and element type, once with one
// sample per GEMM and once with the default grouping (which puts all of a
// chunk's samples in one GEMM for the small planes here).
func forConvCases(t *testing.T, f func(t *testing.T, i int, c convCase, dt DType)) {
	defer func(v int) { gemmMinCols = v }(gemmMinCols)
	for _, minCols := range []int{1, 256} {
		gemmMinCols = minCols
		for i, c := range convCases {
			for _, dt := range []DType{Float64, Float32} {
				t.Run(fmt.Sprintf("%v/%v/mincols%d", c, dt, minCols), func(t *testing.T) { f(t, i, c, dt) })
			}
		}
	}
}

func TestConv2dMatchesNaive(t *testing.T) {
	forConvCases(t, func(t *testing.T, i int, c convCase, dt DType) {
		rng := NewRNG(uint64(i))
		x := rng.Normal(dt, 0, 1, c.x...)
		w := rng.Normal(dt, 0, 1, c.w...)
		got := Conv2d(x, w, c.stride, c.pad)
		want := naiveConv2d(x.As(Float64), w.As(Float64), c.stride, c.pad)
		if !SameShape(got.Shape(), want.Shape()) {
			t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
		}
		if got.DType() != dt {
			t.Fatalf("dtype %v, want %v", got.DType(), dt)
		}
		tol := 1e-12
		if dt == Float32 {
			tol = 1e-5
		}
		if e := convRelDiff(got, want); e > tol {
			t.Fatalf("relative error %.3g > %.3g", e, tol)
		}
	})
}

// TestConv2dBiasSameBits: Conv2dBias adds the bias inside each of the
// convolution's paths (shifted planes, plane GEMMs, one sample per GEMM,
// grouped samples, 1x1) and must give the bits of Conv2d followed by a
// broadcast Add, with and without the vector kernels, on 1 and 3 workers.
func TestConv2dBiasSameBits(t *testing.T) {
	defer restoreSplitting()()
	forConvCases(t, func(t *testing.T, i int, c convCase, dt DType) {
		rng := NewRNG(uint64(40 + i))
		x := rng.Normal(dt, 0, 1, c.x...)
		w := rng.Normal(dt, 0, 1, c.w...)
		b := rng.Normal(dt, 0, 1, c.w[0])
		for _, vec := range vectorSettings() {
			for _, workers := range []int{1, 3} {
				hasVecMath, parallel.Workers = vec, workers
				got := Conv2dBias(x, w, b, c.stride, c.pad)
				want := Add(Conv2d(x, w, c.stride, c.pad), b.Reshape(c.w[0], 1, 1))
				if !SameShape(got.Shape(), want.Shape()) {
					t.Fatalf("shape %v, want %v", got.Shape(), want.Shape())
				}
				for k := 0; k < want.Size(); k++ {
					if g, e := got.Flat(k), want.Flat(k); math.Float64bits(g) != math.Float64bits(e) {
						t.Fatalf("vector kernels %v, %d workers: entry %d is %v, Conv2d + bias gives %v", vec, workers, k, g, e)
					}
				}
			}
		}
	})
}

func convDot(a, b *Tensor) float64 {
	var s float64
	for i := 0; i < a.Size(); i++ {
		s += a.Flat(i) * b.Flat(i)
	}
	return s
}

// TestConv2dAdjoints checks <Conv2d(x,w), y> = <x, InputGrad(y,w)> = <w, WeightGrad(x,y)>.
func TestConv2dAdjoints(t *testing.T) {
	forConvCases(t, func(t *testing.T, i int, c convCase, dt DType) {
		rng := NewRNG(uint64(50 + i))
		x := rng.Normal(dt, 0, 1, c.x...)
		w := rng.Normal(dt, 0, 1, c.w...)
		y := rng.Normal(dt, 0, 1, Conv2d(x, w, c.stride, c.pad).Shape()...)
		t0 := convDot(Conv2d(x, w, c.stride, c.pad), y)
		gx := Conv2dInputGrad(y, w, c.x, c.stride, c.pad)
		gw := Conv2dWeightGrad(x, y, c.w, c.stride, c.pad)
		if !SameShape(gx.Shape(), c.x) || !SameShape(gw.Shape(), c.w) {
			t.Fatalf("gradient shapes %v, %v; want %v, %v", gx.Shape(), gw.Shape(), c.x, c.w)
		}
		t1, t2 := convDot(x, gx), convDot(w, gw)
		tol := 1e-12
		if dt == Float32 {
			tol = 1e-5
		}
		scale := math.Max(math.Abs(t0), 1)
		if math.Abs(t1-t0)/scale > tol || math.Abs(t2-t0)/scale > tol {
			t.Fatalf("<conv(x,w),y> = %.12g, <x,InputGrad> = %.12g, <w,WeightGrad> = %.12g", t0, t1, t2)
		}
	})
}

// TestConv2dGradsMatchNaive checks the adjoints elementwise against the
// gradient of the naive convolution, computed by placing unit vectors.
func TestConv2dGradsMatchNaive(t *testing.T) {
	c := convCase{[]int{2, 2, 5, 4}, []int{3, 2, 3, 3}, 2, 1}
	rng := NewRNG(7)
	x := rng.Normal(Float64, 0, 1, c.x...)
	w := rng.Normal(Float64, 0, 1, c.w...)
	y := rng.Normal(Float64, 0, 1, Conv2d(x, w, c.stride, c.pad).Shape()...)
	gx := Conv2dInputGrad(y, w, c.x, c.stride, c.pad)
	gw := Conv2dWeightGrad(x, y, c.w, c.stride, c.pad)
	for i := 0; i < x.Size(); i++ {
		e := New(Float64, c.x...)
		e.SetFlat(i, 1)
		if want := convDot(naiveConv2d(e, w, c.stride, c.pad), y); math.Abs(gx.Flat(i)-want) > 1e-12 {
			t.Fatalf("InputGrad[%d] = %v, want %v", i, gx.Flat(i), want)
		}
	}
	for i := 0; i < w.Size(); i++ {
		e := New(Float64, c.w...)
		e.SetFlat(i, 1)
		if want := convDot(naiveConv2d(x, e, c.stride, c.pad), y); math.Abs(gw.Flat(i)-want) > 1e-12 {
			t.Fatalf("WeightGrad[%d] = %v, want %v", i, gw.Flat(i), want)
		}
	}
}

func TestAvgPool2d(t *testing.T) {
	for _, dt := range []DType{Float64, Float32} {
		for _, c := range []struct {
			shape []int
			k     int
		}{
			{[]int{2, 3, 4, 6}, 2},
			{[]int{1, 2, 6, 9}, 3},
			{[]int{2, 2, 3, 5}, 1},
		} {
			t.Run(fmt.Sprintf("%v/k%d/%v", c.shape, c.k, dt), func(t *testing.T) {
				rng := NewRNG(3)
				x := rng.Normal(dt, 0, 1, c.shape...)
				got := AvgPool2d(x, c.k)
				want := naiveAvgPool2d(x.As(Float64), c.k)
				if !SameShape(got.Shape(), want.Shape()) || got.DType() != dt {
					t.Fatalf("got %v%v, want %v%v", got.DType(), got.Shape(), dt, want.Shape())
				}
				tol := 1e-14
				if dt == Float32 {
					tol = 1e-6
				}
				if e := convRelDiff(got, want); e > tol {
					t.Fatalf("relative error %.3g", e)
				}
				// Adjoint identity: <AvgPool(x), y> = <x, AvgUnpool(y)>.
				y := rng.Normal(dt, 0, 1, got.Shape()...)
				u := AvgUnpool2d(y, c.k)
				if !SameShape(u.Shape(), c.shape) {
					t.Fatalf("AvgUnpool2d shape %v, want %v", u.Shape(), c.shape)
				}
				a, b := convDot(got, y), convDot(x, u)
				if math.Abs(a-b) > 10*tol*math.Max(math.Abs(a), 1) {
					t.Fatalf("<pool(x),y> = %.12g, <x,unpool(y)> = %.12g", a, b)
				}
			})
		}
	}
}

func convExpectPanic(t *testing.T, want []string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Fatalf("no panic; want one mentioning %q", want)
		}
		msg := fmt.Sprint(r)
		for _, s := range want {
			if !strings.Contains(msg, s) {
				t.Fatalf("panic %q does not mention %q", msg, s)
			}
		}
	}()
	f()
}

func TestConvPanics(t *testing.T) {
	x := New(Float32, 2, 3, 5, 5)
	w := New(Float32, 4, 2, 3, 3) // wrong channel count
	convExpectPanic(t, []string{"tensor.Conv2d", "[2 3 5 5]", "[4 2 3 3]"}, func() { Conv2d(x, w, 1, 0) })
	convExpectPanic(t, []string{"tensor.Conv2d", "[2 3 5]"}, func() { Conv2d(New(Float32, 2, 3, 5), New(Float32, 4, 3, 3, 3), 1, 0) })
	convExpectPanic(t, []string{"tensor.Conv2d", "[4 3 7 7]"}, func() { Conv2d(x, New(Float32, 4, 3, 7, 7), 1, 0) })
	convExpectPanic(t, []string{"tensor.Conv2d", "stride"}, func() { Conv2d(x, New(Float32, 4, 3, 3, 3), 0, 0) })
	convExpectPanic(t, []string{"tensor.Conv2d", "dtype"}, func() { Conv2d(x, New(Float64, 4, 3, 3, 3), 1, 0) })

	w3 := New(Float32, 4, 3, 3, 3)
	g := New(Float32, 2, 4, 4, 4) // output of x*w3 at pad 0 is [2 4 3 3]
	convExpectPanic(t, []string{"tensor.Conv2dInputGrad", "[2 4 4 4]", "[2 3 5 5]", "[4 3 3 3]"}, func() { Conv2dInputGrad(g, w3, x.Shape(), 1, 0) })
	convExpectPanic(t, []string{"tensor.Conv2dWeightGrad", "[2 4 4 4]", "[2 3 5 5]", "[4 3 3 3]"}, func() { Conv2dWeightGrad(x, g, w3.Shape(), 1, 0) })
	convExpectPanic(t, []string{"tensor.Conv2dWeightGrad", "[2 3 5 5]", "[4 2 3 3]"}, func() { Conv2dWeightGrad(x, g, []int{4, 2, 3, 3}, 1, 0) })

	convExpectPanic(t, []string{"tensor.AvgPool2d", "[2 3 5 5]"}, func() { AvgPool2d(x, 2) })
	convExpectPanic(t, []string{"tensor.AvgPool2d", "[3 5]"}, func() { AvgPool2d(New(Float32, 3, 5), 1) })
	convExpectPanic(t, []string{"tensor.AvgUnpool2d", "[3 5]"}, func() { AvgUnpool2d(New(Float32, 3, 5), 2) })
}

// TestConvReusesBuffers checks that pooled scratch buffers left dirty by one
// call do not leak into the next (im2col must overwrite every element).
func TestConvReusesBuffers(t *testing.T) {
	rng := NewRNG(11)
	x := rng.Normal(Float64, 0, 1, 1, 2, 6, 6)
	w := rng.Normal(Float64, 0, 1, 3, 2, 3, 3)
	want := naiveConv2d(x, w, 2, 1)
	for i := 0; i < 5; i++ {
		// A differently shaped call in between dirties the pool.
		Conv2d(rng.Normal(Float64, 5, 1, 1, 2, 7, 7), w, 1, 0)
		if e := convRelDiff(Conv2d(x, w, 2, 1), want); e > 1e-12 {
			t.Fatalf("call %d: relative error %.3g", i, e)
		}
	}
}

// TestConvParallel splits samples over more workers than this machine may
// have, so the per-chunk scratch buffers and the ordered reduction of weight
// gradient partials are exercised; results must not depend on the split.
func TestConvParallel(t *testing.T) {
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	rng := NewRNG(5)
	for _, c := range []convCase{
		{[]int{9, 4, 12, 12}, []int{16, 4, 3, 3}, 1, 1},
		{[]int{9, 32, 8, 8}, []int{40, 32, 1, 1}, 1, 0},
	} {
		x := rng.Normal(Float64, 0, 1, c.x...)
		w := rng.Normal(Float64, 0, 1, c.w...)
		y := rng.Normal(Float64, 0, 1, naiveConv2d(x, w, c.stride, c.pad).Shape()...)
		run := func(workers int) []*Tensor {
			parallel.Workers = workers
			return []*Tensor{
				Conv2d(x, w, c.stride, c.pad),
				Conv2dInputGrad(y, w, c.x, c.stride, c.pad),
				Conv2dWeightGrad(x, y, c.w, c.stride, c.pad),
			}
		}
		serial, split := run(1), run(4)
		if e := convRelDiff(serial[0], naiveConv2d(x, w, c.stride, c.pad)); e > 1e-12 {
			t.Fatalf("%v: serial Conv2d relative error %.3g", c, e)
		}
		for i := range serial {
			if e := convRelDiff(split[i], serial[i]); e > 1e-12 {
				t.Fatalf("%v: output %d differs between 1 and 4 workers by %.3g", c, i, e)
			}
		}
	}
}

func benchConv(b *testing.B, f func(x, w, g *Tensor) *Tensor) {
	rng := NewRNG(1)
	x := rng.Normal(Float32, 0, 1, 100, 64, 32, 32)
	w := rng.Normal(Float32, 0, 0.05, 128, 64, 3, 3)
	g := rng.Normal(Float32, 0, 1, 100, 128, 32, 32)
	flops := 2.0 * 100 * 128 * 32 * 32 * 64 * 3 * 3
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(x, w, g)
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv2d3x3 is a ResNet-style 3x3 convolution: x [100,64,32,32],
// w [128,64,3,3], stride 1, pad 1, float32 (15.1 GFLOP per call).
func BenchmarkConv2d3x3(b *testing.B) {
	benchConv(b, func(x, w, _ *Tensor) *Tensor { return Conv2d(x, w, 1, 1) })
}

// BenchmarkConv2d3x3InputGrad is the input gradient of BenchmarkConv2d3x3.
func BenchmarkConv2d3x3InputGrad(b *testing.B) {
	benchConv(b, func(x, w, g *Tensor) *Tensor { return Conv2dInputGrad(g, w, x.Shape(), 1, 1) })
}

// BenchmarkConv2d3x3WeightGrad is the weight gradient of BenchmarkConv2d3x3.
func BenchmarkConv2d3x3WeightGrad(b *testing.B) {
	benchConv(b, func(x, w, g *Tensor) *Tensor { return Conv2dWeightGrad(x, g, w.Shape(), 1, 1) })
}

// BenchmarkIm2col3x3 times the non-GEMM part of BenchmarkConv2d3x3 (and of
// the weight gradient): building the patch matrices of all 100 samples.
func BenchmarkIm2col3x3(b *testing.B) {
	x := NewRNG(1).Normal(Float32, 0, 1, 100, 64, 32, 32)
	g := convGeometry("Conv2d", x.Shape(), []int{128, 64, 3, 3}, 1, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parallel.For(g.n, 1, func(lo, hi int) {
			buf := getBuf[float32](g.ckk * g.howo)
			defer putBuf(buf)
			for n := lo; n < hi; n++ {
				im2col(&g, x.f32[n*g.c*g.hw:(n+1)*g.c*g.hw], *buf, g.howo)
			}
		})
	}
}

// BenchmarkCol2im3x3 times the non-GEMM part of BenchmarkConv2d3x3InputGrad.
func BenchmarkCol2im3x3(b *testing.B) {
	dx := New(Float32, 100, 64, 32, 32)
	g := convGeometry("Conv2d", dx.Shape(), []int{128, 64, 3, 3}, 1, 1)
	col := NewRNG(1).Normal(Float32, 0, 1, g.ckk*g.howo).f32
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		parallel.For(g.n, 1, func(lo, hi int) {
			for n := lo; n < hi; n++ {
				col2im(&g, col, dx.f32[n*g.c*g.hw:(n+1)*g.c*g.hw], g.howo)
			}
		})
	}
}

// BenchmarkConvNarrow compares the two ways of computing the 3x3
// convolutions of the MNIST ResNets (batch 100; CPU scale and, from 64→64
// at 32x32, paper scale) and their weight gradients: sums of shifted input
// planes, and im2col + GEMM (see convGeom.shiftedForward and
// .shiftedWeightGrad).
//
//	go test ./tensor -run xxx -bench ConvNarrow -benchtime 20x
func BenchmarkConvNarrow(b *testing.B) {
	for _, s := range [][3]int{{1, 8, 32}, {8, 8, 32}, {8, 16, 32}, {16, 16, 16}, {16, 32, 16}, {32, 32, 8}, {32, 64, 8}, {64, 64, 4}, {64, 64, 8}, {64, 128, 8}, {128, 64, 8}, {32, 32, 32}, {64, 64, 32}, {128, 128, 16}, {256, 256, 8}} {
		c, o, hw := s[0], s[1], s[2]
		rng := NewRNG(1)
		x := rng.Normal(Float32, 0, 1, 100, c, hw, hw)
		w := rng.Normal(Float32, 0, 1, o, c, 3, 3)
		g := rng.Normal(Float32, 0, 1, 100, o, hw, hw)
		geo := convGeometry("Conv2dWeightGrad", x.Shape(), w.Shape(), 1, 1)
		out := New(Float32, 100, o, hw, hw)
		b.Run(fmt.Sprintf("c%d_o%d_%dx%d/fwd/shifted", c, o, hw, hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				conv2dShifted(&geo, x.f32, w.f32, nil, out.f32)
			}
		})
		b.Run(fmt.Sprintf("c%d_o%d_%dx%d/fwd/gemm", c, o, hw, hw), func(b *testing.B) {
			defer func(p int) { shiftedForwardPairs = p }(shiftedForwardPairs)
			shiftedForwardPairs = 0
			for i := 0; i < b.N; i++ {
				Conv2d(x, w, 1, 1)
			}
		})
		dw := New(Float32, w.Shape()...)
		b.Run(fmt.Sprintf("c%d_o%d_%dx%d/wgrad/shifted", c, o, hw, hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				conv2dWeightGradShifted(&geo, x.f32, g.f32, dw.f32)
			}
		})
		b.Run(fmt.Sprintf("c%d_o%d_%dx%d/wgrad/gemm", c, o, hw, hw), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				clear(dw.f32)
				conv2dWeightGradGEMM(&geo, x.f32, g.f32, dw.f32)
			}
		})
	}
}

// BenchmarkAvgUnpool2d is the average pooling's backward pass at the paper
// ResNet's first down block: g [100,64,16,16] -> [100,64,32,32], float32.
func BenchmarkAvgUnpool2d(b *testing.B) {
	g := NewRNG(1).Normal(Float32, 0, 1, 100, 64, 16, 16)
	for b.Loop() {
		AvgUnpool2d(g, 2)
	}
}

// BenchmarkAvgPool2d is the average pooling at the paper ResNet's first
// down block: x [100,64,32,32] -> [100,64,16,16], float32.
func BenchmarkAvgPool2d(b *testing.B) {
	x := NewRNG(1).Normal(Float32, 0, 1, 100, 64, 32, 32)
	for b.Loop() {
		AvgPool2d(x, 2)
	}
}

// TestAvgPool2MatchesLoop: the 2x2 pooling gives the general loop's bits
// (-0 inputs included), both dtypes.
func TestAvgPool2MatchesLoop(t *testing.T) {
	rng := NewRNG(4)
	for _, dt := range []DType{Float32, Float64} {
		x := rng.Normal(dt, 0, 1, 2, 3, 6, 8)
		for i := 0; i < x.Size(); i += 7 {
			x.SetFlat(i, math.Copysign(0, -1))
		}
		for i := range 6 * 8 { // a plane of -0: windows summing to ±0
			x.SetFlat(i, math.Copysign(0, -1))
		}
		h, w, planes := 6, 8, 6
		got, want := New(dt, 2, 3, 3, 4), New(dt, 2, 3, 3, 4)
		if dt == Float32 {
			avgPool(x.f32, got.f32, 0, planes, h, w, 2)
			avgPoolLoop(x.f32, want.f32, 0, planes, h, w, 2)
		} else {
			avgPool(x.f64, got.f64, 0, planes, h, w, 2)
			avgPoolLoop(x.f64, want.f64, 0, planes, h, w, 2)
		}
		sameBits(t, dt.String(), got, want)
	}
}

// TestSampleGroups: the groups forGroups numbers are those of the sample
// ranges cut into groups of up to nb samples, in order.
func TestSampleGroups(t *testing.T) {
	for n := 0; n <= 40; n++ {
		for _, grain := range []int{0, 1, 3, 7, 20, 50} {
			for nb := 1; nb <= 9; nb++ {
				var want [][2]int
				ranges, k := sampleRanges(n, grain)
				for _, r := range ranges[:k] {
					for s := r[0]; s < r[1]; s += nb {
						want = append(want, [2]int{s, min(nb, r[1]-s)})
					}
				}
				q := newSampleGroups(n, grain, nb)
				var got [][2]int
				for i := range q.count {
					s, m := q.at(i)
					got = append(got, [2]int{s, m})
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("n %d, grain %d, nb %d: groups %v, want %v", n, grain, nb, got, want)
				}
			}
		}
	}
}
