package tensor

import (
	"fmt"
	"math"
	"testing"

	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/internal/randn"
)

// TestSplitSameBits runs operations that split over cores on one worker and
// on three, with the grain lowered so that even these shapes split, and
// wants the same bits: splitting decides who computes a piece, never how.
func TestSplitSameBits(t *testing.T) {
	defer func(w, g int) { parallel.Workers, grainElems = w, g }(parallel.Workers, grainElems)
	rng := NewRNG(3)
	for _, shape := range [][]int{{100, 400}, {37, 129}, {50, 16}, {1000, 3}} {
		x := rng.Normal(Float32, 0, 1, shape...)
		y := rng.Normal(Float32, 0, 1, shape...)
		row := rng.Normal(Float32, 0, 1, shape[1])
		ops := []struct {
			name string
			f    func() *Tensor
		}{
			{"Mul", func() *Tensor { return Mul(x, y) }},
			{"Add row", func() *Tensor { return Add(x, row) }},
			{"Affine", func() *Tensor { return Affine(x, 1.5, -0.25) }},
			{"Sigmoid", func() *Tensor { return Sigmoid(x) }},
			{"Softplus", func() *Tensor { return Softplus(x) }},
			{"softplus'", func() *Tensor { d, _ := UnaryGrad(FSoftplus, y, x, Softplus(x)); return d }},
			{"LinComb", func() *Tensor { return LinComb(0.9, x, 0.1, y) }},
			{"row sums", func() *Tensor { return Sum(x, false, 1) }},
			{"column sums", func() *Tensor { return Sum(x, false, 0) }},
			{"Axpy", func() *Tensor { z := y.Clone(); AxpyInPlace(z, -0.3, x); return z }},
		}
		for _, op := range ops {
			parallel.Workers, grainElems = 1, 1<<14
			want := op.f()
			parallel.Workers, grainElems = 3, 2*block
			sameBits(t, fmt.Sprintf("%s %v", op.name, shape), op.f(), want)
		}
	}
}

// TestSplitDrawsSameStream draws on one worker and on three, with draws
// small enough to split, and wants the same values and the same stream
// after them; a draw whose values sometimes take two words (as a redraw
// does) too, which makes the pieces after the first redraw fill again.
func TestSplitDrawsSameStream(t *testing.T) {
	defer func(w, g int) { parallel.Workers, rngGrain = w, g }(parallel.Workers, rngGrain)
	p := NewRNG(9).Uniform(Float32, 0, 1, 30, 70)
	twoWords := func(g *RNG, n int) *Tensor { // a value is a word, redrawn when it is 0 mod 5
		out := New(Float64, n)
		g.fillSplit(out, draw{piece: twoWordsPiece, skip: func(*RNG, *draw, []float32) { panic("no sharded draws here") }})
		return out
	}
	draws := []struct {
		name string
		f    func(g *RNG) *Tensor
	}{
		{"Uniform", func(g *RNG) *Tensor { return g.Uniform(Float32, -1, 2, 30, 70) }},
		{"Uniform float64", func(g *RNG) *Tensor { return g.Uniform(Float64, 0, 1, 2101) }},
		{"Rademacher", func(g *RNG) *Tensor { return g.Rademacher(Float32, 2100) }},
		{"Logistic", func(g *RNG) *Tensor { return g.Logistic(Float32, 30, 70) }},
		{"Logistic float64", func(g *RNG) *Tensor { return g.Logistic(Float64, 999) }},
		{"Bernoulli", func(g *RNG) *Tensor { return g.Bernoulli(p) }},
		{"two words", func(g *RNG) *Tensor { return twoWords(g, 3000) }},
		{"Normal", func(g *RNG) *Tensor { return g.Normal(Float32, 0.5, 2, 100, 560) }},
		{"Normal float64", func(g *RNG) *Tensor { return g.Normal(Float64, 0, 1, 30011) }},
		{"Normal, short pieces", func(g *RNG) *Tensor { return g.Normal(Float32, 0, 1, 700) }},
	}
	for _, d := range draws {
		parallel.Workers, rngGrain = 1, 1<<20
		g := NewRNG(4)
		want, wantNext := d.f(g), g.Uniform(Float64, 0, 1, 5)
		parallel.Workers, rngGrain = 3, 64
		g = NewRNG(4)
		got, gotNext := d.f(g), g.Uniform(Float64, 0, 1, 5)
		sameBits(t, d.name, got, want)
		sameBits(t, d.name+": the stream after it", gotNext, wantNext)
	}
}

// twoWordsPiece draws values that take a word each, redrawn when it is 0
// mod 5 (as a redraw does).
func twoWordsPiece(q *randn.PCG, t *Tensor, _ *draw, i, j int, _ []int32) int {
	words := 0
	for k := i; k < j; k++ {
		w := q.Uint64()
		words++
		for w%5 == 0 {
			w = q.Uint64()
			words++
		}
		t.f64[k] = float64(w % 1000003)
	}
	return words
}

// TestResyncSplit: a draw whose values take one, two or three words
// (most often one), split into pieces, meets both of resyncSplit's cases
// (a later piece that meets the settled ones, shifted, and one drawn
// again) and gives the values of one fill in order, and the stream after.
func TestResyncSplit(t *testing.T) {
	defer func(w, g int) { parallel.Workers, rngGrain = w, g }(parallel.Workers, rngGrain)
	var shifted, again int
	draw := func(g *RNG, n int) *Tensor {
		out := New(Float64, n)
		g.resyncSplit(out, draw{skip: func(*RNG, *draw, []float32) { panic("no sharded draws here") }, piece: func(q *randn.PCG, t *Tensor, _ *draw, i, j int, starts []int32) int {
			d := t.f64[i:j]
			words := 0
			for k := range d {
				if starts != nil {
					starts[k] = int32(words)
				}
				w := q.Uint64()
				words++
				for extra := w % 4; extra > 0; extra-- { // 0 to 3 more words
					q.Uint64()
					words++
				}
				d[k] = float64(w >> 11)
			}
			switch {
			case starts == nil && len(d) == 256: // a whole piece: drawn again
				again++
			case starts == nil: // a shifted piece's last values
				shifted++
			}
			return words
		}})
		return out
	}
	var sumShifted, sumAgain int
	for seed := range uint64(100) {
		parallel.Workers, rngGrain = 1, 1<<20
		g := NewRNG(seed)
		want, wantNext := draw(g, 1024), g.Uniform(Float64, 0, 1, 2)
		shifted, again = 0, 0
		parallel.Workers, rngGrain = 4, 64 // four pieces of 256
		g = NewRNG(seed)
		got, gotNext := draw(g, 1024), g.Uniform(Float64, 0, 1, 2)
		sameBits(t, fmt.Sprintf("seed %d", seed), got, want)
		sameBits(t, fmt.Sprintf("seed %d: the stream after it", seed), gotNext, wantNext)
		sumShifted, sumAgain = sumShifted+shifted, sumAgain+again
	}
	if sumShifted == 0 || sumAgain == 0 {
		t.Errorf("over 100 draws, %d pieces shifted and %d drawn again: a case is not tested", sumShifted, sumAgain)
	}
	t.Logf("%d pieces shifted, %d drawn again", sumShifted, sumAgain)
}

// TestSplitNormalsManySeeds: over many streams, the split normal draw gives
// the values of one fill in order, and the stream after it.
func TestSplitNormalsManySeeds(t *testing.T) {
	defer func(w, g int) { parallel.Workers, rngGrain = w, g }(parallel.Workers, rngGrain)
	for seed := range uint64(200) {
		parallel.Workers, rngGrain = 1, 1<<20
		g := NewRNG(seed)
		want, wantNext := g.Normal(Float64, 0, 1, 1000), g.Uniform(Float64, 0, 1, 2)
		parallel.Workers, rngGrain = 4, 64
		g = NewRNG(seed)
		got, gotNext := g.Normal(Float64, 0, 1, 1000), g.Uniform(Float64, 0, 1, 2)
		sameBits(t, fmt.Sprintf("seed %d", seed), got, want)
		sameBits(t, fmt.Sprintf("seed %d: the stream after it", seed), gotNext, wantNext)
	}
}

// TestAdamApplyPackedGradAddSameBits: adding the packed Adam update's
// gradient in place has the bits of a new gradient added with AddInPlace,
// for halves shorter than a vector, between blocks and over several
// blocks, in float32 and float64 (including v = 0 entries), on one worker
// and split over three.
func TestAdamApplyPackedGradAddSameBits(t *testing.T) {
	defer restoreSplitting()()
	rng := NewRNG(4)
	for _, dt := range []DType{Float32, Float64} {
		for _, p := range []int{7, 1000, 1029, 3*chunk + 5, 9000} {
			acc := rng.Normal(dt, 0, 1, 2, p)
			up := rng.Normal(dt, 0, 1, p)
			s := rng.Uniform(dt, -1, 1, 2, p)
			for i := p; i < 2*p; i++ { // v >= 0, and 0 in places (m = 0 there)
				s.SetFlat(i, math.Abs(s.Flat(i)))
				if i%7 == 0 {
					s.SetFlat(i, 0)
					s.SetFlat(i-p, 0)
				}
			}
			ref := AdamApplyPackedGrad(up, s, 1e-3, 1e-8)
			if ref.HasNaNOrInf() {
				t.Fatalf("p=%d: the reference gradient is not finite", p)
			}
			want := acc.Clone()
			AddInPlace(want, ref)
			for _, w := range []int{1, 3} {
				parallel.Workers, grainElems = w, 2*block
				got := acc.Clone()
				AdamApplyPackedGradAdd(got, up, s, 1e-3, 1e-8)
				sameBits(t, fmt.Sprintf("%v p=%d workers=%d", dt, p, w), got, want)
			}
		}
	}
}

// TestLogisticLogsEachPiece: a logistic draw that takes the logarithm of
// each piece's odds as it draws them has the bits of the odds drawn first
// and their logarithm taken after over the whole tensor (Log), on one
// worker and on three, with a scalar tail or none; the bits rest on every
// split draw's pieces starting on the elementwise blocks, checked too.
func TestLogisticLogsEachPiece(t *testing.T) {
	defer func(w, g int) { parallel.Workers, rngGrain = w, g }(parallel.Workers, rngGrain)
	for _, n := range []int{2103, 2100, 40000, 13} {
		want := New(Float32, n)
		randn.FillOdds(NewRNG(5).src, want.f32)
		want = Log(want)
		for _, w := range []int{1, 3} {
			parallel.Workers, rngGrain = w, 64
			sameBits(t, fmt.Sprintf("n=%d, %d workers", n, w), NewRNG(5).Logistic(Float32, n), want)
		}
	}
	for _, w := range []int{2, 3, 7} {
		for _, n := range []int{700, 2103, 40000, 224000} {
			parallel.Workers, rngGrain = w, 64
			ps := NewRNG(1).splitPieces(n)
			for k, p := range ps {
				if p.lo%block != 0 || p.hi <= p.lo || (k > 0 && p.lo != ps[k-1].hi) {
					t.Fatalf("%d workers, n=%d: piece %d is [%d, %d) after [%d, %d)", w, n, k, p.lo, p.hi, ps[max(k-1, 0)].lo, ps[max(k-1, 0)].hi)
				}
			}
			if len(ps) > 0 && ps[len(ps)-1].hi != n {
				t.Fatalf("%d workers, n=%d: pieces end at %d", w, n, ps[len(ps)-1].hi)
			}
		}
	}
}

// TestAddMulInPlaceSameBits: adding a product into a tensor in one pass has
// the bits of Mul followed by AddInPlace (the product rounded before the
// sum, no fused multiply-add), across the vector blocks and the scalar
// tail, both dtypes, one worker and three at a lowered grain.
func TestAddMulInPlaceSameBits(t *testing.T) {
	defer func(w, g int) { parallel.Workers, grainElems = w, g }(parallel.Workers, grainElems)
	rng := NewRNG(15)
	for _, dt := range []DType{Float32, Float64} {
		for _, n := range []int{7, 16, 45, 4000} {
			// Values whose products need rounding (a fused multiply-add
			// would keep the product exact and differ in the last bit).
			acc, a, b := rng.Normal(dt, 0, 1, n), rng.Normal(dt, 0, 1e3, n), rng.Uniform(dt, 0.1, 3, n)
			want := acc.Clone()
			AddInPlace(want, Mul(a, b))
			for _, w := range []int{1, 3} {
				parallel.Workers, grainElems = w, 2*block
				got := acc.Clone()
				AddMulInPlace(got, a, b)
				sameBits(t, fmt.Sprintf("%v n=%d, %d workers", dt, n, w), got, want)
			}
		}
	}
}
