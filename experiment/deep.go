package experiment

import (
	"fmt"
	"math"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

// deep is a deep image model (Sec. 5.2): the deep EBLVM, a ResNet energy
// with Gaussian latents and a Gaussian CNN posterior, trained by BiMDSM
// (or BiDSM, BiSSM); or the fully visible ResNet EBM trained by MDSM (or
// DSM, SSM). Their normalisers are intractable, so they are judged by
// their samples (annealed Langevin dynamics, FID and KID) and, for the
// EBLVM, by the posterior's accuracy and a linear probe of its means.
type deep struct {
	e     *Experiment
	eblvm *model.DeepEBLVM // exactly one of eblvm and ebm is set
	ebm   *model.ResNetEBM
	post  *model.CNNPosterior // the deep EBLVM's posterior

	// across, while sample scores are computed by several processes,
	// splits the Langevin chains over them (chunks).
	across dist.Comm
}

// ResNetConfig returns the ResNet a config describes: MNISTResNet for one
// channel, CIFARResNet for three, at width model.ch (0: 64 and 128).
func ResNetConfig(c config.Config, channels int) model.ResNetConfig {
	ch := c.Model.Ch
	if channels == 3 {
		if ch == 0 {
			ch = 128
		}
		return model.CIFARResNet(ch)
	}
	if ch == 0 {
		ch = 64
	}
	return model.MNISTResNet(ch)
}

func (dk *deep) build(e *Experiment) (train.Method, train.Layout, error) {
	dk.e = e
	cfg := e.Config
	shape := e.Data.Train.Shape
	rng := initRNG(cfg)
	layout := train.Layout{Format: "bism-deep-v1", ThetaPrefix: "model/",
		Meta: map[string]string{"model": string(cfg.Model.Kind), "method": string(cfg.Method.Name), "data": string(cfg.Data.Name)}}
	res := ResNetConfig(cfg, shape[0])
	if err := res.Validate(); err != nil {
		return nil, layout, fmt.Errorf("experiment: %w", err)
	}
	switch cfg.Model.Kind {
	case config.DeepEBLVM:
		dk.eblvm = model.NewDeepEBLVM(model.DeepEBLVMConfig{ResNet: res, H: cfg.Model.Hidden, F: cfg.Model.Features}, rng, tensor.Float32)
		dk.post = model.NewCNNPosterior(model.CNNPosteriorConfig{InChannels: shape[0], Height: shape[1], Width: shape[2],
			H: cfg.Model.Hidden, Ch: cfg.Model.PosteriorCh}, rng, tensor.Float32)
		e.Model, e.Posterior = dk.eblvm, dk.post
		return newBiLevel(cfg, dk.eblvm, dk.post), layout, nil
	case config.ResNetEBM:
		dk.ebm = model.NewResNetEBM(model.ResNetEBMConfig{ResNet: res, F: cfg.Model.Features, Bottleneck: cfg.Model.Bottleneck}, rng, tensor.Float32)
		e.Model = dk.ebm
		o, _ := outer(cfg.Method)
		return &marginal{m: dk.ebm, o: o}, layout, nil
	}
	return nil, layout, fmt.Errorf("experiment: unknown deep model %q", cfg.Model.Kind)
}

// record adds posterior_fisher, D_F(q || p) on the last batch, to the
// deep EBLVM's metrics records.
func (dk *deep) record(e *Experiment, rec train.Record, v *tensor.Tensor) error {
	if dk.eblvm == nil {
		return nil
	}
	pf := dk.posteriorFisher(v, e.Config.Seed+uint64(e.Run.Iter()))
	if math.IsNaN(pf) || math.IsInf(pf, 0) {
		return e.Run.Diverged(fmt.Errorf("the posterior Fisher divergence is %v", pf))
	}
	rec["posterior_fisher"] = pf
	return nil
}

// posteriorFisher returns D_F(q(h|v) || p(h|v)) of Eq. 11 averaged over
// the images v [B,C,H,W] (one reparameterised h per image, noise from
// seed): the posterior's accuracy, the paper's Fig. 5 c-d. Unlike the
// inner loss BiMDSM optimises, it is unweighted and taken at clean images.
func (dk *deep) posteriorFisher(v *tensor.Tensor, seed uint64) float64 {
	if dk.eblvm == nil {
		return nan
	}
	rng := tensor.NewRNG(seed)
	th, phi := dk.eblvm.Params().Consts(), dk.post.Params().Consts()
	x := ad.Const(v)
	h := ad.Const(dk.post.Sample(phi, x, rng).Tensor())
	per := objective.PosteriorFisher(model.EnergyGivenV(dk.eblvm, th, x), dk.post, phi, x, h)
	return ad.Mean(per, false).Item()
}

func (dk *deep) imageShape() []int { return dk.e.Data.Train.Shape }

// figures draws loss.png (the outer training loss) and, for the deep
// EBLVM, posterior.png (inner_loss and posterior_fisher on a log scale,
// the paper's Fig. 5 c-d).
func (dk *deep) figures(e *Experiment) ([]string, error) {
	name := e.Config.Method.Name
	files, err := curves(e, []curve{{"train_loss", "loss.png", fmt.Sprintf("%s on %s: training loss", name, e.Config.Data.Name), true}})
	if err != nil || dk.eblvm == nil {
		return files, err
	}
	xi, yi, err := readCurve(e.Dir, "inner_loss")
	if err != nil {
		return files, err
	}
	xf, yf, _ := readCurve(e.Dir, "posterior_fisher")
	if len(xi) < 2 || len(xf) < 2 {
		return files, nil
	}
	p := e.path("posterior.png")
	lp := &plot.LinePlot{Title: fmt.Sprintf("%s: posterior accuracy (Fisher divergence)", name),
		XLabel: "iteration", YLabel: "D_F(q || p)", LogY: true,
		Series: []plot.Series{
			{Name: "inner_loss (weighted, perturbed)", X: xi, Y: yi},
			{Name: "posterior_fisher (clean batch)", X: xf, Y: yf, Dashed: true},
		}}
	return append(files, p), plot.SavePNG(p, lp.Render(640, 420))
}

// SampleJoint runs n chains of the deep EBLVM's joint sampler, annealed
// Langevin dynamics on E(v,h) over v and h together from InitMean +
// InitStd·N(0,1), and returns where they end: rows [v flattened, h],
// [n, D+H].
func (e *Experiment) SampleJoint(n int, c sample.Config, rng *tensor.RNG) (*tensor.Tensor, error) {
	dk, ok := e.kind.(*deep)
	if !ok || dk.eblvm == nil {
		return nil, fmt.Errorf("joint sampling needs a model with latents (deep_eblvm); this run is %s", e.Config.Model.Kind)
	}
	return dk.sampleJoint(n, c, rng), nil
}
