package randn

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// TestNormalDistribution checks 2·10⁶ draws against N(0, 1): the
// Kolmogorov-Smirnov distance, the first four moments and the mass beyond
// the ziggurat's tail start r and beyond 4, each within about four
// standard errors of its sampling noise.
func TestNormalDistribution(t *testing.T) {
	const n = 2000000
	src := NewXoshiro(1, 2)
	xs := make([]float32, n)
	Fill32(src, xs[:n/2])
	for i := n / 2; i < n; i++ {
		xs[i] = float32(Float64(src))
	}
	var m1, m2, m3, m4 float64
	beyondR, beyond4 := 0, 0
	for _, x := range xs {
		v := float64(x)
		m1 += v
		m2 += v * v
		m3 += v * v * v
		m4 += v * v * v * v
		if math.Abs(v) > r {
			beyondR++
		}
		if math.Abs(v) > 4 {
			beyond4++
		}
	}
	m1, m2, m3, m4 = m1/n, m2/n, m3/n, m4/n
	check := func(name string, got, want, sd float64) {
		t.Helper()
		if math.Abs(got-want) > 4*sd {
			t.Errorf("%s = %.5g, want %.5g ± %.2g", name, got, want, 4*sd)
		}
	}
	check("mean", m1, 0, 1/math.Sqrt(n))
	check("E[x²]", m2, 1, math.Sqrt(2.0/n))
	check("E[x³]", m3, 0, math.Sqrt(15.0/n))
	check("E[x⁴]", m4, 3, math.Sqrt(96.0/n))
	for _, c := range []struct {
		name  string
		count int
		at    float64
	}{{"P(|x| > r)", beyondR, r}, {"P(|x| > 4)", beyond4, 4}} {
		p := math.Erfc(c.at / math.Sqrt2)
		check(c.name, float64(c.count)/n, p, math.Sqrt(p*(1-p)/n))
	}
	sort.Slice(xs, func(i, j int) bool { return xs[i] < xs[j] })
	d := 0.0
	for i, x := range xs {
		f := 0.5 * math.Erfc(-float64(x)/math.Sqrt2)
		d = math.Max(d, math.Max(f-float64(i)/n, float64(i+1)/n-f))
	}
	// P(D > 1.63/√n) ≈ 1%.
	if d > 1.63/math.Sqrt(n) {
		t.Errorf("Kolmogorov-Smirnov distance %.2e, above the 1%% level %.2e", d, 1.63/math.Sqrt(n))
	}
	t.Logf("moments %.4f %.4f %.4f %.4f, KS %.2e, tail %d %d", m1, m2, m3, m4, d, beyondR, beyond4)
}

// TestXoshiro checks the generator against the reference implementation's
// first outputs from the state {1, 2, 3, 4}, and that seeding spreads the
// seeds over the whole state.
func TestXoshiro(t *testing.T) {
	x := &Xoshiro{1, 2, 3, 4}
	for i, want := range []uint64{41943041, 58720359} {
		if got := x.Uint64(); got != want {
			t.Fatalf("output %d: %d, want %d", i, got, want)
		}
	}
	a, b := NewXoshiro(5, 6), NewXoshiro(5, 7)
	if *a == *b || a.s0 != b.s0 || a.s2 == b.s2 {
		t.Fatalf("seeds (5, 6) and (5, 7) give states %v and %v", *a, *b)
	}
}

// TestNotVacuous makes sure the checks above can fail: draws scaled by
// 1.01 must be caught by the second moment.
func TestNotVacuous(t *testing.T) {
	src := NewXoshiro(3, 4)
	const n = 2000000
	var m2 float64
	for i := 0; i < n; i++ {
		x := 1.01 * Float64(src)
		m2 += x * x
	}
	if math.Abs(m2/n-1) <= 4*math.Sqrt(2.0/n) {
		t.Fatalf("E[x²] of 1.01 N(0,1) = %v passes as 1", m2/n)
	}
}

func BenchmarkFill32(b *testing.B) {
	src := NewXoshiro(1, 2)
	xs := make([]float32, 4096)
	for i := 0; i < b.N; i++ {
		Fill32(src, xs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/draw")
}

func BenchmarkNormFloat64(b *testing.B) {
	rg := rand.New(rand.NewPCG(1, 2))
	xs := make([]float32, 4096)
	for i := 0; i < b.N; i++ {
		for k := range xs {
			xs[k] = float32(rg.NormFloat64())
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(xs)), "ns/draw")
}

// FillBits32 gives the words of Uint64, low half first.
func TestFillBits32(t *testing.T) {
	for _, n := range []int{0, 1, 6, 7} {
		a, b := NewXoshiro(3, 4), NewXoshiro(3, 4)
		got := make([]uint32, n)
		FillBits32(a, got)
		for k := 0; k < n; k += 2 {
			u := b.Uint64()
			if got[k] != uint32(u) || (k+1 < n && got[k+1] != uint32(u>>32)) {
				t.Fatalf("n=%d: word %d differs", n, k)
			}
		}
		if a.Uint64() != b.Uint64() {
			t.Fatalf("n=%d: the streams part after the fill", n)
		}
	}
}
