package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/internal/randn"
)

// RNG is a seeded random number generator. It is a value passed to whoever
// needs randomness, never a package global, so runs reproduce exactly for a
// seed (the stream is PCG, fixed by the Go standard library).
type RNG struct {
	src    *randn.PCG // math/rand/v2's PCG stream, drawn in bulk
	r      *rand.Rand // over src
	arena  *Arena     // where draws take their storage (SetArena)
	pieces []rngPiece // a split draw's pieces (drawSplit)
	split  draw       // the draw drawSplit is making
	splitT *Tensor    // and its tensor
	resync bool       // split resyncs (resyncSplit)
	starts []int32    // where a split resynced draw's values began (resyncSplit)
	shard  struct{ lo, hi, n int }
}

// ShardRows makes the generator draw for rows [lo, hi) of a global batch of
// n rows: a draw whose leading dimension is hi - lo is made for all n rows,
// in the stream's order, and only rows lo..hi-1 are returned (the others are
// drawn and dropped). A process that holds those rows of a minibatch split
// across processes thus draws exactly the noise that one process drawing for
// the whole batch gives them, and its stream stays in step with every other
// process's. Draws of any other shape are unchanged. n = 0 ends sharding.
func (g *RNG) ShardRows(lo, hi, n int) {
	if n != 0 && (lo < 0 || hi < lo || hi > n) {
		panic(fmt.Sprintf("tensor.RNG.ShardRows: rows [%d, %d) of %d", lo, hi, n))
	}
	g.shard.lo, g.shard.hi, g.shard.n = lo, hi, n
}

// Rows returns where a batch of b rows lies in the global batch: rows
// [lo, lo+b) of n (0 and b without sharding).
func (g *RNG) Rows(b int) (lo, n int) {
	if g.shard.n == 0 || b != g.shard.hi-g.shard.lo {
		return 0, b
	}
	return g.shard.lo, g.shard.n
}

// span returns how many values a draw of shape must drop before and after
// its own (ShardRows).
func (g *RNG) span(shape []int) (before, after int) {
	if len(shape) == 0 {
		return 0, 0
	}
	lo, n := g.Rows(shape[0])
	if n == shape[0] {
		return 0, 0
	}
	row := SizeOf(shape[1:])
	return lo * row, (n - lo - shape[0]) * row
}

// SetArena makes the tensors the generator draws belong to a (nil: none),
// so that a training step's noise comes from the step's arena.
func (g *RNG) SetArena(a *Arena) { g.arena = a }

// Arena returns the arena the generator's draws belong to, or nil.
func (g *RNG) Arena() *Arena { return g.arena }

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	src := randn.NewPCG(seed, 0x9e3779b97f4a7c15)
	return &RNG{src: src, r: rand.New(src)}
}

// MarshalBinary saves the generator's state, so a resumed run continues the
// same random stream.
func (g *RNG) MarshalBinary() ([]byte, error) { return g.src.MarshalBinary() }

// UnmarshalBinary restores a state saved by MarshalBinary.
func (g *RNG) UnmarshalBinary(b []byte) error { return g.src.UnmarshalBinary(b) }

// Rand exposes the underlying generator for callers that need integers or permutations.
func (g *RNG) Rand() *rand.Rand { return g.r }

// Split returns a new generator whose stream is derived from (and independent of) this one.
func (g *RNG) Split() *RNG { return NewRNG(g.r.Uint64()) }

// fill draws a tensor of shape through fill32/fill64 (one of the randn
// Fill functions over the generator), drawing and dropping the values of
// the rows that ShardRows leaves to other processes.
func (g *RNG) fill(dt DType, shape []int, fill32 func([]float32), fill64 func([]float64)) *Tensor {
	t := g.arena.empty(dt, shape...)
	before, after := g.span(shape)
	randn.Skip(g.src, before, fill32)
	if dt == Float32 {
		fill32(t.f32)
	} else {
		fill64(t.f64)
	}
	randn.Skip(g.src, after, fill32)
	return t
}

// Uniform returns values drawn uniformly from [lo, hi).
func (g *RNG) Uniform(dt DType, lo, hi float64, shape ...int) *Tensor {
	return g.fillSplit(g.arena.empty(dt, shape...), draw{piece: uniformPiece, skip: skipUniform, a: lo, b: hi})
}

func uniformPiece(q *randn.PCG, t *Tensor, dr *draw, i, j int, _ []int32) int {
	if t.dtype == Float32 {
		randn.FillUniform(q, t.f32[i:j], dr.a, dr.b)
	} else {
		randn.FillUniform(q, t.f64[i:j], dr.a, dr.b)
	}
	return j - i
}

func skipUniform(g *RNG, dr *draw, d []float32) { randn.FillUniform(g.src, d, dr.a, dr.b) }

// Normal returns values drawn from N(mean, std^2). A normal takes one word
// of the stream mostly and more in the ziggurat's wedge and tail
// (resyncSplit).
func (g *RNG) Normal(dt DType, mean, std float64, shape ...int) *Tensor {
	return g.resyncSplit(g.arena.empty(dt, shape...), draw{piece: normalPiece, skip: skipNormal, a: mean, b: std})
}

func normalPiece(q *randn.PCG, t *Tensor, dr *draw, i, j int, starts []int32) int {
	if t.dtype == Float32 {
		return randn.FillNormalStarts(q, t.f32[i:j], dr.a, dr.b, starts)
	}
	return randn.FillNormalStarts(q, t.f64[i:j], dr.a, dr.b, starts)
}

func skipNormal(g *RNG, dr *draw, d []float32) { randn.FillNormalStarts(g.src, d, dr.a, dr.b, nil) }

// Rademacher returns values that are -1 or +1 with equal probability.
func (g *RNG) Rademacher(dt DType, shape ...int) *Tensor {
	return g.fillSplit(g.arena.empty(dt, shape...), draw{piece: signPiece, skip: skipSign})
}

func signPiece(q *randn.PCG, t *Tensor, _ *draw, i, j int, _ []int32) int {
	if t.dtype == Float32 {
		randn.FillSign(q, t.f32[i:j])
	} else {
		randn.FillSign(q, t.f64[i:j])
	}
	return j - i
}

func skipSign(g *RNG, _ *draw, d []float32) { randn.FillSign(g.src, d) }

// Gumbel returns standard Gumbel variates, -log(-log(U)) with U in (0, 1).
func (g *RNG) Gumbel(dt DType, shape ...int) *Tensor {
	gumbel := func() float64 {
		u := g.src.Float64()
		for u == 0 {
			u = g.src.Float64()
		}
		return -math.Log(-math.Log(u))
	}
	return g.fill(dt, shape,
		func(d []float32) {
			for i := range d {
				d[i] = float32(gumbel())
			}
		},
		func(d []float64) {
			for i := range d {
				d[i] = gumbel()
			}
		})
}

// Logistic returns standard logistic variates log(U/(1-U)): the
// distribution of the difference of two independent standard Gumbels, drawn
// with one uniform and one logarithm instead of two uniforms and four
// logarithms. The logarithm is computed in float32 precision, by each piece
// of a split draw right after its odds, while they are in the cache (the
// pieces start on Log's blocks, so the bits are those of Log over the
// whole tensor).
func (g *RNG) Logistic(dt DType, shape ...int) *Tensor {
	return g.fillSplit(g.arena.empty(dt, shape...), draw{piece: logisticPiece, skip: skipOdds})
}

func skipOdds(g *RNG, _ *draw, d []float32) { randn.FillOdds(g.src, d) }

// logisticPiece fills t[i:j] with logistic variates from q and returns the
// words it drew.
func logisticPiece(q *randn.PCG, t *Tensor, _ *draw, i, j int, _ []int32) int {
	if t.dtype == Float64 {
		words := randn.FillOdds(q, t.f64[i:j])
		for k := i; k < j; k++ {
			t.f64[k] = math.Log(t.f64[k])
		}
		return words
	}
	words := randn.FillOdds(q, t.f32[i:j])
	fast32[FLog](t.f32[i:j], t.f32[i:j])
	return words
}

// Bernoulli returns 1 with probability p[i] and 0 otherwise, elementwise.
func (g *RNG) Bernoulli(p *Tensor) *Tensor {
	t := ArenaOf(p).empty(p.dtype, p.shape...)
	return g.fillSplit(t, draw{piece: bernoulliPiece, skip: skipUniform, p: p, a: 0, b: 1})
}

func bernoulliPiece(q *randn.PCG, t *Tensor, dr *draw, i, j int, _ []int32) int {
	if p := dr.p; p.dtype == Float32 {
		randn.FillBernoulli(q, t.f32[i:j], p.f32[i:j])
	} else {
		randn.FillBernoulli(q, t.f64[i:j], p.f64[i:j])
	}
	return j - i
}

// A draw is what fillSplit and resyncSplit draw into a tensor t: piece
// fills t[i:j] from q and returns the words it drew, noting in starts,
// when not nil, the word (from its first) at which each value began; skip
// draws and drops len(d) values from g's stream (for the rows that
// ShardRows leaves to other processes). Both read the draw's operands p, a
// and b. Plain functions, so that a split draw allocates nothing.
type draw struct {
	piece func(q *randn.PCG, t *Tensor, dr *draw, i, j int, starts []int32) int
	skip  func(g *RNG, dr *draw, d []float32)
	p     *Tensor
	a, b  float64
}

// fillSplit fills t with a draw whose values take one word of the stream
// each, but for rare redraws. Large draws are split over cores, each piece
// from a copy of the stream advanced to its first word; a piece that drew
// more words than values (a redraw) leaves the pieces after it starting in
// the wrong place, and they are filled again, in order, from where it
// ended. The values are those of one fill in order, on any number of
// cores; the values of rows that ShardRows leaves to other processes are
// drawn and dropped.
func (g *RNG) fillSplit(t *Tensor, dr draw) *Tensor { return g.drawSplit(t, dr, false) }

// resyncSplit fills t with a draw whose values take a varying number of
// words of the stream, in the stream's order, split over cores when t is
// large. A piece cannot know where in the stream it begins, so piece k > 0
// draws from where it would begin if every value before it took one word,
// noting where each value began. Once the pieces before it are settled and
// end at word e, its values from the one that began at e on are the right
// ones (a value depends only on where it begins), shifted down by the
// number before it, and that many values are drawn after them, in order;
// if no value began at e, the piece is drawn again in order. The values
// are those of one fill in order, on any number of cores.
func (g *RNG) resyncSplit(t *Tensor, dr draw) *Tensor { return g.drawSplit(t, dr, true) }

// drawSplit is fillSplit (resync false) and resyncSplit (true): the draw
// is kept in g while its pieces run (drawPieces).
func (g *RNG) drawSplit(t *Tensor, dr draw, resync bool) *Tensor {
	g.split, g.splitT, g.resync = dr, t, resync
	d := &g.split
	before, after := g.span(t.shape)
	g.skipValues(before)
	n := t.Size()
	switch ps := g.splitPieces(n); {
	case ps == nil:
		d.piece(g.src, t, d, 0, n, nil)
	case resync:
		if cap(g.starts) < n {
			g.starts = make([]int32, n)
		}
		parallel.ForJob(len(ps), 1, (*drawPieces)(g))
		g.resettle(t, ps)
	default:
		parallel.ForJob(len(ps), 1, (*drawPieces)(g))
		g.redrawAfter(t, ps)
	}
	g.skipValues(after)
	g.split, g.splitT, g.resync = draw{}, nil, false
	return t
}

// drawPieces is a split draw's parallel.Job: the generator making it
// (drawSplit), whose pieces it fills.
type drawPieces RNG

// Run fills pieces [lo, hi) of the draw.
func (d *drawPieces) Run(lo, hi int) {
	g := (*RNG)(d)
	for k := lo; k < hi; k++ {
		p := &g.pieces[k]
		var starts []int32
		if g.resync {
			starts = g.starts[p.lo:p.hi]
		}
		p.words = g.split.piece(&p.q, g.splitT, &g.split, p.lo, p.hi, starts)
	}
}

// redrawAfter settles fillSplit's pieces: g's stream continues after the
// last piece, unless a piece drew more words than values, after which the
// rest of t is drawn again in order.
func (g *RNG) redrawAfter(t *Tensor, ps []rngPiece) {
	d := &g.split
	*g.src = ps[len(ps)-1].q
	for k := range ps {
		if ps[k].words != ps[k].hi-ps[k].lo {
			*g.src = ps[k].q
			if n := t.Size(); ps[k].hi < n {
				d.piece(g.src, t, d, ps[k].hi, n, nil)
			}
			return
		}
	}
}

// resettle settles resyncSplit's pieces in order: end is the word the
// settled ones end at, and g's stream the state there.
func (g *RNG) resettle(t *Tensor, ps []rngPiece) {
	d := &g.split
	*g.src = ps[0].q
	end := ps[0].words
	for _, p := range ps[1:] {
		m, found := slices.BinarySearch(g.starts[p.lo:p.hi], int32(end-p.lo))
		if !found {
			end += d.piece(g.src, t, d, p.lo, p.hi, nil)
			continue
		}
		t.shiftDown(p.lo, p.lo+m, p.hi)
		*g.src, end = p.q, p.lo+p.words
		end += d.piece(g.src, t, d, p.hi-m, p.hi, nil)
	}
}

// shiftDown moves t's values [from, hi) down to start at lo.
func (t *Tensor) shiftDown(lo, from, hi int) {
	if t.dtype == Float32 {
		copy(t.f32[lo:], t.f32[from:hi])
	} else {
		copy(t.f64[lo:], t.f64[from:hi])
	}
}

// skipValues draws and drops n values of the draw g makes.
func (g *RNG) skipValues(n int) {
	if n > 0 {
		randn.Skip(g.src, n, func(d []float32) { g.split.skip(g, &g.split, d) })
	}
}

// splitPieces returns the pieces a draw of n values splits into, one per
// worker and at least rngGrain values each, each piece's stream a copy of
// g's advanced by the piece's first index; nil when the draw does not split.
// Pieces start on multiples of block, as the elementwise operations' split
// pieces do (kernel.blocks), so that a piece may apply a vector kernel to its
// values with the bits of one pass over all of them. A draw that would run
// on one core anyway (parallel.Splits) is not cut into pieces.
func (g *RNG) splitPieces(n int) []rngPiece {
	grain := max(rngGrain, block)
	if !parallel.Splits(n, grain) {
		return nil
	}
	pieces := min(parallel.Workers, n/grain)
	if cap(g.pieces) < pieces {
		g.pieces = make([]rngPiece, pieces)
	}
	ps := g.pieces[:pieces]
	for k := range ps {
		ps[k] = rngPiece{q: *g.src, lo: k * n / pieces &^ (block - 1), hi: (k + 1) * n / pieces &^ (block - 1)}
		ps[k].q.Advance(uint64(ps[k].lo))
	}
	ps[pieces-1].hi = n
	return ps
}

// rngGrain is the fewest values a piece of a split draw has: a value costs
// a few nanoseconds (a 128-bit multiply and a conversion), and a piece's
// start costs an Advance (about a hundred 128-bit multiplies).
var rngGrain = grainElems / 4

// rngPiece is one piece of a split draw: its stream, its values [lo, hi)
// and the words it drew.
type rngPiece struct {
	q      randn.PCG
	lo, hi int
	words  int
}
