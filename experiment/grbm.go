package experiment

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/nn"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// grbm is the Gaussian-Bernoulli RBM (Sec. 5.1): every method trains it,
// and its normaliser is tractable (exactly for small H, by AIS otherwise),
// so runs are scored by held-out log-likelihood and the Fisher metric.
type grbm struct{ m *model.GRBM }

func (g *grbm) build(e *Experiment) (train.Method, train.Layout, error) {
	cfg := e.Config
	d := e.Data.Train.Dim()
	rng := initRNG(cfg)
	g.m = model.NewGRBM(d, cfg.Model.Hidden, cfg.Model.ScalarSigma, rng, tensor.Float32)
	e.Model = g.m
	layout := train.Layout{Format: "bism-grbm-v1", Meta: map[string]string{"method": string(cfg.Method.Name), "data": string(cfg.Data.Name)}}
	t := cfg.Train
	m := cfg.Method
	switch {
	case m.Name.Bilevel():
		q := model.NewBernoulliPosterior(d, cfg.Model.Hidden, rng, tensor.Float32)
		e.Posterior = q
		return newBiLevel(cfg, g.m, q), layout, nil
	case m.Name == config.CD:
		return &cd{cd: objective.CD{K: m.K}, m: g.m}, layout, nil
	case m.Name == config.PCD:
		p := objective.NewPCD(m.K)
		p.NumChains = m.Chains
		st := nn.NewParams()
		st.Add("chains", tensor.New(tensor.Float32, m.Chains, g.m.D))
		return &pcd{pcd: p, m: g.m, state: st}, layout, nil
	case m.Name == config.NCE:
		return &nce{nce: objective.NewNCE(tensor.Float32), m: g.m, opt: optim.NewAdam(t.LR, t.Beta1, t.Beta2)}, layout, nil
	case m.Name == config.VNCE:
		q := model.NewBernoulliPosterior(d, cfg.Model.Hidden, rng, tensor.Float32)
		e.Posterior = q
		v := objective.NewVNCE(q, optim.NewAdam(t.InnerLRBase(), t.Beta1, t.Beta2), tensor.Float32)
		v.K, v.Particles = m.K, m.Particles
		return &vnce{v: v, m: g.m, q: q, opt: optim.NewAdam(t.LR, t.Beta1, t.Beta2)}, layout, nil
	}
	o, ok := outer(m)
	if !ok {
		return nil, layout, fmt.Errorf("experiment: method %s has no GRBM implementation", m.Name)
	}
	return &marginal{m: g.m, o: o}, layout, nil
}

// record evaluates the model at a training record (the log-likelihood only
// with eval.ll_during_training).
func (g *grbm) record(e *Experiment, rec train.Record, _ *tensor.Tensor) error {
	ev, err := g.heldOut(e, e.Config.Eval.LLDuringTraining, nil, nil) // rank 0 alone records
	for k, v := range ev {
		rec[k] = v
	}
	return err
}

// evalChunk bounds the rows evaluated at once.
const evalChunk = 1000

// heldOut measures the current model on held-out data: test_ll and val_ll with log_z
// (exact or AIS, per eval.ll; when ll; AIS's chains split over across when
// it is set), test_fisher and val_fisher (the
// Fisher metric, with eval.fisher), and val_loss, the model-selection
// criterion: the method's own objective on the validation set, or the
// Fisher metric for methods without one (CD, PCD, NCE, VNCE).
func (g *grbm) heldOut(e *Experiment, ll bool, progress func(done, total int), across eval.Ranks) (map[string]float64, error) {
	res := map[string]float64{}
	cfg := e.Config.Eval
	seed := e.Config.Seed + 7
	split := e.Data
	if ll && cfg.LL != config.LLNone {
		var logZ float64
		switch cfg.LL {
		case config.LLExact:
			z, err := eval.ExactLogZ(g.m)
			if err != nil {
				return nil, err
			}
			logZ = z
		case config.LLAIS:
			a, err := eval.AIS(g.m, eval.AISOptions{Chains: cfg.AISChains, Betas: cfg.AISBetas, Seed: seed, Progress: progress, Across: across})
			if err != nil {
				return nil, err
			}
			logZ = a.LogZ
			res["log_z_stderr"] = a.StdErr
		}
		res["log_z"] = logZ
		res["test_ll"] = eval.LogLikelihood(g.m, setTensor(split.Test), logZ)
		if split.Val != nil {
			res["val_ll"] = eval.LogLikelihood(g.m, setTensor(split.Val), logZ)
		}
	}
	if cfg.Fisher {
		res["test_fisher"] = eval.FisherSSM(g.m, setTensor(split.Test), seed)
		if split.Val != nil {
			res["val_fisher"] = eval.FisherSSM(g.m, setTensor(split.Val), seed)
		}
	}
	if split.Val != nil {
		_, hasScore := e.Config.Method.Name.Score()
		if v, ok := res["val_fisher"]; ok && !hasScore {
			res["val_loss"] = v // the same quantity, already computed
		} else {
			res["val_loss"] = g.criterion(e, setTensor(split.Val), seed)
		}
	}
	for k, v := range res {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return res, fmt.Errorf("evaluation: %s is %v (the model has diverged)", k, v)
		}
	}
	return res, nil
}

// criterion is the loss used for model selection, averaged over x in
// chunks: the method's score-matching objective (with the posterior for
// bi-level methods), or the Fisher metric for methods without one.
func (g *grbm) criterion(e *Experiment, x *tensor.Tensor, seed uint64) float64 {
	o, ok := outer(e.Config.Method)
	if !ok {
		return eval.FisherSSM(g.m, x, seed)
	}
	rng := tensor.NewRNG(seed)
	theta := g.m.Params().Consts()
	var sum float64
	n := x.Dim(0)
	for lo := 0; lo < n; lo += evalChunk {
		hi := min(lo+evalChunk, n)
		p := o.Perturb(tensor.Slice(x, 0, lo, hi), rng)
		var en objective.EnergyFn
		if e.Config.Method.Name.Bilevel() {
			en = objective.BiEnergy(g.m, e.Posterior, theta, e.Posterior.Params().Consts(), rng)
		} else {
			en = objective.MarginalEnergy(g.m, theta)
		}
		sum += o.Loss(en, p).Item() * float64(hi-lo)
	}
	return sum / float64(n)
}

func setTensor(s *data.Set) *tensor.Tensor { return tensor.FromFloat32(s.X, s.N, s.Dim()) }

// Density plot extent for 2-D data: the checkerboard lives in [0,1]².
const densityLo, densityHi = -0.25, 1.25

// figures writes density.png (the learned density next to the data, Fig.
// 2) for 2-D data with an exact normaliser, samples.png (64 samples after
// 1000 Gibbs sweeps) for images, and the curves of metrics.jsonl: ll.png
// (Fig. 3), loss.png, fisher.png.
func (g *grbm) figures(e *Experiment) ([]string, error) {
	var files []string
	if e.Data.Train.Dim() == 2 && e.Config.Eval.LL == config.LLExact {
		p := filepath.Join(e.Dir, "density.png")
		if err := g.densityFigure(e, p); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	if len(e.Data.Train.Shape) == 3 {
		s, err := g.sample(e, SampleOptions{N: 64, Steps: 1000, Seed: e.Config.Seed, Prefix: e.path("samples")})
		if err != nil {
			return files, err
		}
		files = append(files, s...)
	}
	name := e.Config.Method.Name
	more, err := curves(e, []curve{
		{"test_ll", "ll.png", fmt.Sprintf("%s: test log-likelihood", name), false},
		{"train_loss", "loss.png", fmt.Sprintf("%s: training loss", name), false},
		{"test_fisher", "fisher.png", fmt.Sprintf("%s: test Fisher (SSM) metric", name), false},
	})
	return append(files, more...), err
}

// DensityGrid evaluates the model's normalised density p(v) on an n×n grid
// over [lo,hi]², in plot.Heatmap's layout (row 0 at y = lo). It needs a
// GRBM on 2-D data with few enough hidden units to enumerate.
func (e *Experiment) DensityGrid(n int, lo, hi float64) ([]float64, error) {
	g, ok := e.kind.(*grbm)
	if !ok || e.Data.Train.Dim() != 2 {
		return nil, fmt.Errorf("density grids need a GRBM on 2-D data; this run is %s on %s", e.Config.Model.Kind, e.Config.Data.Name)
	}
	logZ, err := eval.ExactLogZ(g.m)
	if err != nil {
		return nil, err
	}
	pts := tensor.New(tensor.Float32, n*n, 2)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			pts.Set(lo+(float64(j)+0.5)*(hi-lo)/float64(n), i*n+j, 0)
			pts.Set(lo+(float64(i)+0.5)*(hi-lo)/float64(n), i*n+j, 1)
		}
	}
	f := g.m.FreeEnergy(g.m.Params().Consts(), ad.Const(pts)).Tensor()
	z := make([]float64, n*n)
	for k := range z {
		z[k] = math.Exp(-f.Flat(k) - logZ)
	}
	return z, nil
}

func (g *grbm) densityFigure(e *Experiment, path string) error {
	n := e.Config.Eval.Grid
	z, err := e.DensityGrid(n, densityLo, densityHi)
	if err != nil {
		return err
	}
	test := e.Data.Test
	xs, ys := columns(test.X, test.N)
	nb := 60
	hist := plot.Hist2D(xs, ys, nb, nb, densityLo, densityHi, densityLo, densityHi)
	dataMap := &plot.Heatmap{Title: "data", Z: hist, NX: nb, NY: nb, XMin: densityLo, XMax: densityHi, YMin: densityLo, YMax: densityHi}
	modelMap := &plot.Heatmap{Title: fmt.Sprintf("%s (iter %d)", e.Config.Method.Name, e.Run.Iter()), Z: z, NX: n, NY: n,
		XMin: densityLo, XMax: densityHi, YMin: densityLo, YMax: densityHi, Colorbar: true}
	return plot.SavePNG(path, plot.Panels([]plot.Panel{dataMap, modelMap}, 2, 440, 420))
}

// columns splits n rows of 2-D points into their x and y coordinates.
func columns(x []float32, n int) (xs, ys []float64) {
	xs, ys = make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		xs[i], ys[i] = float64(x[2*i]), float64(x[2*i+1])
	}
	return xs, ys
}

// gibbs draws n samples by block Gibbs sampling, steps sweeps from v ~
// N(b, σ²), and returns the mean E[v|h] of the last sweep [n, D] (v itself
// when steps is 0).
func (g *grbm) gibbs(n, steps int, seed uint64) *tensor.Tensor {
	rng := tensor.NewRNG(seed)
	m := g.m
	v := tensor.Add(tensor.Mul(rng.Normal(tensor.Float32, 0, 1, n, m.D), m.Sigma()), m.Params().Get("b"))
	var h *tensor.Tensor
	for i := 0; i < steps; i++ {
		h, v = m.Gibbs(v, rng)
	}
	if h != nil {
		return m.VisibleMean(h)
	}
	return v
}

// sample writes the GRBM's samples: an image grid for image data, the
// samples over the learned density for 2-D data.
func (g *grbm) sample(e *Experiment, o SampleOptions) ([]string, error) {
	shape := e.Data.Train.Shape
	path := o.Prefix + ".png"
	switch {
	case len(shape) == 3:
		mean := g.gibbs(o.N, o.Steps, o.Seed)
		return []string{path}, plot.SavePNG(path, plot.ImageGrid(mean.F32(), o.N, shape[0], shape[1], shape[2], 0, 3))
	case len(shape) == 1 && shape[0] == 2:
		rng := tensor.NewRNG(o.Seed)
		m := g.m
		v := tensor.Add(tensor.Mul(rng.Normal(tensor.Float32, 0, 1, o.N, m.D), m.Sigma()), m.Params().Get("b"))
		for i := 0; i < o.Steps; i++ {
			_, v = m.Gibbs(v, rng)
		}
		xs, ys := columns(v.As(tensor.Float32).F32(), o.N)
		hm := &plot.Heatmap{Title: fmt.Sprintf("%d samples, %d Gibbs sweeps", o.N, o.Steps), PointsX: xs, PointsY: ys,
			XMin: densityLo, XMax: densityHi, YMin: densityLo, YMax: densityHi}
		if z, err := e.DensityGrid(e.Config.Eval.Grid, densityLo, densityHi); err == nil {
			hm.Z, hm.NX, hm.NY, hm.Colorbar = z, e.Config.Eval.Grid, e.Config.Eval.Grid, true
		}
		return []string{path}, plot.SavePNG(path, hm.Render(480, 420))
	}
	return nil, fmt.Errorf("sample: data of shape %v are neither images nor 2-D points", shape)
}
