package config

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/bism-ml/bism/objective"
)

// MaxElements is the largest tensor a config may ask for (2^31 elements):
// a machine-independent bound that catches sizes typed wrong long before
// memory runs out. Whether a run fits this machine is checked when it is
// built (experiment.CheckMemory).
const MaxElements = 1 << 31

// Validate checks every key and the combinations they form, and returns an
// error naming the first bad key.
func (c *Config) Validate() error {
	bad := func(key string, format string, args ...any) error {
		return fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...))
	}
	if _, ok := c.Data.Name.Info(); !ok {
		return bad("data.name", "unknown data set %q%s", c.Data.Name, oneOf(Names()["data.name"], string(c.Data.Name)))
	}
	mi, ok := c.Model.Kind.Info()
	if !ok {
		return bad("model.kind", "unknown model %q%s", c.Model.Kind, oneOf(Names()["model.kind"], string(c.Model.Kind)))
	}
	me, ok := c.Method.Name.Info()
	if !ok {
		return bad("method.name", "unknown method %q%s", c.Method.Name, oneOf(Names()["method.name"], string(c.Method.Name)))
	}
	if mi.Deep {
		if err := c.validateDeep(bad); err != nil {
			return err
		}
	}
	if !c.Method.Name.Trains(c.Model.Kind) {
		return bad("method.name", "%s does not train model %s (%s)", me.Name, mi.Name, methodHint(c.Method.Name, c.Model.Kind))
	}
	if c.Model.Hidden < 1 {
		return bad("model.hidden", "must be at least 1, got %d", c.Model.Hidden)
	}
	if c.Model.Bottleneck < 0 || (c.Model.Bottleneck > 0 && c.Model.Kind != ResNetEBM) {
		return bad("model.bottleneck", "is a %s option and must be non-negative, got %d for %s", ResNetEBM, c.Model.Bottleneck, c.Model.Kind)
	}
	m := c.Method
	if m.K < 0 || m.N < 0 {
		return bad("method.k/method.n", "must be non-negative, got k=%d n=%d", m.K, m.N)
	}
	if (m.Name == CD || m.Name == PCD) && m.K < 1 {
		return bad("method.k", "CD and PCD need at least one Gibbs step, got %d", m.K)
	}
	if err := m.validateGradient(bad); err != nil {
		return err
	}
	score, hasScore := m.Name.Score()
	if hasScore && score == objective.DSM && !(m.Sigma > 0) {
		return bad("method.sigma", "DSM needs a positive noise level, got %v", m.Sigma)
	}
	if hasScore && score == objective.MDSM && !(m.SigmaBegin > 0 && m.SigmaEnd > 0 && m.Sigma0 > 0) {
		return bad("method.sigma_begin/sigma_end/sigma0", "MDSM needs positive noise levels, got %v, %v, %v", m.SigmaBegin, m.SigmaEnd, m.Sigma0)
	}
	if m.Name == PCD && m.Chains < 1 {
		return bad("method.chains", "PCD needs at least one chain, got %d", m.Chains)
	}
	if m.Name == VNCE && m.Particles < 1 {
		return bad("method.particles", "VNCE needs at least one particle, got %d", m.Particles)
	}
	t := c.Train
	if t.Iterations < 1 {
		return bad("train.iterations", "must be at least 1, got %d", t.Iterations)
	}
	if t.BatchSize < 1 {
		return bad("train.batch_size", "must be at least 1, got %d", t.BatchSize)
	}
	if !(t.LR > 0) {
		return bad("train.lr", "must be positive, got %v", t.LR)
	}
	if t.InnerLR < 0 {
		return bad("train.inner_lr", "must be positive (or 0 for lr), got %v", t.InnerLR)
	}
	if !(t.Beta1 >= 0 && t.Beta1 < 1) {
		return bad("train.beta1", "must lie in [0, 1), got %v", t.Beta1)
	}
	if !(t.Beta2 >= 0 && t.Beta2 < 1) {
		return bad("train.beta2", "must lie in [0, 1), got %v", t.Beta2)
	}
	if !slices.Contains(names(schedules), string(t.Schedule)) {
		return bad("train.schedule", "unknown schedule %q%s", t.Schedule, oneOf(names(schedules), string(t.Schedule)))
	}
	if t.InnerSchedule != "" && !slices.Contains(names(schedules), string(t.InnerSchedule)) {
		return bad("train.inner_schedule", "unknown schedule %q%s, or leave it unset to follow train.schedule", t.InnerSchedule, oneOf(names(schedules), string(t.InnerSchedule)))
	}
	if t.Warmup < 0 {
		return bad("train.warmup", "must be non-negative, got %d", t.Warmup)
	}
	if t.EvalEvery < 0 {
		return bad("train.eval_every", "must be non-negative, got %d", t.EvalEvery)
	}
	if t.CheckpointEvery < 0 {
		return bad("train.checkpoint_every", "must be non-negative, got %d", t.CheckpointEvery)
	}
	if err := CheckSampler(c.Eval.Sampler, c.Model.Kind); err != nil {
		return bad("eval.sampler", "%v", err)
	}
	if err := c.validateSizes(bad); err != nil {
		return err
	}
	if mi.Deep {
		return nil // eval.ll and eval.fisher are GRBM metrics; deep runs are evaluated by sampling
	}
	switch c.Eval.LL {
	case LLExact:
		if c.Model.Hidden > 20 {
			return bad("eval.ll", "exact log-likelihood enumerates 2^H states; H=%d is too large, use ais", c.Model.Hidden)
		}
	case LLAIS:
		if c.Eval.AISChains < 1 || c.Eval.AISBetas < 2 {
			return bad("eval.ais_chains/ais_betas", "need at least 1 chain and 2 temperatures, got %d and %d", c.Eval.AISChains, c.Eval.AISBetas)
		}
	case LLNone:
	default:
		return bad("eval.ll", "unknown log-likelihood estimator %q%s", c.Eval.LL, oneOf(names(lls), string(c.Eval.LL)))
	}
	if c.Eval.Grid < 1 {
		return bad("eval.grid", "must be at least 1, got %d", c.Eval.Grid)
	}
	return nil
}

// validateDeep checks the combinations the deep image models accept.
func (c *Config) validateDeep(bad func(string, string, ...any) error) error {
	if !c.Data.Name.Images() {
		return bad("data.name", "model %s needs 32x32 images (mnist, fashion-mnist or cifar10), got %q", c.Model.Kind, c.Data.Name)
	}
	if c.Model.Ch < 0 || c.Model.Features < 0 || c.Model.PosteriorCh < 0 {
		return bad("model.ch/features/posterior_ch", "must be non-negative (0 selects the paper's value), got %d, %d, %d",
			c.Model.Ch, c.Model.Features, c.Model.PosteriorCh)
	}
	if c.Model.ScalarSigma {
		return bad("model.scalar_sigma", "is a GRBM option; model %s has no σ", c.Model.Kind)
	}
	return nil
}

// methodHint says why a method does not train a model and what would.
func methodHint(m Method, k ModelKind) string {
	switch {
	case m == CD || m == PCD || m == NCE || m == VNCE:
		return string(m) + " needs a GRBM (Gibbs sampling or a tractable normaliser)"
	case m == SM || m == BiSM:
		return "exact score matching needs a D x D Hessian trace, too costly on images"
	case k == DeepEBLVM:
		return "a model with latents trains with bimdsm, bidsm or bissm"
	case k == ResNetEBM:
		return "a fully visible model trains with mdsm, dsm or ssm; bi-level methods need model.kind deep_eblvm"
	}
	return "see bism keys"
}

// validateSizes refuses a config whose largest tensors would exceed
// MaxElements: a fast, machine-independent check of sizes typed wrong.
func (c *Config) validateSizes(bad func(string, string, ...any) error) error {
	d := float64(c.Data.Name.Dim())
	b, h := float64(c.Train.BatchSize), float64(c.Model.Hidden)
	type size struct {
		keys string
		n    float64
	}
	sizes := []size{{"train.batch_size", b * d}, {"model.hidden", b * h}}
	if c.Model.Kind == GRBM {
		sizes = append(sizes, size{"model.hidden", d * h})
		if c.Method.Name == PCD {
			sizes = append(sizes, size{"method.chains", float64(c.Method.Chains) * max(d, h)})
		}
		if c.Method.Name == VNCE {
			sizes = append(sizes, size{"method.particles", float64(c.Method.Particles) * b * h})
		}
		if c.Eval.LL == LLAIS {
			sizes = append(sizes, size{"eval.ais_chains", float64(c.Eval.AISChains) * max(d, h)})
		}
		if d == 2 {
			g := float64(c.Eval.Grid)
			sizes = append(sizes, size{"eval.grid", g * g * 2})
		}
	} else {
		info, _ := c.Data.Name.Info()
		px := float64(info.Shape[1] * info.Shape[2])
		ch := float64(c.Model.Ch)
		if ch == 0 {
			ch = 128
		}
		pch := float64(c.Model.PosteriorCh)
		if pch == 0 {
			pch = 64
		}
		sizes = append(sizes, size{"model.ch", b * ch * px}, size{"model.posterior_ch", b * pch * px},
			size{"model.features", float64(c.Model.Features) * ch * 128})
	}
	for _, s := range sizes {
		if s.n > MaxElements {
			return bad(s.keys, "asks for a tensor of %.3g elements, beyond the limit of %d (2^31); is the value a typo?", s.n, MaxElements)
		}
	}
	return nil
}

// Describe is a one-line summary of what the config trains.
func (c Config) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s on %s (%s, H=%d", c.Method.Name, c.Data.Name, c.Model.Kind, c.Model.Hidden)
	if c.Model.Kind.Deep() && c.Model.Ch > 0 {
		fmt.Fprintf(&b, ", ch=%d", c.Model.Ch)
	}
	fmt.Fprintf(&b, "), %d iterations", c.Train.Iterations)
	return b.String()
}

// validateGradient checks how BiSM differentiates through φ*(θ): the
// unrolled optimizer, or the implicit gradient's solver settings (with
// which n and unroll have no meaning and must be 0 and empty).
func (m MethodConfig) validateGradient(bad func(string, string, ...any) error) error {
	switch m.Gradient {
	case GradientUnroll, "": // unset: the unroll, as before the key existed
		if !slices.Contains(names(unrolls), string(m.Unroll)) {
			return bad("method.unroll", "unknown unrolled optimizer %q%s", m.Unroll, oneOf(names(unrolls), string(m.Unroll)))
		}
		return nil
	case GradientImplicit:
	default:
		return bad("method.gradient", "unknown gradient %q%s", m.Gradient, oneOf(names(gradients), string(m.Gradient)))
	}
	if !m.Name.Bilevel() {
		return bad("method.gradient", "%s is a bi-level score matching option; %s has no inner problem", GradientImplicit, m.Name)
	}
	if m.N != 0 {
		return bad("method.n", "the implicit gradient unrolls no steps; remove method.n (or set it to 0), got %d", m.N)
	}
	if m.Unroll != "" {
		return bad("method.unroll", "the implicit gradient unrolls no steps; remove method.unroll, got %q", m.Unroll)
	}
	if m.Solver != "" && !slices.Contains(names(solvers), string(m.Solver)) {
		return bad("method.solver", "unknown solver %q%s", m.Solver, oneOf(names(solvers), string(m.Solver)))
	}
	if m.SolverIters < 1 {
		return bad("method.solver_iters", "must be at least 1, got %d", m.SolverIters)
	}
	if !(m.SolverTol > 0 && m.SolverTol < 1) {
		return bad("method.solver_tol", "must be in (0, 1), got %v", m.SolverTol)
	}
	if m.Draws < 1 {
		return bad("method.draws", "must be at least 1, got %d", m.Draws)
	}
	if !(m.Damping >= 0) || math.IsInf(m.Damping, 0) {
		return bad("method.damping", "must be finite and non-negative, got %v", m.Damping)
	}
	if m.Solver == SolverCG && m.Damping == 0 {
		return bad("method.damping", "cg needs a positive damping: the inner Hessian is singular when D + 1 > batch size (or use solver minres, which needs none)")
	}
	return nil
}
