package train

import (
	"fmt"

	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// newBaseline builds the CD, PCD, NCE or VNCE stepper.
func newBaseline(cfg Config, m *model.GRBM, rng *tensor.RNG, innerLR float64) (stepper, *model.BernoulliPosterior, error) {
	t := cfg.Train
	switch cfg.Method.Name {
	case "cd":
		return &cdStepper{cd: objective.CD{K: cfg.Method.K}, m: m}, nil, nil
	case "pcd":
		p := objective.NewPCD(cfg.Method.K)
		p.NumChains = cfg.Method.Chains
		st := nn.NewParams()
		st.Add("chains", tensor.New(tensor.Float32, cfg.Method.Chains, m.D))
		return &pcdStepper{pcd: p, m: m, state: st}, nil, nil
	case "nce":
		n := objective.NewNCE(tensor.Float32)
		return &nceStepper{nce: n, m: m, opt: optim.NewAdam(t.LR, t.Beta1, t.Beta2)}, nil, nil
	case "vnce":
		q := model.NewBernoulliPosterior(m.D, m.H, rng, tensor.Float32)
		v := objective.NewVNCE(q, optim.NewAdam(innerLR, t.Beta1, t.Beta2), tensor.Float32)
		v.K, v.Particles = cfg.Method.K, cfg.Method.Particles
		return &vnceStepper{v: v, m: m, q: q, opt: optim.NewAdam(t.LR, t.Beta1, t.Beta2)}, q, nil
	}
	return nil, nil, fmt.Errorf("train: no baseline called %q", cfg.Method.Name)
}

type cdStepper struct {
	cd objective.CD
	m  *model.GRBM
}

func (s *cdStepper) step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g := s.cd.Step(s.m, v, rng)
	return l, nan, g
}
func (s *cdStepper) aux() map[string]auxState { return nil }
func (s *cdStepper) setLR(float64)            {}

// pcdStepper keeps the persistent chains in a parameter set so they are
// checkpointed with the rest of the run.
type pcdStepper struct {
	pcd      *objective.PCD
	m        *model.GRBM
	state    *nn.Params
	restored bool
}

func (s *pcdStepper) step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	if s.restored {
		s.pcd.SetChains(s.state.Get("chains"))
		s.restored = false
	}
	l, g := s.pcd.Step(s.m, v, rng)
	s.state.Get("chains").CopyFrom(s.pcd.Chains().As(tensor.Float32))
	return l, nan, g
}
func (s *pcdStepper) aux() map[string]auxState {
	return map[string]auxState{"pcd": {params: s.state}}
}
func (s *pcdStepper) setLR(float64) {}
func (s *pcdStepper) afterRestore() { s.restored = true }

// nceStepper also learns NCE's log-normaliser with its own Adam.
type nceStepper struct {
	nce *objective.NCE
	m   *model.GRBM
	opt *optim.Adam
}

func (s *nceStepper) step(v *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	l, g, gz := s.nce.Step(s.m, v, rng)
	s.opt.Step(s.nce.Params(), gz)
	return l, nan, g
}
func (s *nceStepper) aux() map[string]auxState {
	return map[string]auxState{"nce": {s.nce.Params(), s.opt}}
}
func (s *nceStepper) setLR(lr float64) { s.opt.SetLR(lr) }

type vnceStepper struct {
	v   *objective.VNCE
	m   *model.GRBM
	q   *model.BernoulliPosterior
	opt *optim.Adam
}

func (s *vnceStepper) step(x *tensor.Tensor, rng *tensor.RNG) (float64, float64, []*tensor.Tensor) {
	r := s.v.Step(s.m, x, rng)
	s.opt.Step(s.v.Params(), r.LogZGrads)
	return r.Loss, -r.Bound, r.Grads
}
func (s *vnceStepper) aux() map[string]auxState {
	return map[string]auxState{"posterior": {s.q.Params(), s.v.InnerOpt}, "vnce": {s.v.Params(), s.opt}}
}
func (s *vnceStepper) setLR(lr float64) { s.opt.SetLR(lr); s.v.InnerOpt.SetLR(lr) }
