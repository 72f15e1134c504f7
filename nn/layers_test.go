package nn

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// TestLayersRegisterPyTorchDefaults checks names, shapes and the
// initialisation bounds U(±1/√fan_in) of both layers.
func TestLayersRegisterPyTorchDefaults(t *testing.T) {
	rng := tensor.NewRNG(1)
	p := NewParams()
	c := NewConv2d(p, "res.0.conv1", 3, 8, 3, 1, 1, false, rng, tensor.Float64)
	s := NewConv2d(p, "res.0.short", 3, 8, 1, 1, 0, true, rng, tensor.Float64)
	l := NewLinear(p, "g1", 50, 7, true, rng, tensor.Float64)
	want := []string{"res.0.conv1.W", "res.0.short.W", "res.0.short.b", "g1.W", "g1.b"}
	if got := p.Names(); len(got) != len(want) {
		t.Fatalf("names %v, want %v", got, want)
	} else {
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("names %v, want %v", got, want)
			}
		}
	}
	if c.BiasName() != "" || s.BiasName() != "res.0.short.b" || l.WeightName() != "g1.W" {
		t.Fatalf("names: %q %q %q", c.BiasName(), s.BiasName(), l.WeightName())
	}
	checks := []struct {
		name  string
		shape []int
		bound float64
	}{
		{"res.0.conv1.W", []int{8, 3, 3, 3}, 1 / math.Sqrt(27)},
		{"res.0.short.W", []int{8, 3, 1, 1}, 1 / math.Sqrt(3)},
		{"res.0.short.b", []int{8}, 1 / math.Sqrt(3)},
		{"g1.W", []int{50, 7}, 1 / math.Sqrt(50)},
		{"g1.b", []int{7}, 1 / math.Sqrt(50)},
	}
	for _, ck := range checks {
		x := p.Get(ck.name)
		if !tensor.SameShape(x.Shape(), ck.shape) {
			t.Fatalf("%s: shape %v, want %v", ck.name, x.Shape(), ck.shape)
		}
		mx := 0.0
		for _, v := range x.Values() {
			mx = math.Max(mx, math.Abs(v))
		}
		// Inside the bound, and (for the larger tensors) reaching near it.
		if mx > ck.bound || (x.Size() >= 50 && mx < 0.8*ck.bound) {
			t.Fatalf("%s: max |w| = %.4f for bound %.4f", ck.name, mx, ck.bound)
		}
	}
}

// TestConv2dLayerMatchesLoops compares Apply with a direct evaluation of
// out[n,o,i,j] = b[o] + Σ w[o,c,p,q] x[n,c,i*s-pad+p, j*s-pad+q].
func TestConv2dLayerMatchesLoops(t *testing.T) {
	rng := tensor.NewRNG(2)
	p := NewParams()
	c := NewConv2d(p, "c", 2, 3, 3, 2, 1, true, rng, tensor.Float64)
	x := rng.Normal(tensor.Float64, 0, 1, 2, 2, 5, 6)
	y := c.Apply(p.Consts(), ad.Const(x)).Tensor()
	ho, wo := c.OutSize(5, 6)
	if !tensor.SameShape(y.Shape(), []int{2, 3, ho, wo}) || ho != 3 || wo != 3 {
		t.Fatalf("output shape %v, OutSize %d×%d", y.Shape(), ho, wo)
	}
	w, b := p.Get("c.W"), p.Get("c.b")
	for n := 0; n < 2; n++ {
		for o := 0; o < 3; o++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < wo; j++ {
					s := b.At(o)
					for ch := 0; ch < 2; ch++ {
						for pp := 0; pp < 3; pp++ {
							for q := 0; q < 3; q++ {
								r, cc := i*2-1+pp, j*2-1+q
								if r < 0 || r >= 5 || cc < 0 || cc >= 6 {
									continue
								}
								s += w.At(o, ch, pp, q) * x.At(n, ch, r, cc)
							}
						}
					}
					if d := math.Abs(s - y.At(n, o, i, j)); d > 1e-12 {
						t.Fatalf("out[%d,%d,%d,%d] = %g, want %g", n, o, i, j, y.At(n, o, i, j), s)
					}
				}
			}
		}
	}
}

func TestLinearLayerAndFlatten(t *testing.T) {
	rng := tensor.NewRNG(3)
	p := NewParams()
	l := NewLinear(p, "fc", 12, 4, true, rng, tensor.Float64)
	x := rng.Normal(tensor.Float64, 0, 1, 2, 3, 2, 2)
	f := Flatten(ad.Const(x))
	if !tensor.SameShape(f.Shape(), []int{2, 12}) {
		t.Fatalf("Flatten shape %v", f.Shape())
	}
	y := l.Apply(p.Consts(), f).Tensor()
	w, b := p.Get("fc.W"), p.Get("fc.b")
	for n := 0; n < 2; n++ {
		for o := 0; o < 4; o++ {
			s := b.At(o)
			for i := 0; i < 12; i++ {
				s += x.Flat(n*12+i) * w.At(i, o)
			}
			if math.Abs(s-y.At(n, o)) > 1e-12 {
				t.Fatalf("y[%d,%d] = %g, want %g", n, o, y.At(n, o), s)
			}
		}
	}
	// No bias: no parameter is registered or read.
	q := NewParams()
	nb := NewLinear(q, "nb", 3, 2, false, rng, tensor.Float64)
	if q.Len() != 1 || nb.BiasName() != "" {
		t.Fatalf("bias-free layer registered %v", q.Names())
	}
}

// TestConvLayerGradient checks the layer to second order in its input and
// parameters: score matching differentiates in the input, then in θ.
func TestConvLayerGradient(t *testing.T) {
	rng := tensor.NewRNG(4)
	p := NewParams()
	c := NewConv2d(p, "c", 2, 2, 3, 1, 1, true, rng, tensor.Float64)
	x := rng.Normal(tensor.Float64, 0, 1, 1, 2, 3, 3)
	f := func(xs []*ad.Value) *ad.Value {
		th := NewVals([]string{"c.W", "c.b"}, []*ad.Value{xs[1], xs[2]})
		y := c.Apply(th, xs[0])
		return ad.SumAll(ad.Mul(ad.Square(y), y)) // cubic: every order is non-trivial
	}
	if _, err := ad.CheckGrad(f, []*tensor.Tensor{x, p.Get("c.W"), p.Get("c.b")}, ad.CheckOptions{Order: 2, Seed: 1}); err != nil {
		t.Fatal(err)
	}
}
