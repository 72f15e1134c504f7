package experiment

import (
	"fmt"
	"math"
	"slices"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// The learning methods as train.Methods: Algorithm 1, score matching on a
// tractable marginal, and the GRBM baselines.

var nan = math.NaN()

// bilevel is Algorithm 1 (objective.BiLevel) with its posterior.
type bilevel struct {
	b *objective.BiLevel
	q model.Posterior

	// The implicit gradient's solves since the last metrics record.
	solves                     int
	iters, residual, innerGrad float64

	state []train.State // State's list (states)
}

func (s *bilevel) Step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	r := s.b.Step(v, rng)
	if r.Implicit != nil {
		s.solves++
		s.iters += float64(r.Implicit.Iters)
		s.residual += r.Implicit.Residual
		s.innerGrad += r.Implicit.InnerGradNorm
	}
	return r.Loss, r.InnerLoss, r.Grads
}

// record adds the implicit solves' means since the last record: solver
// iterations, relative residual ||b - Hw|| / ||b|| and ||∇_φ Ĝ_M|| at φ⁰.
func (s *bilevel) record(rec train.Record) {
	if s.solves == 0 {
		return
	}
	n := float64(s.solves)
	rec["solver_iters"] = s.iters / n
	rec["solver_residual"] = s.residual / n
	rec["inner_grad_norm"] = s.innerGrad / n
	s.solves, s.iters, s.residual, s.innerGrad = 0, 0, 0, 0
}

func (s *bilevel) State() []train.State {
	return states(&s.state, train.State{Name: "posterior", Params: s.q.Params(), Opt: s.b.InnerOpt})
}

// states returns ss, a method's State, from *cache, where it is made
// again only when it changes: the training loop asks for it every step.
func states(cache *[]train.State, ss ...train.State) []train.State {
	if !slices.Equal(*cache, ss) {
		*cache = append((*cache)[:0], ss...)
	}
	return *cache
}

func (s *bilevel) SetInnerLR(lr float64) { s.b.InnerOpt.SetLR(lr) }

// marginal is score matching on a model's tractable marginal.
type marginal struct {
	m model.FreeEnergyModel
	o objective.Outer
}

func (s *marginal) Step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g := objective.MarginalStep(s.m, s.o, v, rng)
	return l, nan, g
}

func (s *marginal) State() []train.State { return nil }
func (s *marginal) SetInnerLR(float64)   {}

// cd is contrastive divergence with K Gibbs steps.
type cd struct {
	cd objective.CD
	m  *model.GRBM
}

func (s *cd) Step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g := s.cd.Step(s.m, v, rng)
	return l, nan, g
}
func (s *cd) State() []train.State { return nil }
func (s *cd) SetInnerLR(float64)   {}

// pcd keeps the persistent chains in a parameter set so that they are
// checkpointed with the rest of the run.
type pcd struct {
	pcd      *objective.PCD
	m        *model.GRBM
	state    *nn.Params
	restored bool
	states   []train.State
}

func (s *pcd) Step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	if s.restored {
		s.pcd.SetChains(s.state.Get("chains"))
		s.restored = false
	}
	l, g := s.pcd.Step(s.m, v, rng)
	s.state.Get("chains").CopyFrom(s.pcd.Chains().As(tensor.Float32))
	return l, nan, g
}
func (s *pcd) State() []train.State {
	return states(&s.states, train.State{Name: "pcd", Params: s.state})
}
func (s *pcd) SetInnerLR(float64) {}
func (s *pcd) Restored()          { s.restored = true }

// nce also learns NCE's log-normaliser with its own Adam, stepped by
// Commit once the step is known to be finite.
type nce struct {
	nce *objective.NCE
	m   *model.GRBM
	opt *optim.Adam
	gz  []*tensor.Tensor
	st  []train.State
}

func (s *nce) Step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g, gz := s.nce.Step(s.m, v, rng)
	s.gz = gz
	return l, nan, g
}
func (s *nce) Commit() error { return stepLogZ(s.opt, s.nce.Params(), &s.gz) }

// stepLogZ steps a log-normaliser with its pending gradient, refusing a
// non-finite one.
func stepLogZ(opt *optim.Adam, p *nn.Params, gz *[]*tensor.Tensor) error {
	for _, g := range *gz {
		if g.HasNaNOrInf() {
			return fmt.Errorf("the log-normaliser's gradient is not finite")
		}
	}
	opt.Step(p, *gz)
	*gz = nil
	return nil
}
func (s *nce) State() []train.State {
	return states(&s.st, train.State{Name: "nce", Params: s.nce.Params(), Opt: s.opt})
}
func (s *nce) SetInnerLR(lr float64) { s.opt.SetLR(lr) }

// vnce learns a posterior (with VNCE's inner optimizer) and the
// log-normaliser (with its own Adam).
type vnce struct {
	v   *objective.VNCE
	m   *model.GRBM
	q   *model.BernoulliPosterior
	opt *optim.Adam
	gz  []*tensor.Tensor
	st  []train.State
}

func (s *vnce) Step(x *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	r := s.v.Step(s.m, x, rng)
	s.gz = r.LogZGrads
	return r.Loss, -r.Bound, r.Grads
}
func (s *vnce) Commit() error { return stepLogZ(s.opt, s.v.Params(), &s.gz) }
func (s *vnce) State() []train.State {
	return states(&s.st, train.State{Name: "posterior", Params: s.q.Params(), Opt: s.v.InnerOpt}, train.State{Name: "vnce", Params: s.v.Params(), Opt: s.opt})
}
func (s *vnce) SetInnerLR(lr float64) { s.opt.SetLR(lr); s.v.InnerOpt.SetLR(lr) }
