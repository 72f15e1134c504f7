package randn

import (
	"math/rand/v2"
	"testing"
)

// The PCG draws are math/rand/v2's, value for value, including the rare
// wedge and tail paths of the ziggurat (a few per thousand draws) and after
// a state round trip through the binary form.
func TestPCGMatchesMathRand(t *testing.T) {
	for _, seed := range [][2]uint64{{1, 2}, {42, 0x9e3779b97f4a7c15}, {0, 0}, {^uint64(0), 7}} {
		p := NewPCG(seed[0], seed[1])
		ref := rand.New(rand.NewPCG(seed[0], seed[1]))
		for i := range 1000 {
			if a, b := p.Uint64(), ref.Uint64(); a != b {
				t.Fatalf("seed %v: word %d: %x, math/rand/v2 %x", seed, i, a, b)
			}
			if a, b := p.Float64(), ref.Float64(); a != b {
				t.Fatalf("seed %v: Float64 %d: %v, math/rand/v2 %v", seed, i, a, b)
			}
			if a, b := p.Norm(), ref.NormFloat64(); a != b {
				t.Fatalf("seed %v: Norm %d: %v, math/rand/v2 %v", seed, i, a, b)
			}
		}
		n := 1 << 20
		d64, d32 := make([]float64, n), make([]float32, n)
		FillNormal(p, d64, 0.5, 2)
		for i, x := range d64 {
			if want := 0.5 + 2*ref.NormFloat64(); x != want {
				t.Fatalf("seed %v: FillNormal %d: %v, math/rand/v2 %v", seed, i, x, want)
			}
		}
		FillNormal(p, d32, 0, 1)
		for i, x := range d32 {
			if want := float32(ref.NormFloat64()); x != want {
				t.Fatalf("seed %v: FillNormal float32 %d: %v, math/rand/v2 %v", seed, i, x, want)
			}
		}
		FillUniform(p, d64[:1000], -1, 3)
		FillOdds(p, d32[:1000])
		FillSign(p, d64[1000:2000])
		prob := make([]float32, 1000)
		FillUniform(p, prob, 0, 1)
		b := make([]float32, 1000)
		FillBernoulli(p, b, prob)
		for i := range 1000 {
			if want := -1 + 4*ref.Float64(); d64[i] != want {
				t.Fatalf("seed %v: FillUniform %d: %v, want %v", seed, i, d64[i], want)
			}
		}
		for i := range 1000 {
			u := ref.Float64()
			for u == 0 {
				u = ref.Float64()
			}
			if want := float32(u / (1 - u)); d32[i] != want {
				t.Fatalf("seed %v: FillOdds %d: %v, want %v", seed, i, d32[i], want)
			}
		}
		for i := range 1000 {
			want := -1.0
			if ref.Uint64()&1 == 1 {
				want = 1
			}
			if d64[1000+i] != want {
				t.Fatalf("seed %v: FillSign %d: %v, want %v", seed, i, d64[1000+i], want)
			}
		}
		for i := range 1000 {
			if want := float32(ref.Float64()); prob[i] != want {
				t.Fatalf("seed %v: FillUniform float32 %d", seed, i)
			}
		}
		for i := range 1000 {
			want := float32(0)
			if ref.Float64() < float64(prob[i]) {
				want = 1
			}
			if b[i] != want {
				t.Fatalf("seed %v: FillBernoulli %d: %v, want %v", seed, i, b[i], want)
			}
		}
		Skip(p, 1000, func(d []float32) { FillNormal(p, d, 0, 1) })
		for range 1000 {
			ref.NormFloat64()
		}
		s, err := p.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		rs, _ := rand.NewPCG(0, 0).MarshalBinary()
		var q PCG
		if err := q.UnmarshalBinary(s); err != nil {
			t.Fatal(err)
		}
		refSrc := rand.NewPCG(0, 0)
		if err := refSrc.UnmarshalBinary(s); err != nil {
			t.Fatalf("math/rand/v2 does not read the state: %v", err)
		}
		if len(s) != len(rs) || string(s[:4]) != string(rs[:4]) {
			t.Fatalf("binary form %q, math/rand/v2's %q", s, rs)
		}
		for i := range 100 {
			if a, b, c := q.Uint64(), refSrc.Uint64(), ref.Uint64(); a != b || a != c {
				t.Fatalf("seed %v: after the round trip, word %d: %x, %x, %x", seed, i, a, b, c)
			}
		}
	}
	if err := new(PCG).UnmarshalBinary([]byte("pcg:short")); err == nil {
		t.Fatal("a short state was accepted")
	}
}

// benchDraws reports ns per value of fill on a slice of n float32s.
func benchDraws(b *testing.B, n int, fill func(d []float32)) {
	d := make([]float32, n)
	for b.Loop() {
		fill(d)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/draw")
}

func BenchmarkFillNormalPCG(b *testing.B) {
	p := NewPCG(1, 2)
	benchDraws(b, 56000, func(d []float32) { FillNormal(p, d, 0, 1) })
}

func BenchmarkFillNormalMathRand(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	benchDraws(b, 56000, func(d []float32) {
		for i := range d {
			d[i] = float32(r.NormFloat64())
		}
	})
}

func BenchmarkFillUniformPCG(b *testing.B) {
	p := NewPCG(1, 2)
	benchDraws(b, 56000, func(d []float32) { FillUniform(p, d, 0, 1) })
}

func BenchmarkFillBernoulliPCG(b *testing.B) {
	p, prob := NewPCG(1, 2), make([]float32, 4000)
	FillUniform(p, prob, 0, 1)
	benchDraws(b, len(prob), func(d []float32) { FillBernoulli(p, d, prob) })
}

// Advance(n) leaves the generator where n words would, for n around the
// powers of two and beyond, and Advance(0) changes nothing.
func TestPCGAdvance(t *testing.T) {
	for _, n := range []uint64{0, 1, 2, 3, 7, 8, 9, 255, 256, 1000, 4097, 65536, 100003} {
		p, q := NewPCG(42, 0x9e3779b97f4a7c15), NewPCG(42, 0x9e3779b97f4a7c15)
		for range n {
			p.Uint64()
		}
		q.Advance(n)
		for i := range 3 {
			if a, b := q.Uint64(), p.Uint64(); a != b {
				t.Fatalf("Advance(%d): word %d after it %x, want %x", n, i, a, b)
			}
		}
	}
}

// FillNormalStarts counts the words it drew and says where each value
// began: Norm from the stream advanced to value i's start gives value i,
// and the stream advanced by the count is where the fill left it.
func TestFillNormalStarts(t *testing.T) {
	p := NewPCG(3, 5)
	d := make([]float64, 20000)
	starts := make([]int32, len(d))
	words := FillNormalStarts(p, d, 0, 1, starts)
	if words <= len(d) {
		t.Fatalf("%d words for %d normals: no wedge or tail draw", words, len(d))
	}
	for i := range d {
		q := NewPCG(3, 5)
		q.Advance(uint64(starts[i]))
		if x := q.Norm(); x != d[i] {
			t.Fatalf("value %d began at word %d: Norm there %v, want %v", i, starts[i], x, d[i])
		}
	}
	q := NewPCG(3, 5)
	q.Advance(uint64(words))
	if a, b := q.Uint64(), p.Uint64(); a != b {
		t.Fatalf("after %d words: %x, the fill left %x", words, a, b)
	}
}

func BenchmarkFillOddsPCG(b *testing.B) {
	p := NewPCG(1, 2)
	benchDraws(b, 40000, func(d []float32) { FillOdds(p, d) })
}
