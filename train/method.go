package train

import (
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// stepper is one learning method: it turns a minibatch into θ's gradient,
// updating whatever else the method owns (the posterior and its optimizer,
// persistent chains, a log-normaliser).
type stepper interface {
	// step returns the training loss, the inner loss (bi-level methods; NaN
	// otherwise) and θ's gradient.
	step(v *tensor.Tensor, rng *tensor.RNG) (loss, inner float64, grads []*tensor.Tensor)
	// aux lists extra parameter sets and their optimizers, by checkpoint prefix.
	aux() map[string]auxState
	// setLR applies the schedule to the method's own optimizers.
	setLR(lr float64)
}

// auxState is a parameter set owned by a method (and its optimizer, if any).
type auxState struct {
	params *nn.Params
	opt    optim.Optimizer
}

// bilevelStepper is Algorithm 1.
type bilevelStepper struct {
	b *objective.BiLevel
	q *model.BernoulliPosterior
}

func (s *bilevelStepper) step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	r := s.b.Step(v, rng)
	return r.Loss, r.InnerLoss, r.Grads
}

func (s *bilevelStepper) aux() map[string]auxState {
	return map[string]auxState{"posterior": {s.q.Params(), s.b.InnerOpt}}
}

func (s *bilevelStepper) setLR(lr float64) { s.b.InnerOpt.SetLR(lr) }

// marginalStepper is score matching on the GRBM's tractable marginal.
type marginalStepper struct {
	m *model.GRBM
	o objective.Outer
}

func (s *marginalStepper) step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g := objective.MarginalStep(s.m, s.o, v, rng)
	return l, nan, g
}

func (s *marginalStepper) aux() map[string]auxState { return nil }
func (s *marginalStepper) setLR(float64)            {}

// InnerOptimizer returns the posterior's optimizer of a bi-level run (nil otherwise).
func (r *Run) InnerOptimizer() optim.Optimizer {
	if s, ok := r.method.(*bilevelStepper); ok {
		return s.b.InnerOpt
	}
	return nil
}
