package ad

import "github.com/bism-ml/bism/tensor"

// Operations that stand for compositions the models evaluate on every
// example: one kernel forward and one for a first-order backward pass,
// rounding as the composition does, so that results keep their bits, and
// the composition's own rule when the backward pass is recorded (so higher
// derivatives are the composition's too). ELU's recorded backward rule,
// eluBackward, is one as well (ops.go).

// SquaredDistance returns s_n = Σ_i w_i (x_ni - c_i)² for each row of x
// [B, D], with c and w of shape [D]: the quadratic term of a Gaussian
// energy in one operation. It is Sum(Mul(Square(Sub(x, c)), w), false, -1)
// with the same bits, forward and in a first-order backward pass, where one
// fused kernel computes
//
//	∂/∂x_ni = 2 g_n w_i (x_ni - c_i),  ∂/∂c = -Σ_n ∂/∂x_n,  ∂/∂w_i = Σ_n g_n (x_ni - c_i)².
//
// Its recorded backward pass is that composition's, on a recomputed x - c.
func SquaredDistance(x, c, w *Value) *Value {
	return record("SquaredDistance", tensor.SquaredDistance(x.t, c.t, w.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		x, c, w := in[0], in[1], in[2]
		if firstOrder(g, x, c, w) {
			// First-order backward pass: one fused kernel, nothing recorded.
			gx, gc, gw := tensor.SquaredDistanceGrad(g.t, x.t, c.t, w.t, need[0], need[1], need[2])
			return fill(res, constOrNil(gx), constOrNil(gc), constOrNil(gw))
		}
		d := Sub(x, c)
		gb := expandReduced(g, x.Shape(), lastAxis[:])
		if need[2] {
			res[2] = SumTo(Mul(gb, Square(d)), w.Shape())
		}
		if need[0] || need[1] {
			gd := squareVJP(Mul(gb, w), d, nil)
			if need[0] {
				res[0] = gd
			}
			if need[1] {
				res[1] = SumTo(Neg(gd), c.Shape())
			}
		}
		return res
	}, x, c, w)
}

// SigmoidScaledSum returns σ((x + c)·a) for same-shaped x and c: a relaxed
// Bernoulli sample σ((l + g)/τ) from logits l and logistic noise g in one
// operation, with the bits of Sigmoid(Scale(Add(x, c), a)) forward and in a
// first-order backward pass, ∂/∂x = ∂/∂c = G·y(1-y)·a for y the result, one
// kernel. Its recorded backward pass is that composition's.
func SigmoidScaledSum(x, c *Value, a float64) *Value {
	return withAttrs(record("SigmoidScaledSum", tensor.SigmoidScaledSum(x.t, c.t, a), sigmoidScaledSumVJP, x, c), attrs{f: [2]float64{a}})
}

func sigmoidScaledSumVJP(g *Value, _ []*Value, y *Value, at *attrs, _ []bool, res []*Value) []*Value {
	var d *Value
	if firstOrder(g, y) {
		// First-order backward pass: one fused kernel, nothing recorded.
		d = Const(tensor.SigmoidScaledSumGrad(g.t, y.t, at.f[0]))
	} else {
		d = Scale(sigmoidVJP(g, nil, y), at.f[0]) // then Scale's rule
	}
	return fill(res, d, d) // Add hands the cotangent to both
}

// BernoulliLogProb returns Σ_j h_j l_j - softplus(l_j) for each row of
// logits l and values h, [B, H]: the log-probability of h under
// independent Bernoulli(σ(l_j)), evaluated at relaxed h too, in one
// operation. It has the bits of Sum(Sub(Mul(h, l), Softplus(l)), false, -1)
// forward and in a first-order backward pass, one kernel for
//
//	∂/∂l = σ(l)·(-G) + G·h,  ∂/∂h = G·l.
//
// Its recorded backward pass is that composition's.
func BernoulliLogProb(l, h *Value) *Value {
	return record("BernoulliLogProb", tensor.BernoulliLogProb(l.t, h.t), func(g *Value, in []*Value, _ *Value, _ *attrs, need []bool, res []*Value) []*Value {
		l, h := in[0], in[1]
		if firstOrder(g, l, h) {
			// First-order backward pass: one fused kernel, nothing recorded.
			dl, dh := tensor.BernoulliLogProbGrad(g.t, l.t, h.t, need[0], need[1])
			return fill(res, constOrNil(dl), constOrNil(dh))
		}
		gb := expandReduced(g, l.Shape(), lastAxis[:])
		if need[0] {
			// Softplus's rule on Sub's negated cotangent, then Mul's.
			res[0] = Add(softplusVJP(Neg(gb), l, nil), Mul(gb, h))
		}
		if need[1] {
			res[1] = Mul(gb, l)
		}
		return res
	}, l, h)
}

// lastAxis is the axis the row-wise operations reduce.
var lastAxis = [1]int{-1}

// firstOrder reports whether a backward rule's operands are all constants:
// a first-order pass (Grad without CreateGraph), which records nothing, so
// the rule may run a fused kernel instead of recorded operations.
func firstOrder(vs ...*Value) bool { return !recorded(vs...) }

// constOrNil wraps t as a constant, or returns nil for a nil t.
func constOrNil(t *tensor.Tensor) *Value {
	if t == nil {
		return nil
	}
	return Const(t)
}
