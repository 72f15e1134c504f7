package optim

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/tensor"
)

// quadGrad is the gradient of 1/2 * sum a*x^2: a*x.
func quadGrad(x, a *tensor.Tensor) *tensor.Tensor { return tensor.Mul(a, x) }

func TestAdamMatchesFormula(t *testing.T) {
	p := nn.NewParams()
	x := p.Add("x", tensor.FromFloat64([]float64{1, -2, 0.5}, 3))
	a := tensor.FromFloat64([]float64{1, 3, -0.5}, 3)
	opt := NewAdam(0.1, 0.9, 0.95)
	// Scalar re-implementation of PyTorch's Adam.
	ref := []float64{1, -2, 0.5}
	m, v := make([]float64, 3), make([]float64, 3)
	for step := 1; step <= 5; step++ {
		g := quadGrad(x, a)
		opt.Step(p, []*tensor.Tensor{g})
		for j := range ref {
			gj := a.Flat(j) * ref[j]
			m[j] = 0.9*m[j] + 0.1*gj
			v[j] = 0.95*v[j] + 0.05*gj*gj
			mh := m[j] / (1 - math.Pow(0.9, float64(step)))
			vh := v[j] / (1 - math.Pow(0.95, float64(step)))
			// PyTorch: denom = sqrt(v)/sqrt(bc2) + eps; equal to ours up to eps placement.
			ref[j] -= 0.1 * mh / (math.Sqrt(vh) + 1e-8*math.Sqrt(1/(1-math.Pow(0.95, float64(step)))))
		}
		for j := range ref {
			if math.Abs(x.Flat(j)-ref[j]) > 1e-12 {
				t.Fatalf("step %d: x=%v want %v", step, x.Values(), ref)
			}
		}
	}
}

func TestUnrolledMatchesReal(t *testing.T) {
	for _, name := range []string{"adam", "sgd"} {
		t.Run(name, func(t *testing.T) {
			p := nn.NewParams()
			x := p.Add("x", tensor.FromFloat64([]float64{1, -2, 0.5}, 3))
			a := tensor.FromFloat64([]float64{1, 3, -0.5}, 3)
			var opt Optimizer = NewAdam(0.1, 0.9, 0.95)
			if name == "sgd" {
				opt = NewSGD(0.1)
			}
			opt.Step(p, []*tensor.Tensor{quadGrad(x, a)}) // non-trivial state
			u := opt.Unroll()
			vals := p.Consts()
			for i := 0; i < 3; i++ {
				g := ad.Const(quadGrad(vals.Get("x").Tensor(), a))
				vals = u.Step(vals, []*ad.Value{g})
			}
			for i := 0; i < 3; i++ {
				opt.Step(p, []*tensor.Tensor{quadGrad(x, a)})
			}
			for j := 0; j < 3; j++ {
				if d := math.Abs(vals.Get("x").Tensor().Flat(j) - x.Flat(j)); d > 1e-12 {
					t.Fatalf("unrolled %v real %v", vals.Get("x").Tensor(), x)
				}
			}
		})
	}
}

// TestUnrolledIsDifferentiable differentiates a loss evaluated after N
// unrolled steps on an inner objective that depends on theta, through the
// unroll, and checks it against finite differences in theta.
func TestUnrolledIsDifferentiable(t *testing.T) {
	phi0 := tensor.FromFloat64([]float64{0.3, -0.2}, 2)
	for _, name := range []string{"adam", "sgd"} {
		t.Run(name, func(t *testing.T) {
			f := func(th []*ad.Value) *ad.Value {
				p := nn.NewParams()
				p.Add("phi", phi0.Clone())
				var opt Optimizer = NewAdam(0.05, 0.9, 0.95)
				if name == "sgd" {
					opt = NewSGD(0.2)
				}
				// One real step so Adam's second moment is non-zero.
				opt.Step(p, []*tensor.Tensor{tensor.FromFloat64([]float64{0.1, -0.3}, 2)})
				u := opt.Unroll()
				phi := p.Consts()
				for n := 0; n < 3; n++ {
					// inner loss: sum (phi - theta)^2 * exp(theta)
					ph := phi.Get("phi")
					inner := ad.SumAll(ad.Mul(ad.Square(ad.Sub(ph, th[0])), ad.Exp(th[0])))
					g := ad.Grad(inner, []*ad.Value{ph}, ad.CreateGraph())
					phi = u.Step(phi, g)
				}
				ph := phi.Get("phi")
				return ad.SumAll(ad.Mul(ad.Square(ph), th[0]))
			}
			th := tensor.FromFloat64([]float64{0.7, 1.1}, 2)
			if _, err := ad.CheckGrad(f, []*tensor.Tensor{th}, ad.CheckOptions{Order: 1, Tol: 1e-6}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestCosine(t *testing.T) {
	if Cosine(1e-3, 0, 100) != 1e-3 {
		t.Fatal("cosine must start at base")
	}
	if math.Abs(Cosine(1e-3, 100, 100)-CosineMin) > 1e-15 {
		t.Fatal("cosine must end at the floor")
	}
	if _, err := ScheduleByName("linear"); err == nil {
		t.Fatal("unknown schedule accepted")
	}
}

func TestWithWarmup(t *testing.T) {
	w := WithWarmup(Cosine, 4)
	for it, want := range []float64{0.25, 0.5, 0.75, 1} {
		if got := w(1e-3, it, 100); math.Abs(got-want*Cosine(1e-3, it, 100)) > 1e-18 {
			t.Fatalf("iteration %d: lr %v, want %v of the cosine's", it, got, want)
		}
	}
	if w(1e-3, 50, 100) != Cosine(1e-3, 50, 100) {
		t.Fatal("warm-up must leave later iterations alone")
	}
	if WithWarmup(Constant, 0)(1e-3, 0, 10) != 1e-3 {
		t.Fatal("warmup 0 must leave the schedule alone")
	}
	// A warm-up of 500 in a 4-iteration run is cut to the run.
	long := WithWarmup(Constant, 500)
	for it, want := range []float64{0.25, 0.5, 0.75, 1} {
		if got := long(1e-3, it, 4); math.Abs(got-want*1e-3) > 1e-18 {
			t.Fatalf("cut warm-up, iteration %d: lr %v, want %v", it, got, want*1e-3)
		}
	}
}
