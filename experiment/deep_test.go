package experiment

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
	"github.com/bism-ml/bism/train"
)

var deepKinds = []config.ModelKind{config.DeepEBLVM, config.ResNetEBM}

// TestDeepRunResume trains 3 iterations in one go and 2+1 with a resume;
// the parameters must be identical, and the run directory must hold the
// metrics, checkpoints and snapshots. It then checks divergence, figures,
// sampling, denoising and reloading on the trained run.
func TestDeepRunResume(t *testing.T) {
	split := tinyImages(t, 10)
	for _, kind := range deepKinds {
		t.Run(string(kind), func(t *testing.T) {
			cfg := tinyDeepConfig(kind)
			dirA, dirB := t.TempDir(), t.TempDir()
			a := build(t, cfg, dirA, split)
			recs := trainMetrics(t, a)
			if len(recs) != 3 {
				t.Fatalf("%d metrics records, want 3", len(recs))
			}
			for _, rec := range recs {
				keys := []string{"iter", "elapsed_s", "lr", "train_loss"}
				if kind == config.DeepEBLVM {
					keys = append(keys, "inner_loss", "posterior_fisher")
				}
				for _, k := range keys {
					v, ok := rec[k]
					if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("record %v: %s missing or not finite", rec, k)
					}
				}
				if kind == config.DeepEBLVM && !(rec["posterior_fisher"] > 0 && rec["inner_loss"] > 0) {
					t.Fatalf("record %v: posterior Fisher divergence should be positive", rec)
				}
			}
			for _, f := range []string{train.CheckpointFile, train.ConfigFile, "checkpoints/iter_00000002.safetensors", "checkpoints/iter_00000003.safetensors"} {
				if _, err := os.Stat(filepath.Join(dirA, f)); err != nil {
					t.Fatal(err)
				}
			}
			ts, meta, err := checkpoint.Load(filepath.Join(dirA, train.CheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if meta["format"] != "bism-deep-v1" || meta["iter"] != "3" || meta["model"] != string(kind) {
				t.Fatalf("checkpoint metadata %v", meta)
			}
			want := []string{"model/res.stem.W", "model/res.0.conv1.W", "optim/theta/step", "optim/theta/m.0", "data/order"}
			if kind == config.DeepEBLVM {
				want = append(want, "model/g1.W", "model/g3.W", "posterior/conv1.W", "posterior/mean.W", "posterior/log_std.b",
					"optim/posterior/step", "optim/posterior/v.0")
			} else {
				want = append(want, "model/out.W")
			}
			for _, k := range want {
				if _, ok := ts[k]; !ok {
					t.Fatalf("checkpoint lacks %q", k)
				}
			}

			two := cfg
			two.Train.Iterations = 2
			trainMetrics(t, build(t, two, dirB, split))
			b := resumed(t, cfg, dirB, split)
			if b.Run.Iter() != 2 {
				t.Fatalf("resumed at iteration %d", b.Run.Iter())
			}
			if recsB := trainMetrics(t, b); len(recsB) != 3 {
				t.Fatalf("%d metrics records after resume, want 3", len(recsB))
			}
			sameState(t, a, b)

			// Divergence: a NaN parameter stops training with ErrDiverged
			// and leaves the last good checkpoint alone.
			more := cfg
			more.Train.Iterations = 5
			c := resumed(t, more, dirB, split)
			c.Model.Params().Tensors()[0].SetFlat(0, math.NaN())
			if err := c.Run.Train(context.Background()); !errors.Is(err, train.ErrDiverged) {
				t.Fatalf("got %v, want ErrDiverged", err)
			}
			if _, meta, err := checkpoint.Load(filepath.Join(dirB, train.CheckpointFile)); err != nil || meta["iter"] != "3" {
				t.Fatalf("checkpoint after divergence: %v, %v", meta, err)
			}

			rep, err := a.Figures()
			if err != nil {
				t.Fatal(err)
			}
			if wantRep := map[config.ModelKind]int{config.DeepEBLVM: 2, config.ResNetEBM: 1}[kind]; len(rep) != wantRep {
				t.Fatalf("Figures wrote %v", rep)
			}

			// Sampling writes PNG grids (a very short anneal).
			files, err := a.Sample(SampleOptions{N: 3, Steps: 11, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := 1
			if kind == config.DeepEBLVM {
				wantFiles = 3
			}
			if len(files) != wantFiles {
				t.Fatalf("wrote %v", files)
			}
			for _, f := range files {
				b, err := os.ReadFile(f)
				if err != nil || len(b) < 8 || string(b[1:4]) != "PNG" {
					t.Fatalf("%s is not a PNG (%v)", f, err)
				}
			}
			// The denoising diagnostic: three blocks of 8 images (3 rounded up).
			p, err := a.Denoise(0.5, SampleOptions{N: 3, Steps: 11, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(p) != "denoise_s0.5.png" {
				t.Fatalf("denoise wrote %s", p)
			}
			if w, h := gridCells(t, p, 64); w != 8 || h != 3 {
				t.Fatalf("%s: %dx%d cells, want 8x3", p, w, h)
			}
			// More images than the test set's 10: one row of 10 per block.
			if p, err = a.Denoise(0.5, SampleOptions{N: 20, Steps: 11, Seed: 1, Prefix: filepath.Join(dirA, "denoise_all")}); err != nil {
				t.Fatal(err)
			}
			if w, h := gridCells(t, p, 64); w != 10 || h != 3 {
				t.Fatalf("%s: %dx%d cells, want 10x3", p, w, h)
			}
			// With no steps the chains end where they start: the noisy images.
			clean, noisy, out := a.kind.(*deep).sampleDenoise(5, 0.5, sample.Config{StepSize: 0.02, Temps: []float64{}}, tensor.NewRNG(3))
			if same := slices.Equal(noisy.Values(), out.Values()); clean.Dim(0) != 5 || !same {
				t.Fatalf("sampleDenoise without steps: %v images, result equals start %v", clean.Shape(), same)
			}
			var ss float64
			for i := 0; i < clean.Size(); i++ {
				d := noisy.Flat(i) - clean.Flat(i)
				ss += d * d
			}
			if sd := math.Sqrt(ss / float64(clean.Size())); math.Abs(sd-0.5) > 0.03 {
				t.Fatalf("noise std %.3f, want 0.5", sd)
			}
			if _, err := a.Denoise(0, SampleOptions{N: 3}); err == nil {
				t.Fatal("Denoise accepted sigma 0")
			}
			// Open reads the checkpoint back into a fresh experiment.
			fresh, it, err := Open(dirA, "", nil, Options{Data: split})
			if err != nil || it != 3 {
				t.Fatalf("Open: %d, %v", it, err)
			}
			sameState(t, a, fresh)
		})
	}
}

func TestLangevinConfigSteps(t *testing.T) {
	for _, c := range []struct{ steps, want int }{{0, 2700}, {2700, 2700}, {270, 270}, {810, 810}} {
		if n := len(LangevinConfig(c.steps).Temperatures()); n != c.want {
			t.Errorf("%d steps: %d", c.steps, n)
		}
	}
}

// gridCells reads the size of a PNG grid of cell×cell images
// (plot.ImageGrid) in cells.
func gridCells(t *testing.T, path string, cell int) (cols, rows int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	c := cell + plot.GridBorder
	if (g.Width-plot.GridBorder)%c != 0 || (g.Height-plot.GridBorder)%c != 0 {
		t.Fatalf("%s: %dx%d pixels is not a grid of %d-pixel cells", path, g.Width, g.Height, cell)
	}
	return (g.Width - plot.GridBorder) / c, (g.Height - plot.GridBorder) / c
}

func TestDenoiseConfig(t *testing.T) {
	for _, c := range []struct {
		sigma     float64
		decay, t0 float64
	}{
		{1, 2000, 100},  // the reference anneal without its hold
		{0.5, 1398, 25}, // ceil(2000 ln 25 / ln 100)
		{0.05, 0, 0.25}, // below σ0: only the final steps, capped at T0
	} {
		ts := DenoiseConfig(c.sigma, 0).Temperatures()
		if len(ts) != int(c.decay)+200 || math.Abs(ts[0]-c.t0) > 1e-9 || ts[len(ts)-1] != 0 {
			t.Fatalf("sigma %g: %d steps from %g to %g, want %g+200 from %g to 0", c.sigma, len(ts), ts[0], ts[len(ts)-1], c.decay, c.t0)
		}
		for i := 1; i < len(ts); i++ {
			if ts[i] > ts[i-1] {
				t.Fatalf("sigma %g: temperature rises at step %d (%g -> %g)", c.sigma, i, ts[i-1], ts[i])
			}
		}
	}
	// A run's method.sigma0 sets the sampler's σ0: σ = 1 then enters at (1/0.2)².
	cfg := tinyDeepConfig(config.ResNetEBM)
	cfg.Method.Sigma0 = 0.2
	e := build(t, cfg, t.TempDir(), tinyImages(t, 4))
	if c := e.kind.(*deep).samplerConfig(0); c.Sigma0 != 0.2 || math.Abs(denoiseFrom(c, 1).Temperatures()[0]-25) > 1e-9 {
		t.Fatalf("sampler σ0 %v, denoising enters at T = %v; want 0.2 and 25", c.Sigma0, denoiseFrom(c, 1).Temperatures()[0])
	}
}

// TestDeepConfigValidation: what the deep models refuse, each error naming
// the cause.
func TestDeepConfigValidation(t *testing.T) {
	ok := tinyDeepConfig(config.DeepEBLVM)
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"cd on deep", func(c *config.Config) { c.Method.Name = config.CD }, "needs a GRBM"},
		{"vnce on deep", func(c *config.Config) { c.Method.Name = config.VNCE }, "needs a GRBM"},
		{"mdsm on eblvm", func(c *config.Config) { c.Method.Name = config.MDSM }, "bimdsm"},
		{"bimdsm on ebm", func(c *config.Config) { c.Model.Kind = config.ResNetEBM }, "deep_eblvm"},
		{"exact sm", func(c *config.Config) { c.Method.Name = config.BiSM }, "Hessian"},
		{"2-D data", func(c *config.Config) { c.Data.Name = config.Checkerboard }, "needs 32x32 images"},
		{"frey", func(c *config.Config) { c.Data.Name = config.Frey }, "needs 32x32 images"},
		{"negative ch", func(c *config.Config) { c.Model.Ch = -1 }, "model.ch"},
		{"scalar sigma", func(c *config.Config) { c.Model.ScalarSigma = true }, "GRBM option"},
		{"bottleneck on eblvm", func(c *config.Config) { c.Model.Bottleneck = 4 }, "model.bottleneck"},
		{"negative bottleneck", func(c *config.Config) {
			c.Model.Kind, c.Method.Name, c.Model.Bottleneck = config.ResNetEBM, config.MDSM, -1
		}, "model.bottleneck"},
		{"unknown model", func(c *config.Config) { c.Model.Kind = "vae" }, "unknown model"},
		{"unknown data", func(c *config.Config) { c.Data.Name = "svhn" }, "unknown data set"},
		{"mdsm sigmas", func(c *config.Config) { c.Method.Sigma0 = 0 }, "positive noise"},
		{"schedule", func(c *config.Config) { c.Train.Schedule = "step" }, "schedule"},
	}
	for _, tc := range cases {
		c := tinyDeepConfig(config.DeepEBLVM)
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	// Deep models ignore the GRBM's eval.ll (H = 50 would be too large for "exact").
	c := tinyDeepConfig(config.DeepEBLVM)
	c.Model.Hidden = 50
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	// Data of another shape are refused by a deep model.
	flat, err := data.NewSet(make([]float32, 8), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(tinyDeepConfig(config.ResNetEBM), "", Options{Data: &data.Split{Train: flat, Test: flat}}); err == nil || !strings.Contains(err.Error(), "[C 32 32]") {
		t.Errorf("flat data for a deep model: %v", err)
	}
}

// TestEvaluateDeep runs the whole deep evaluation on a tiny untrained
// deep EBLVM: FID/KID of marginal samples, samples via q and real images,
// the classifier scores, the probe and the posterior Fisher divergence, with
// the settings recorded.
func TestEvaluateDeep(t *testing.T) {
	e := build(t, tinyDeepConfig(config.DeepEBLVM), t.TempDir(), tinyImages(t, 12))
	res, err := e.Evaluate(EvalOptions{N: 6, Steps: 6, Seed: 3, ProbeN: 12})
	if err != nil {
		t.Fatal(err)
	}
	steps := float64(len(LangevinConfig(6).Temperatures()))
	if res["fid_samples"] != 6 || res["langevin_steps"] != steps || res["probe_images"] != 12 {
		t.Fatalf("recorded settings %v, %v, %v; want 6, %v, 12", res["fid_samples"], res["langevin_steps"], res["probe_images"], steps)
	}
	for _, k := range []string{"fid_marginal", "kid_marginal", "fid_via_q", "kid_via_q", "fid_train_data", "test_posterior_fisher", "energy_test_mean", "energy_blank"} {
		v, ok := res[k]
		if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s = %v (present %v)", k, v, ok)
		}
	}
	for _, k := range []string{"fid_marginal", "fid_via_q", "fid_train_data", "test_posterior_fisher"} {
		if res[k] < 0 {
			t.Fatalf("%s = %v < 0", k, res[k])
		}
	}
	if a := res["probe_test_acc"]; a < 0 || a > 1 {
		t.Fatalf("probe accuracy %v", a)
	}
	if a, ok := res["same_class_via_q"]; !ok || a < 0 || a > 1 || a*6 != math.Round(a*6) {
		t.Fatalf("same_class_via_q = %v (present %v), want a multiple of 1/6 in [0, 1]", a, ok)
	}
	for _, name := range []string{"marginal", "via_q", "train_data"} {
		c, s, top := res["confident_"+name], res["class_score_"+name], res["top_class_"+name]
		if !(c >= 0 && c <= 1 && s >= 1-1e-9 && s <= 10 && top >= 0.1 && top <= 1) {
			t.Fatalf("%s: confident %v, class score %v, top class %v", name, c, s, top)
		}
	}
}

// TestEvaluateDeepGrids checks that the grids Evaluate writes are, byte
// for byte, those Sample writes for the same N, steps and seed: the
// evaluation's samples can be looked at without sampling them again.
func TestEvaluateDeepGrids(t *testing.T) {
	dir := t.TempDir()
	e := build(t, tinyDeepConfig(config.DeepEBLVM), dir, tinyImages(t, 12))
	const n, steps, seed = 5, 6, 4
	if _, err := e.Evaluate(EvalOptions{N: n, Steps: steps, Seed: seed, ProbeN: 12, GridPrefix: filepath.Join(dir, "eval")}); err != nil {
		t.Fatal(err)
	}
	files, err := e.Sample(SampleOptions{N: n, Steps: steps, Seed: seed, Prefix: filepath.Join(dir, "sample")})
	if err != nil {
		t.Fatal(err)
	}
	evals := e.kind.(*deep).gridFiles(filepath.Join(dir, "eval"))
	if len(files) != 3 || len(evals) != 3 {
		t.Fatalf("Sample wrote %v; gridFiles %v", files, evals)
	}
	for i := range files {
		a, errA := os.ReadFile(files[i])
		b, errB := os.ReadFile(evals[i])
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs from %s", evals[i], files[i])
		}
	}
}

// TestEvaluateDeepInception adds Inception-v3 FID/KID (an untrained
// network: the numbers only need to exist) to the evaluation, on MNIST next
// to the classifier's and on Fashion-MNIST without it.
func TestEvaluateDeepInception(t *testing.T) {
	inc, err := eval.NewInceptionV3(eval.InceptionFID, tensor.NewRNG(5))
	if err != nil {
		t.Fatal(err)
	}
	split := tinyImages(t, 6)
	for _, name := range []config.DataSet{config.MNIST, config.FashionMNIST} {
		c := tinyDeepConfig(config.DeepEBLVM)
		c.Data.Name = name
		e := build(t, c, t.TempDir(), split)
		res, err := e.Evaluate(EvalOptions{N: 3, Steps: 6, Seed: 3, ProbeN: 6, Inception: inc, InceptionRef: 4})
		if err != nil {
			t.Fatal(err)
		}
		if res["inception_ref_images"] != 4 {
			t.Errorf("%s: inception_ref_images = %v, want 4", name, res["inception_ref_images"])
		}
		for _, set := range []string{"marginal", "via_q", "train_data"} {
			for _, k := range []string{"fid_inception_" + set, "kid_inception_" + set, "kid_inception_" + set + "_std"} {
				if v, ok := res[k]; !ok || math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("%s: %s = %v (present %v)", name, k, v, ok)
				}
			}
			if _, ok := res["fid_"+set]; ok != (name == config.MNIST) {
				t.Errorf("%s: classifier FID fid_%s present %v", name, set, ok)
			}
		}
		if res["fid_inception_marginal"] < 0 {
			t.Errorf("%s: fid_inception_marginal = %v < 0", name, res["fid_inception_marginal"])
		}
	}
}

// TestEnergyProbe checks the energy_* records against the energies
// computed directly: E(v) for the ResNet EBM, E(v, μ_q(v)) for the deep
// EBLVM.
func TestEnergyProbe(t *testing.T) {
	split := tinyImages(t, sampleChunk+5) // more than one chunk
	for _, kind := range []config.ModelKind{config.ResNetEBM, config.DeepEBLVM} {
		e := build(t, tinyDeepConfig(kind), t.TempDir(), split)
		dk := e.kind.(*deep)
		test := eval.SetImages(split.Test)
		samples := tensor.Scale(test, 0.5)
		res := map[string]float64{}
		dk.energyProbe(res, samples, test)
		direct := func(v *tensor.Tensor) []float64 {
			if dk.ebm != nil {
				return dk.ebm.FreeEnergy(dk.ebm.Params().Consts(), ad.Const(v)).Tensor().Values()
			}
			h := sample.PosteriorMean(dk.post, v, 0)
			return dk.eblvm.Energy(dk.eblvm.Params().Consts(), ad.Const(v), ad.Const(h)).Tensor().Values()
		}
		et, es := direct(test), direct(samples)
		mean := func(e []float64) float64 {
			s := 0.0
			for _, x := range e {
				s += x
			}
			return s / float64(len(e))
		}
		eb := direct(tensor.Zeros(test.DType(), 1, 1, 32, 32))[0]
		for _, c := range []struct {
			key  string
			want float64
		}{
			{"energy_test_mean", mean(et)}, {"energy_test_min", slices.Min(et)},
			{"energy_samples_mean", mean(es)}, {"energy_blank", eb},
		} {
			if got := res[c.key]; math.Abs(got-c.want) > 1e-4*(1+math.Abs(c.want)) {
				t.Errorf("%s %s = %v, want %v", kind, c.key, got, c.want)
			}
		}
		if es[0] == et[0] {
			t.Fatalf("%s: energy does not depend on the image", kind)
		}
	}
}

// TestDeepBottleneckRun trains the resnet_ebm bottleneck ablation, checks
// its checkpoint holds the bottleneck layer, and that a model without one
// refuses that checkpoint.
func TestDeepBottleneckRun(t *testing.T) {
	split := tinyImages(t, 10)
	cfg := tinyDeepConfig(config.ResNetEBM)
	cfg.Model.Bottleneck = 3
	dir := t.TempDir()
	e := build(t, cfg, dir, split)
	if recs := trainMetrics(t, e); len(recs) != 3 {
		t.Fatalf("%d metrics records, want 3", len(recs))
	}
	ts, _, err := checkpoint.Load(filepath.Join(dir, train.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string][]int{"model/neck.W": {e.kind.(*deep).ebm.Cfg.ResNet.OutDim(), 3}, "model/out.W": {3, 4}} {
		if w, ok := ts[k]; !ok || !slices.Equal(w.Shape, want) {
			t.Fatalf("checkpoint %q: shape %v (present %v), want %v", k, w.Shape, ok, want)
		}
	}
	plain := build(t, tinyDeepConfig(config.ResNetEBM), t.TempDir(), split)
	if _, err := plain.Run.LoadParams(filepath.Join(dir, train.CheckpointFile)); err == nil {
		t.Fatal("a model without the bottleneck loaded the bottleneck checkpoint")
	}
}

// TestSampleJoint checks that the marginal sampler's images are the v
// columns of the joint chains it runs, for the same seed, and that the h
// columns are there too.
func TestSampleJoint(t *testing.T) {
	e := build(t, tinyDeepConfig(config.DeepEBLVM), t.TempDir(), tinyImages(t, 4))
	dk := e.kind.(*deep)
	cfg := LangevinConfig(8)
	joint, err := e.SampleJoint(3, cfg, tensor.NewRNG(7))
	if err != nil {
		t.Fatal(err)
	}
	v := dk.sampleMarginal(3, cfg, tensor.NewRNG(7))
	s := dk.imageShape()
	d := s[0] * s[1] * s[2]
	if got := joint.Shape(); !slices.Equal(got, []int{3, d + 2}) {
		t.Fatalf("SampleJoint shape %v, want [3 %d]", got, d+2)
	}
	if !slices.Equal(tensor.Slice(joint, 1, 0, d).F32(), v.F32()) {
		t.Fatal("sampleMarginal's images differ from SampleJoint's v columns for the same seed")
	}
	ebm := build(t, tinyDeepConfig(config.ResNetEBM), t.TempDir(), tinyImages(t, 4))
	if _, err := ebm.SampleJoint(3, cfg, tensor.NewRNG(7)); err == nil {
		t.Fatal("SampleJoint on a model without latents")
	}
}

// TestSampleMarginalBiLevel checks the bi-level marginal sampler: images of
// the run's shape in [0, 1], reproducible for a seed, not the joint
// sampler's; Sample and Evaluate refuse it on a model without latents and
// refuse unknown sampler names.
func TestSampleMarginalBiLevel(t *testing.T) {
	e := build(t, tinyDeepConfig(config.DeepEBLVM), t.TempDir(), tinyImages(t, 4))
	dk := e.kind.(*deep)
	cfg := LangevinConfig(8)
	a := dk.sampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(8))
	b := dk.sampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(8))
	if want := append([]int{3}, dk.imageShape()...); !slices.Equal(a.Shape(), want) {
		t.Fatalf("shape %v, want %v", a.Shape(), want)
	}
	if !slices.Equal(a.F32(), b.F32()) {
		t.Fatal("same seeds, different samples")
	}
	for _, x := range a.F32() {
		if !(x >= 0 && x <= 1) {
			t.Fatalf("sample value %v outside [0, 1]", x)
		}
	}
	if slices.Equal(a.F32(), dk.sampleMarginal(3, cfg, tensor.NewRNG(7)).F32()) {
		t.Fatal("bi-level and joint samplers gave the same images")
	}
	if slices.Equal(a.F32(), dk.sampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(9)).F32()) {
		t.Fatal("q's draws do not change the chains")
	}
	if _, err := e.Sample(SampleOptions{N: 2, Steps: 8, Prefix: filepath.Join(t.TempDir(), "s"), Sampler: "gibbs"}); err == nil || !strings.Contains(err.Error(), `"gibbs"`) {
		t.Fatalf("unknown sampler: err = %v", err)
	}
	ebm := build(t, tinyDeepConfig(config.ResNetEBM), t.TempDir(), tinyImages(t, 4))
	if _, err := ebm.Evaluate(EvalOptions{N: 2, Steps: 8, Sampler: config.SamplerBiLevel}); err == nil || !strings.Contains(err.Error(), "posterior") {
		t.Fatalf("bilevel sampler on resnet_ebm: err = %v", err)
	}
}

// TestDeepArenaMatchesHeap: as TestArenaMatchesHeap, for the deep models.
func TestDeepArenaMatchesHeap(t *testing.T) {
	split := tinyImages(t, 10)
	for _, kind := range deepKinds {
		t.Run(string(kind), func(t *testing.T) {
			cfg := tinyDeepConfig(kind)
			cfg.Method.N = 1
			heap, poisoned, reused := build(t, cfg, "", split), build(t, cfg, "", split), build(t, cfg, "", split)
			heap.Run.NoArena = true
			for _, e := range []*Experiment{poisoned, reused} {
				e.Run.Arena = tensor.NewArena()
				e.Run.Arena.Poison, e.Run.Arena.MinElems = e == poisoned, 1
			}
			for i := 0; i < 3; i++ {
				for _, e := range []*Experiment{heap, poisoned, reused} {
					if err := e.Run.Steps(1); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
			}
			sameState(t, heap, poisoned)
			sameState(t, heap, reused)
		})
	}
}

// TestDeepImplicitGradient trains the tiny deep EBLVM with BiMDSM and the
// implicit gradient (a Fisher inner loss, so Hessian-vector products are
// third derivatives): the records carry the solves' statistics, every
// value is finite, and a run resumed halfway ends in the same state.
func TestDeepImplicitGradient(t *testing.T) {
	split := tinyImages(t, 10)
	cfg := tinyDeepConfig(config.DeepEBLVM)
	cfg.Method.N, cfg.Method.Unroll = 0, ""
	cfg.Method.Gradient = config.GradientImplicit
	d := config.Defaults().Method
	cfg.Method.Solver, cfg.Method.SolverIters, cfg.Method.SolverTol, cfg.Method.Draws = d.Solver, 20, d.SolverTol, 2
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	a := build(t, cfg, dirA, split)
	for _, rec := range trainMetrics(t, a) {
		for _, k := range []string{"train_loss", "inner_loss", "solver_iters", "solver_residual", "inner_grad_norm"} {
			v, ok := rec[k]
			if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("record %v: %s missing or not finite", rec, k)
			}
		}
		if !(rec["solver_iters"] >= 1) {
			t.Fatalf("record %v: no solver iterations", rec)
		}
	}
	two := cfg
	two.Train.Iterations = 2
	trainMetrics(t, build(t, two, dirB, split))
	b := resumed(t, cfg, dirB, split)
	trainMetrics(t, b)
	sameState(t, a, b)
}
