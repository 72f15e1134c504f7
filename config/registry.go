package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bism-ml/bism/objective"
)

// The registry: every data set, model, method, schedule, unrolled
// optimizer, log-likelihood estimator and sampler a config may name, with
// what each needs. Validation, the run builder, error hints and `bism keys`
// read these tables; nothing else lists the names.

// DataSet names a data set (data.name).
type DataSet string

// The data sets.
const (
	Checkerboard DataSet = "checkerboard"
	Frey         DataSet = "frey"
	MNIST        DataSet = "mnist"
	FashionMNIST DataSet = "fashion-mnist"
	CIFAR10      DataSet = "cifar10"
)

// DataInfo describes a data set.
type DataInfo struct {
	Name  DataSet
	Shape []int // of one example
	Doc   string
}

var dataSets = []DataInfo{
	{Checkerboard, []int{2}, "2-D points on two opposite quarters of the unit square (generated)"},
	{Frey, []int{1, 28, 20}, "1965 Frey faces, 28x20, split 1400/300/265"},
	{MNIST, []int{1, 32, 32}, "MNIST digits zero-padded to 32x32"},
	{FashionMNIST, []int{1, 32, 32}, "Fashion-MNIST zero-padded to 32x32"},
	{CIFAR10, []int{3, 32, 32}, "CIFAR-10 colour images, 32x32"},
}

// Info returns the data set's entry; ok is false for an unknown name.
func (d DataSet) Info() (DataInfo, bool) {
	return lookup(dataSets, d, func(i DataInfo) DataSet { return i.Name })
}

// Dim is the number of values in one example (0 for an unknown set).
func (d DataSet) Dim() int {
	i, _ := d.Info()
	n := 0
	if len(i.Shape) > 0 {
		n = 1
	}
	for _, s := range i.Shape {
		n *= s
	}
	return n
}

// Images reports whether the set holds 32x32 images (the deep models' input).
func (d DataSet) Images() bool {
	i, _ := d.Info()
	return len(i.Shape) == 3 && i.Shape[1] == 32 && i.Shape[2] == 32
}

// ModelKind names a model (model.kind).
type ModelKind string

// The models.
const (
	GRBM      ModelKind = "grbm"
	DeepEBLVM ModelKind = "deep_eblvm"
	ResNetEBM ModelKind = "resnet_ebm"
)

// ModelInfo describes a model kind.
type ModelInfo struct {
	Name    ModelKind
	Deep    bool // a deep image model (ResNet energy)
	Latents bool // has latent variables h (an EBLVM)
	Doc     string
}

var models = []ModelInfo{
	{GRBM, false, true, "Gaussian-Bernoulli RBM (Sec. 5.1)"},
	{DeepEBLVM, true, true, "deep EBLVM: ResNet energy with Gaussian latents and a CNN posterior (Sec. 5.2)"},
	{ResNetEBM, true, false, "fully visible ResNet EBM, the MDSM baseline of Sec. 5.2"},
}

// Info returns the model kind's entry; ok is false for an unknown name.
func (m ModelKind) Info() (ModelInfo, bool) {
	return lookup(models, m, func(i ModelInfo) ModelKind { return i.Name })
}

// Deep reports whether the model is a deep image model.
func (m ModelKind) Deep() bool { i, _ := m.Info(); return i.Deep }

// Method names a learning method (method.name).
type Method string

// The methods: bi-level score matching (Algorithm 1) with each outer
// objective, score matching on a tractable marginal, and the GRBM
// baselines.
const (
	BiSSM  Method = "bissm"
	BiDSM  Method = "bidsm"
	BiMDSM Method = "bimdsm"
	BiSM   Method = "bism"
	SM     Method = "sm"
	SSM    Method = "ssm"
	DSM    Method = "dsm"
	MDSM   Method = "mdsm"
	CD     Method = "cd"
	PCD    Method = "pcd"
	NCE    Method = "nce"
	VNCE   Method = "vnce"
)

// MethodInfo describes a method.
type MethodInfo struct {
	Name Method
	// Bilevel: Algorithm 1, with a posterior q(h|v; φ) learned alongside θ.
	Bilevel bool
	// Score: the score-matching objective (the outer one for bi-level
	// methods); HasScore is false for CD, PCD, NCE and VNCE.
	Score    objective.Kind
	HasScore bool
	// Models the method trains.
	Models []ModelKind
	Doc    string
}

var methods = []MethodInfo{
	{BiSSM, true, objective.SSM, true, []ModelKind{GRBM, DeepEBLVM}, "bi-level sliced score matching"},
	{BiDSM, true, objective.DSM, true, []ModelKind{GRBM, DeepEBLVM}, "bi-level denoising score matching"},
	{BiMDSM, true, objective.MDSM, true, []ModelKind{GRBM, DeepEBLVM}, "bi-level multiscale denoising score matching"},
	{BiSM, true, objective.SM, true, []ModelKind{GRBM}, "bi-level score matching with the exact Hessian trace"},
	{SM, false, objective.SM, true, []ModelKind{GRBM}, "score matching on the marginal (exact trace)"},
	{SSM, false, objective.SSM, true, []ModelKind{GRBM, ResNetEBM}, "sliced score matching on the marginal"},
	{DSM, false, objective.DSM, true, []ModelKind{GRBM, ResNetEBM}, "denoising score matching on the marginal"},
	{MDSM, false, objective.MDSM, true, []ModelKind{GRBM, ResNetEBM}, "multiscale denoising score matching on the marginal"},
	{CD, false, 0, false, []ModelKind{GRBM}, "contrastive divergence with k Gibbs steps"},
	{PCD, false, 0, false, []ModelKind{GRBM}, "persistent contrastive divergence"},
	{NCE, false, 0, false, []ModelKind{GRBM}, "noise-contrastive estimation with a learned log-normaliser"},
	{VNCE, false, 0, false, []ModelKind{GRBM}, "variational NCE with a learned posterior"},
}

// Info returns the method's entry; ok is false for an unknown name.
func (m Method) Info() (MethodInfo, bool) {
	return lookup(methods, m, func(i MethodInfo) Method { return i.Name })
}

// Bilevel reports whether the method is bi-level score matching.
func (m Method) Bilevel() bool { i, _ := m.Info(); return i.Bilevel }

// Score returns the method's score-matching objective; ok is false for
// methods without one (CD, PCD, NCE, VNCE).
func (m Method) Score() (k objective.Kind, ok bool) { i, _ := m.Info(); return i.Score, i.HasScore }

// Posterior reports whether the method learns a posterior q(h|v; φ).
func (m Method) Posterior() bool { return m.Bilevel() || m == VNCE }

// Trains reports whether the method can train a model of the kind.
func (m Method) Trains(k ModelKind) bool { i, _ := m.Info(); return slices.Contains(i.Models, k) }

// Schedule names a learning-rate schedule (train.schedule, train.inner_schedule).
type Schedule string

// The schedules (optim.ScheduleByName).
const (
	Constant Schedule = "constant"
	Cosine   Schedule = "cosine"
)

var schedules = []Schedule{Constant, Cosine}

// Unroll names the differentiable optimizer of the unrolled inner steps.
type Unroll string

// The unrolled optimizers: Adam continuing from the real optimizer's state
// (Algorithm 1 as the reference code runs it) or plain gradient descent
// (Eqs. 12-13).
const (
	UnrollAdam Unroll = "adam"
	UnrollSGD  Unroll = "sgd"
)

var unrolls = []Unroll{UnrollAdam, UnrollSGD}

// Gradient names how BiSM differentiates through the posterior φ*(θ).
type Gradient string

// The gradients: through n unrolled inner steps (Algorithm 1) or by the
// implicit function theorem at the posterior after the k kept steps.
const (
	GradientUnroll   Gradient = "unroll"
	GradientImplicit Gradient = "implicit"
)

var gradients = []Gradient{GradientUnroll, GradientImplicit}

// Solver names the implicit gradient's linear solver (objective.Solver).
type Solver string

// The solvers: minimum residuals (a least-squares solution on a singular
// Hessian, no damping) or conjugate gradients (positive damping).
const (
	SolverMINRES Solver = "minres"
	SolverCG     Solver = "cg"
)

var solvers = []Solver{SolverMINRES, SolverCG}

// LL names a log-likelihood estimator (eval.ll).
type LL string

// The estimators: exact enumeration of the 2^H hidden states, annealed
// importance sampling, or none.
const (
	LLExact LL = "exact"
	LLAIS   LL = "ais"
	LLNone  LL = "none"
)

var lls = []LL{LLExact, LLAIS, LLNone}

// Sampler names a deep model's marginal sampler (eval.sampler).
type Sampler string

// The samplers: annealed Langevin on the joint energy E(v,h) over v and h
// ("" means it too), or on v alone driven by the bi-level score (deep_eblvm
// only).
const (
	SamplerJoint   Sampler = "joint"
	SamplerBiLevel Sampler = "bilevel"
)

var samplers = []Sampler{SamplerJoint, SamplerBiLevel}

// CheckSampler rejects an unknown sampler, or the bi-level one on a model
// without latents.
func CheckSampler(s Sampler, kind ModelKind) error {
	switch s {
	case "", SamplerJoint:
		return nil
	case SamplerBiLevel:
		if kind != DeepEBLVM {
			return fmt.Errorf("the %s sampler needs a posterior q(h|v) (model.kind %s); model %s has none (use %s)", SamplerBiLevel, DeepEBLVM, kind, SamplerJoint)
		}
		return nil
	}
	return fmt.Errorf("unknown sampler %q%s", s, oneOf(names(samplers), string(s)))
}

// Names lists every name of the registry's kinds, for completion and docs.
func Names() map[string][]string {
	return map[string][]string{
		"data.name":            names(mapSlice(dataSets, func(i DataInfo) DataSet { return i.Name })),
		"model.kind":           names(mapSlice(models, func(i ModelInfo) ModelKind { return i.Name })),
		"method.name":          names(mapSlice(methods, func(i MethodInfo) Method { return i.Name })),
		"method.unroll":        names(unrolls),
		"method.gradient":      names(gradients),
		"method.solver":        names(solvers),
		"train.schedule":       names(schedules),
		"train.inner_schedule": names(schedules),
		"eval.ll":              names(lls),
		"eval.sampler":         names(samplers),
	}
}

func lookup[T any, K comparable](list []T, k K, key func(T) K) (T, bool) {
	for _, i := range list {
		if key(i) == k {
			return i, true
		}
	}
	var zero T
	return zero, false
}

func mapSlice[T, U any](in []T, f func(T) U) []U {
	out := make([]U, len(in))
	for i, x := range in {
		out[i] = f(x)
	}
	return out
}

func names[S ~string](list []S) []string {
	return mapSlice(list, func(s S) string { return string(s) })
}

// oneOf is " (want a, b or c)" with a "did you mean" when got is close to
// one of them.
func oneOf(want []string, got string) string {
	s := " (want " + strings.Join(want[:len(want)-1], ", ") + " or " + want[len(want)-1] + ")"
	if m := nearest(got, want); m != "" {
		s = fmt.Sprintf(": did you mean %q?%s", m, s)
	}
	return s
}

// nearest returns the candidate closest to s in edit distance when it is
// close enough to be a likely typo, else "".
func nearest(s string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	if bestD <= max(1, min(len(s), len(best))/3) {
		return best
	}
	return ""
}

// editDistance is the optimal-string-alignment distance of a and b: edits,
// insertions, deletions and swaps of neighbours each count one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+c)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// Nearest returns the candidate closest to s when it is likely a typo of
// it, else "" (the CLI's "did you mean" for commands and flags).
func Nearest(s string, candidates []string) string { return nearest(s, candidates) }
