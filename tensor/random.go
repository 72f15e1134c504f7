package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RNG is a seeded random number generator. It is a value passed to whoever
// needs randomness, never a package global, so runs reproduce exactly for a
// seed (the stream is PCG, fixed by the Go standard library).
type RNG struct {
	src   *rand.PCG
	r     *rand.Rand
	arena *Arena // where draws take their storage (SetArena)
	shard struct{ lo, hi, n int }
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
	src := rand.NewPCG(seed, 0x9e3779b97f4a7c15)
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

func (g *RNG) fill(dt DType, shape []int, f func() float64) *Tensor {
	t := g.arena.empty(dt, shape...)
	before, after := g.span(shape)
	for range before {
		f()
	}
	if dt == Float32 {
		for i := range t.f32 {
			t.f32[i] = float32(f())
		}
	} else {
		for i := range t.f64 {
			t.f64[i] = f()
		}
	}
	for range after {
		f()
	}
	return t
}

// Uniform returns values drawn uniformly from [lo, hi).
func (g *RNG) Uniform(dt DType, lo, hi float64, shape ...int) *Tensor {
	return g.fill(dt, shape, func() float64 { return lo + (hi-lo)*g.r.Float64() })
}

// Normal returns values drawn from N(mean, std^2).
func (g *RNG) Normal(dt DType, mean, std float64, shape ...int) *Tensor {
	return g.fill(dt, shape, func() float64 { return mean + std*g.r.NormFloat64() })
}

// Rademacher returns values that are -1 or +1 with equal probability.
func (g *RNG) Rademacher(dt DType, shape ...int) *Tensor {
	return g.fill(dt, shape, func() float64 {
		if g.r.Uint64()&1 == 1 {
			return 1
		}
		return -1
	})
}

// Gumbel returns standard Gumbel variates, -log(-log(U)) with U in (0, 1).
func (g *RNG) Gumbel(dt DType, shape ...int) *Tensor {
	return g.fill(dt, shape, func() float64 {
		u := g.r.Float64()
		for u == 0 {
			u = g.r.Float64()
		}
		return -math.Log(-math.Log(u))
	})
}

// Logistic returns standard logistic variates log(U/(1-U)): the
// distribution of the difference of two independent standard Gumbels, drawn
// with one uniform and one logarithm instead of two uniforms and four
// logarithms. The logarithm is computed in float32 precision.
func (g *RNG) Logistic(dt DType, shape ...int) *Tensor {
	if dt == Float64 {
		return g.fill(dt, shape, func() float64 { return math.Log(g.odds()) })
	}
	// Draw the odds serially (the stream), take their logarithms in parallel.
	t := g.fill(dt, shape, g.odds)
	applyUnary(FLog, t.f32, t.f32)
	return t
}

// odds returns U/(1-U) for U uniform in (0, 1).
func (g *RNG) odds() float64 {
	u := g.r.Float64()
	for u == 0 {
		u = g.r.Float64()
	}
	return u / (1 - u)
}

// Bernoulli returns 1 with probability p[i] and 0 otherwise, elementwise.
func (g *RNG) Bernoulli(p *Tensor) *Tensor {
	t := arenaOf(p).zeros(p.dtype, p.shape...)
	before, after := g.span(p.shape)
	for range before {
		g.r.Float64()
	}
	if p.dtype == Float32 {
		for i, pi := range p.f32 {
			if g.r.Float64() < float64(pi) {
				t.f32[i] = 1
			}
		}
	} else {
		for i, pi := range p.f64 {
			if g.r.Float64() < pi {
				t.f64[i] = 1
			}
		}
	}
	for range after {
		g.r.Float64()
	}
	return t
}
