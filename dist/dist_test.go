package dist

import (
	"fmt"
	"math"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/tensor"
)

// onRanks runs f on p goroutine ranks and returns their results by rank.
func onRanks[T any](p int, f func(g *Group) T) []T {
	out := make([]T, p)
	RunLocal(p, func(c Comm) error {
		out[c.Rank()] = f(NewGroup(c))
		return nil
	})
	return out
}

func TestRows(t *testing.T) {
	for _, c := range []struct{ n, p int }{{10, 1}, {10, 2}, {10, 3}, {100, 7}, {3, 5}} {
		next := 0
		for r := 0; r < c.p; r++ {
			lo, hi := Rows(c.n, r, c.p)
			if lo != next || hi < lo || hi-lo > c.n/c.p+1 || hi-lo < c.n/c.p {
				t.Fatalf("Rows(%d, %d, %d) = [%d, %d) after %d", c.n, r, c.p, lo, hi, next)
			}
			next = hi
		}
		if next != c.n {
			t.Fatalf("Rows(%d, ·, %d) cover %d rows", c.n, c.p, next)
		}
	}
}

func TestSumAcrossSameOnEveryRank(t *testing.T) {
	const p = 3
	res := onRanks(p, func(g *Group) []*tensor.Tensor {
		r := float64(g.Comm.Rank())
		a := tensor.FromFloat32([]float32{float32(r), 1, float32(r * r)}, 3)
		b := tensor.FromFloat64([]float64{r + 0.5}, 1)
		out := g.SumAcross([]*tensor.Tensor{a})
		out = append(out, g.SumAcross([]*tensor.Tensor{b})...)
		if c, n := g.Traffic(); c != 2 || n != 3*4+8 {
			panic(fmt.Sprintf("traffic %d calls %d bytes", c, n))
		}
		return out
	})
	for r := range res {
		if got := res[r][0].Values(); got[0] != 3 || got[1] != 3 || got[2] != 5 {
			t.Fatalf("rank %d: float32 sum %v", r, got)
		}
		if got := res[r][1].Item(); got != 4.5 {
			t.Fatalf("rank %d: float64 sum %v", r, got)
		}
	}
}

// TestAllReduceGradients checks ad.AllReduce against central differences at
// orders 1 to 3 (the gradcheck of the engine, across ranks): rank r's
// gradient of its own output must be the gradient of Σ_r' f_r' with respect
// to x_r. Order k differentiates x -> Σ_i <∇_i level_{k-1}, u_i> built with
// CreateGraph, so the all-reduce in every backward pass is differentiated
// again; order 1 is checked through the recorded and the fused backward.
func TestAllReduceGradients(t *testing.T) {
	const p = 3
	shapes := [][]int{{2, 3}, {4}}
	rng := tensor.NewRNG(5)
	xs := make([][]*tensor.Tensor, p) // xs[r][i]
	cs := make([]*tensor.Tensor, p)   // rank-specific constants
	us := make([][][]*tensor.Tensor, 3)
	for r := range xs {
		for _, s := range shapes {
			xs[r] = append(xs[r], rng.Normal(tensor.Float64, 0, 1, s...))
		}
		cs[r] = rng.Normal(tensor.Float64, 0, 1, 2, 3)
	}
	for k := range us {
		us[k] = make([][]*tensor.Tensor, p)
		for r := range us[k] {
			for _, s := range shapes {
				us[k][r] = append(us[k][r], rng.Normal(tensor.Float64, 0, 1, s...))
			}
		}
	}
	// f_r mixes local and reduced values nonlinearly.
	f := func(g *Group, x []*ad.Value) *ad.Value {
		r := g.Comm.Rank()
		y := ad.AllReduce(x, g)
		a := ad.Mul(ad.Mul(ad.Tanh(y[0]), x[0]), ad.Const(cs[r]))
		b := ad.Mul(ad.Square(y[1]), ad.Exp(ad.Scale(x[1], 0.3)))
		z := ad.AllReduce([]*ad.Value{ad.SumAll(b)}, g)[0]
		return ad.Add(ad.Add(ad.SumAll(a), ad.Mul(z, ad.SumAll(x[0]))), ad.SumAll(ad.Mul(ad.Square(x[0]), x[0])))
	}
	// level k on rank r; with grads, also its gradient (recorded or fused).
	var level func(k int, g *Group, x []*ad.Value) *ad.Value
	level = func(k int, g *Group, x []*ad.Value) *ad.Value {
		if k == 1 {
			return f(g, x)
		}
		gs := ad.Grad(level(k-1, g, x), x, ad.CreateGraph())
		var s *ad.Value
		for i, gi := range gs {
			d := ad.Dot(gi, ad.Const(us[k-2][g.Comm.Rank()][i]))
			if s == nil {
				s = d
			} else {
				s = ad.Add(s, d)
			}
		}
		return s
	}
	vars := func(r int) []*ad.Value {
		v := make([]*ad.Value, len(shapes))
		for i := range v {
			v[i] = ad.Var(xs[r][i])
		}
		return v
	}
	total := func(k int) float64 {
		vals := onRanks(p, func(g *Group) float64 { return level(k, g, vars(g.Comm.Rank())).Item() })
		s := 0.0
		for _, v := range vals {
			s += v
		}
		return s
	}
	const eps = 1e-5
	for k := 1; k <= 3; k++ {
		for _, recorded := range []bool{true, false} {
			if k > 1 && !recorded {
				continue
			}
			grads := onRanks(p, func(g *Group) []*tensor.Tensor {
				x := vars(g.Comm.Rank())
				var opts []ad.GradOption
				if recorded {
					opts = append(opts, ad.CreateGraph())
				}
				return ad.Tensors(ad.Grad(level(k, g, x), x, opts...))
			})
			for r := 0; r < p; r++ {
				for i := range shapes {
					x := xs[r][i]
					var diff, scale float64
					for j := 0; j < x.Size(); j++ {
						orig := x.Flat(j)
						x.SetFlat(j, orig+eps)
						fp := total(k)
						x.SetFlat(j, orig-eps)
						fm := total(k)
						x.SetFlat(j, orig)
						num := (fp - fm) / (2 * eps)
						diff = math.Max(diff, math.Abs(grads[r][i].Flat(j)-num))
						scale = math.Max(scale, math.Abs(num))
					}
					if rel := diff / math.Max(scale, 1e-8); !(rel < 1e-6) {
						t.Errorf("order %d (recorded %v), rank %d input %d: relative error %.3g", k, recorded, r, i, rel)
					}
				}
			}
		}
	}
}

// TestShardMeanIsGlobalMean: per-rank means over uneven shards, combined by
// Shard, are the global batch's mean, and its gradient is the global one.
func TestShardMeanIsGlobalMean(t *testing.T) {
	const n, p = 7, 3
	data := tensor.NewRNG(2).Normal(tensor.Float64, 0, 1, n, 2)
	w := tensor.FromFloat64([]float64{0.3, -1.2}, 2)
	wv := ad.Var(w)
	want := ad.Mean(ad.Square(ad.MatMul(ad.Const(data), ad.Reshape(wv, 2, 1), false, false)), false)
	wantGrad := ad.Grad(want, []*ad.Value{wv})[0].Tensor()
	res := onRanks(p, func(g *Group) [2]float64 {
		s := NewShard(g, n)
		wv := ad.Var(w)
		rows := ad.Const(tensor.Slice(data, 0, s.Lo, s.Hi))
		local := ad.Mean(ad.Square(ad.MatMul(rows, ad.Reshape(wv, 2, 1), false, false)), false)
		grad := s.MeanTensors(ad.Tensors(ad.Grad(local, []*ad.Value{wv})))[0]
		loss := local.Item()
		s.MeanScalars(&loss)
		return [2]float64{loss, math.Abs(grad.Flat(0)-wantGrad.Flat(0)) + math.Abs(grad.Flat(1)-wantGrad.Flat(1))}
	})
	for r, v := range res {
		if math.Abs(v[0]-want.Item()) > 1e-12 || v[1] > 1e-12 {
			t.Fatalf("rank %d: loss %v (want %v), gradient off by %v", r, v[0], want.Item(), v[1])
		}
	}
	if s := NewShard(nil, n); s != nil || s.Weight() != 1 {
		t.Fatal("a single process has no shard")
	}
}

// TestFlag: any rank's true is every rank's.
func TestFlag(t *testing.T) {
	for _, raised := range []int{-1, 0, 2} {
		got := onRanks(3, func(g *Group) bool { return g.Flag(g.Comm.Rank() == raised) })
		for r, v := range got {
			if v != (raised >= 0) {
				t.Fatalf("rank %d raised: rank %d sees %v", raised, r, v)
			}
		}
	}
}
