package eval

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

func TestAISMatchesExactLogZ(t *testing.T) {
	for _, c := range []struct {
		scalar bool
		dt     tensor.DType
	}{{false, tensor.Float32}, {true, tensor.Float32}, {false, tensor.Float64}} {
		m := tinyGRBM(5, 6, c.scalar, 21, c.dt)
		exact, err := ExactLogZ(m)
		if err != nil {
			t.Fatal(err)
		}
		res, err := AIS(m, AISOptions{Chains: 500, Betas: 500, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("scalar=%v %v: exact %.4f, AIS %.4f ± %.4f (log Z0 %.4f)", c.scalar, c.dt, exact, res.LogZ, res.StdErr, res.LogZ0)
		if res.StdErr <= 0 || res.StdErr > 0.1 {
			t.Errorf("standard error %v out of range", res.StdErr)
		}
		if math.Abs(res.LogZ-exact) > 3*res.StdErr+1e-3 {
			t.Errorf("AIS %v ± %v, exact %v", res.LogZ, res.StdErr, exact)
		}
		if math.Abs(exact-res.LogZ0) < 10*res.StdErr {
			t.Errorf("test is too easy: log Z0 %v is within noise of log Z %v", res.LogZ0, exact)
		}
	}
}

func TestAISDeterministicAcrossWorkers(t *testing.T) {
	m := tinyGRBM(4, 5, false, 2, tensor.Float32)
	saved := parallel.Workers
	defer func() { parallel.Workers = saved }()
	var got []AISResult
	calls := 0
	for _, w := range []int{1, 3} {
		parallel.Workers = w
		r, err := AIS(m, AISOptions{Chains: 200, Betas: 20, Seed: 5, Progress: func(done, total int) {
			calls++
			if total != 19 || done < 1 || done > total {
				t.Fatalf("progress %d/%d", done, total)
			}
		}})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if got[0].LogZ != got[1].LogZ || got[0].StdErr != got[1].StdErr {
		t.Errorf("results depend on the worker count: %+v vs %+v", got[0].LogZ, got[1].LogZ)
	}
	if calls != 2*19 {
		t.Errorf("progress called %d times", calls)
	}
	if _, err := AIS(m, AISOptions{Chains: 1}); err == nil {
		t.Error("one chain accepted")
	}
}

func TestExpNeg(t *testing.T) {
	worst := 0.0
	for z := 0.0; z > -708; z -= 0.0137 {
		want := math.Exp(z)
		if d := math.Abs(expNeg(z)-want) / want; d > worst {
			worst = d
		}
	}
	t.Logf("worst relative error %g", worst)
	if worst > 1e-15 {
		t.Errorf("worst relative error %g", worst)
	}
	if expNeg(-800) != 0 || expNeg(0) != 1 {
		t.Errorf("expNeg(-800) = %v, expNeg(0) = %v", expNeg(-800), expNeg(0))
	}
}

// softplusIncrement against the direct formula, including the branches for
// large steps and large |x|.
func TestSoftplusIncrement(t *testing.T) {
	sp := func(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }
	rng := tensor.NewRNG(3).Rand()
	for _, db := range []float64{1.0 / 1999, 1.0 / 499, 0.05, 0.5, 1} {
		for i := 0; i < 20000; i++ {
			x := rng.NormFloat64() * math.Pow(10, 3*rng.Float64()-1) // |x| from ~0.1 to ~100s
			bp := rng.Float64() * (1 - db)
			inc, e2 := softplusIncrement(x, bp, db)
			want := sp((bp+db)*x) - sp(bp*x)
			// The direct formula itself loses ~1e-16 * softplus to cancellation.
			tol := 1e-14 * (1 + math.Abs(sp((bp+db)*x)))
			if math.Abs(inc-want) > tol {
				t.Fatalf("x=%v bp=%v db=%v: %v, want %v", x, bp, db, inc, want)
			}
			if we := math.Exp(-(bp + db) * math.Abs(x)); math.Abs(e2-we) > 1e-12*we {
				t.Fatalf("x=%v bp=%v db=%v: e2 %v, want %v", x, bp, db, e2, we)
			}
		}
	}
}

// TestAISAcrossRanks: chains split over goroutine ranks give the single
// process's log weights bit for bit, for uneven splits of the blocks too.
func TestAISAcrossRanks(t *testing.T) {
	m := model.NewGRBM(30, 20, false, tensor.NewRNG(3), tensor.Float32)
	opts := AISOptions{Chains: 300, Betas: 50, Seed: 7} // 5 blocks of chains
	want, err := AIS(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int{2, 3, 7} {
		res := make([]AISResult, p)
		dist.RunLocal(p, func(c dist.Comm) (err error) {
			o := opts
			o.Across = c
			res[c.Rank()], err = AIS(m, o)
			return err
		})
		for r := range res {
			if res[r].LogZ != want.LogZ || res[r].StdErr != want.StdErr {
				t.Fatalf("%d ranks, rank %d: log Z %v ± %v, one process %v ± %v", p, r, res[r].LogZ, res[r].StdErr, want.LogZ, want.StdErr)
			}
			for i, w := range want.LogWeights {
				if res[r].LogWeights[i] != w {
					t.Fatalf("%d ranks, rank %d: chain %d's weight %v, one process %v", p, r, i, res[r].LogWeights[i], w)
				}
			}
		}
	}
}
