package tensor

import "testing"

// TestShardRows: each shard of a draw equals its rows of the whole draw,
// for every kind of draw, and leaves the stream where the whole draw does.
func TestShardRows(t *testing.T) {
	const n, cols = 7, 3
	p := NewRNG(9).Uniform(Float32, 0, 1, n, cols)
	draws := map[string]func(g *RNG, rows int) *Tensor{
		"Uniform":    func(g *RNG, rows int) *Tensor { return g.Uniform(Float64, -1, 2, rows, cols) },
		"Normal":     func(g *RNG, rows int) *Tensor { return g.Normal(Float32, 0, 1, rows, cols) },
		"Rademacher": func(g *RNG, rows int) *Tensor { return g.Rademacher(Float32, rows, 1, cols) },
		"Gumbel":     func(g *RNG, rows int) *Tensor { return g.Gumbel(Float64, rows, cols) },
		"Logistic":   func(g *RNG, rows int) *Tensor { return g.Logistic(Float32, rows, cols) },
		"Bernoulli": func(g *RNG, rows int) *Tensor {
			lo, _ := g.Rows(rows)
			return g.Bernoulli(Slice(p, 0, lo, lo+rows))
		},
	}
	for name, draw := range draws {
		whole := NewRNG(4)
		want := draw(whole, n)
		next := whole.Rand().Uint64()
		for _, sh := range [][2]int{{0, 3}, {3, 5}, {5, 7}, {0, 7}} {
			g := NewRNG(4)
			g.ShardRows(sh[0], sh[1], n)
			got := draw(g, sh[1]-sh[0])
			part := Slice(want, 0, sh[0], sh[1])
			for i := 0; i < part.Size(); i++ {
				if got.Flat(i) != part.Flat(i) {
					t.Fatalf("%s rows %v: element %d is %v, the whole draw's %v", name, sh, i, got.Flat(i), part.Flat(i))
				}
			}
			if u := g.Rand().Uint64(); u != next {
				t.Fatalf("%s rows %v: the stream is out of step after the draw", name, sh)
			}
		}
	}
	// Draws of other shapes are unchanged.
	g, h := NewRNG(1), NewRNG(1)
	g.ShardRows(2, 4, n)
	a, b := g.Normal(Float64, 0, 1, 5), h.Normal(Float64, 0, 1, 5)
	for i := 0; i < 5; i++ {
		if a.Flat(i) != b.Flat(i) {
			t.Fatal("a draw of another shape changed under sharding")
		}
	}
	if lo, m := g.Rows(2); lo != 2 || m != n {
		t.Fatalf("Rows(2) = %d, %d", lo, m)
	}
}
