package train

import (
	"bytes"
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
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/sample"
	"github.com/bism-ml/bism/tensor"
)

// tinyImages is a synthetic labelled split of 1x32x32 images in [0,1].
func tinyImages(t *testing.T, n int) *data.Split {
	t.Helper()
	rng := tensor.NewRNG(9)
	mk := func(n int) *data.Set {
		x := rng.Uniform(tensor.Float32, 0, 1, n, 1, 32, 32).F32()
		labels := make([]int, n)
		for i := range labels {
			labels[i] = i % 3
		}
		s, err := data.NewSet(x, labels, 1, 32, 32)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return &data.Split{Train: mk(n), Test: mk(n)}
}

// tinyDeepConfig is a deep run small enough for a unit test.
func tinyDeepConfig(kind string) Config {
	c := Defaults()
	c.Data.Name = "mnist"
	c.Model = ModelConfig{Kind: kind, Hidden: 2, Ch: 2, Features: 4, PosteriorCh: 2}
	c.Method = MethodConfig{Name: "bimdsm", K: 1, N: 0, Unroll: "adam", SigmaBegin: 0.1, SigmaEnd: 3, Sigma0: 0.1, Geometric: true}
	if kind == "resnet_ebm" {
		c.Method.Name = "mdsm"
	}
	c.Train.Iterations = 3
	c.Train.BatchSize = 4
	c.Train.LR = 1e-3
	c.Train.EvalEvery = 1
	c.Train.CheckpointEvery = 2
	return c
}

func sameParams(t *testing.T, a, b *DeepRun) {
	t.Helper()
	pairs := [][2][]float64{}
	for _, n := range a.ModelParams().Names() {
		pairs = append(pairs, [2][]float64{a.ModelParams().Get(n).Values(), b.ModelParams().Get(n).Values()})
	}
	if a.Post != nil {
		for _, n := range a.Post.Params().Names() {
			pairs = append(pairs, [2][]float64{a.Post.Params().Get(n).Values(), b.Post.Params().Get(n).Values()})
		}
	}
	for _, p := range pairs {
		for i := range p[0] {
			if p[0][i] != p[1][i] {
				t.Fatalf("parameters differ after resume: %v vs %v", p[0][i], p[1][i])
			}
		}
	}
}

// TestDeepRunResume trains 3 iterations in one go and 2+1 with a resume;
// the parameters must be identical, and the run directory must hold the
// metrics, checkpoints and snapshots.
func TestDeepRunResume(t *testing.T) {
	split := tinyImages(t, 10)
	for _, kind := range []string{"deep_eblvm", "resnet_ebm"} {
		t.Run(kind, func(t *testing.T) {
			cfg := tinyDeepConfig(kind)
			dirA, dirB := t.TempDir(), t.TempDir()
			a, err := NewDeepWithData(cfg, dirA, Options{}, split)
			if err != nil {
				t.Fatal(err)
			}
			recs := trainMetrics(t, a, dirA)
			if len(recs) != 3 {
				t.Fatalf("%d metrics records, want 3", len(recs))
			}
			for _, rec := range recs {
				keys := []string{"iter", "elapsed_s", "lr", "train_loss"}
				if kind == "deep_eblvm" {
					keys = append(keys, "inner_loss", "posterior_fisher")
				}
				for _, k := range keys {
					v, ok := rec[k]
					if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
						t.Fatalf("record %v: %s missing or not finite", rec, k)
					}
				}
				if kind == "deep_eblvm" && !(rec["posterior_fisher"] > 0 && rec["inner_loss"] > 0) {
					t.Fatalf("record %v: posterior Fisher divergence should be positive", rec)
				}
			}
			for _, f := range []string{CheckpointFile, ConfigFile, "checkpoints/iter_00000002.safetensors", "checkpoints/iter_00000003.safetensors"} {
				if _, err := os.Stat(filepath.Join(dirA, f)); err != nil {
					t.Fatal(err)
				}
			}
			ts, meta, err := checkpoint.Load(filepath.Join(dirA, CheckpointFile))
			if err != nil {
				t.Fatal(err)
			}
			if meta["format"] != deepFormat || meta["iter"] != "3" || meta["model"] != kind {
				t.Fatalf("checkpoint metadata %v", meta)
			}
			want := []string{"model/res.stem.W", "model/res.0.conv1.W", "optim/theta/step", "optim/theta/m.0", "data/order"}
			if kind == "deep_eblvm" {
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
			b, err := NewDeepWithData(two, dirB, Options{}, split)
			if err != nil {
				t.Fatal(err)
			}
			if err := b.Train(); err != nil {
				t.Fatal(err)
			}
			b2, err := NewDeepWithData(cfg, dirB, Options{Resume: true}, split)
			if err != nil {
				t.Fatal(err)
			}
			if b2.Iter() != 2 {
				t.Fatalf("resumed at iteration %d", b2.Iter())
			}
			if err := b2.Train(); err != nil {
				t.Fatal(err)
			}
			sameParams(t, a, b2)
			recsB, _ := ReadMetrics(filepath.Join(dirB, MetricsFile))
			if len(recsB) != 3 {
				t.Fatalf("%d metrics records after resume, want 3", len(recsB))
			}

			// Divergence: a NaN parameter stops training with ErrDiverged
			// and leaves the last good checkpoint alone.
			more := cfg
			more.Train.Iterations = 5
			c, err := NewDeepWithData(more, dirB, Options{Resume: true}, split)
			if err != nil {
				t.Fatal(err)
			}
			c.ModelParams().Tensors()[0].SetFlat(0, math.NaN())
			if err := c.Train(); !errors.Is(err, ErrDiverged) {
				t.Fatalf("got %v, want ErrDiverged", err)
			}
			if _, meta, err := checkpoint.Load(filepath.Join(dirB, CheckpointFile)); err != nil || meta["iter"] != "3" {
				t.Fatalf("checkpoint after divergence: %v, %v", meta, err)
			}

			rep, err := DeepReport(a)
			if err != nil {
				t.Fatal(err)
			}
			if wantRep := map[string]int{"deep_eblvm": 2, "resnet_ebm": 1}[kind]; len(rep) != wantRep {
				t.Fatalf("DeepReport wrote %v", rep)
			}

			// Sampling writes PNG grids (a very short anneal).
			files, err := SampleDeep(a, DeepSampleOptions{N: 3, Scale: 0.004, Seed: 1, Prefix: filepath.Join(dirA, "samples")})
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := 1
			if kind == "deep_eblvm" {
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
			p, err := DenoiseGrid(a, 0.5, DeepSampleOptions{N: 3, Scale: 0.004, Seed: 1, Prefix: filepath.Join(dirA, "denoise")})
			if err != nil {
				t.Fatal(err)
			}
			if w, h := gridCells(t, p, 64); w != 8 || h != 3 {
				t.Fatalf("%s: %dx%d cells, want 8x3", p, w, h)
			}
			// More images than the test set's 10: one row of 10 per block.
			if p, err = DenoiseGrid(a, 0.5, DeepSampleOptions{N: 20, Scale: 0.004, Seed: 1, Prefix: filepath.Join(dirA, "denoise_all")}); err != nil {
				t.Fatal(err)
			}
			if w, h := gridCells(t, p, 64); w != 10 || h != 3 {
				t.Fatalf("%s: %dx%d cells, want 10x3", p, w, h)
			}
			// With no steps the chains end where they start: the noisy images.
			clean, noisy, out := a.SampleDenoise(5, 0.5, sample.Config{StepSize: 0.02, Temps: []float64{}}, tensor.NewRNG(3))
			if same := slices.Equal(noisy.Values(), out.Values()); clean.Dim(0) != 5 || !same {
				t.Fatalf("SampleDenoise without steps: %v images, result equals start %v", clean.Shape(), same)
			}
			var ss float64
			for i := 0; i < clean.Size(); i++ {
				d := noisy.Flat(i) - clean.Flat(i)
				ss += d * d
			}
			if sd := math.Sqrt(ss / float64(clean.Size())); math.Abs(sd-0.5) > 0.03 {
				t.Fatalf("noise std %.3f, want 0.5", sd)
			}
			if _, err := DenoiseGrid(a, 0, DeepSampleOptions{N: 3, Prefix: filepath.Join(dirA, "bad")}); err == nil {
				t.Fatal("DenoiseGrid accepted sigma 0")
			}
			// LoadModel reads the checkpoint back into a fresh run.
			fresh, err := NewDeepWithData(cfg, dirA, Options{}, split)
			if err != nil {
				t.Fatal(err)
			}
			if it, err := fresh.LoadModel(filepath.Join(dirA, CheckpointFile)); err != nil || it != 3 {
				t.Fatalf("LoadModel: %d, %v", it, err)
			}
			sameParams(t, a, fresh)
		})
	}
}

func TestLangevinConfigScale(t *testing.T) {
	if n := len(LangevinConfig(1).Temperatures()); n != 2700 {
		t.Fatalf("scale 1: %d steps", n)
	}
	if n := len(LangevinConfig(0.1).Temperatures()); n != 270 {
		t.Fatalf("scale 0.1: %d steps", n)
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
		ts := DenoiseConfig(c.sigma, 1).Temperatures()
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
	cfg := tinyDeepConfig("resnet_ebm")
	cfg.Method.Sigma0 = 0.2
	r, err := NewDeepWithData(cfg, t.TempDir(), Options{}, tinyImages(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	if c := r.samplerConfig(1); c.Sigma0 != 0.2 || math.Abs(denoiseFrom(c, 1).Temperatures()[0]-25) > 1e-9 {
		t.Fatalf("sampler σ0 %v, denoising enters at T = %v; want 0.2 and 25", c.Sigma0, denoiseFrom(c, 1).Temperatures()[0])
	}
}

func TestDeepConfigValidation(t *testing.T) {
	ok := tinyDeepConfig("deep_eblvm")
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"cd on deep", func(c *Config) { c.Method.Name = "cd" }, "needs a GRBM"},
		{"vnce on deep", func(c *Config) { c.Method.Name = "vnce" }, "needs a GRBM"},
		{"mdsm on eblvm", func(c *Config) { c.Method.Name = "mdsm" }, "resnet_ebm"},
		{"bimdsm on ebm", func(c *Config) { c.Model.Kind = "resnet_ebm" }, "deep_eblvm"},
		{"exact sm", func(c *Config) { c.Method.Name = "bism" }, "Hessian"},
		{"2-D data", func(c *Config) { c.Data.Name = "checkerboard" }, "needs 32x32 images"},
		{"frey", func(c *Config) { c.Data.Name = "frey" }, "needs 32x32 images"},
		{"negative ch", func(c *Config) { c.Model.Ch = -1 }, "model.ch"},
		{"scalar sigma", func(c *Config) { c.Model.ScalarSigma = true }, "GRBM option"},
		{"bottleneck on eblvm", func(c *Config) { c.Model.Bottleneck = 4 }, "model.bottleneck"},
		{"negative bottleneck", func(c *Config) { c.Model.Kind, c.Method.Name, c.Model.Bottleneck = "resnet_ebm", "mdsm", -1 }, "model.bottleneck"},
		{"unknown model", func(c *Config) { c.Model.Kind = "vae" }, "unknown model"},
		{"unknown data", func(c *Config) { c.Data.Name = "svhn" }, "unknown data set"},
		{"mdsm sigmas", func(c *Config) { c.Method.Sigma0 = 0 }, "positive noise"},
		{"schedule", func(c *Config) { c.Train.Schedule = "step" }, "schedule"},
	}
	for _, tc := range cases {
		c := tinyDeepConfig("deep_eblvm")
		tc.edit(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", tc.name, err, tc.want)
		}
	}
	// train.New builds GRBM runs only; a deep config is refused, not read as a GRBM.
	for _, kind := range []string{"deep_eblvm", "resnet_ebm"} {
		if _, err := New(tinyDeepConfig(kind), t.TempDir(), Options{}); err == nil || !strings.Contains(err.Error(), "NewDeep") {
			t.Errorf("train.New on %s: got %v, want an error pointing to NewDeep", kind, err)
		}
	}
	// Deep models ignore the GRBM's eval.ll (H = 50 would be too large for "exact").
	c := tinyDeepConfig("deep_eblvm")
	c.Model.Hidden = 50
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestDeepConfigFiles parses every shipped deep config.
func TestDeepConfigFiles(t *testing.T) {
	files, _ := filepath.Glob("../configs/mnist/*.yaml")
	more, _ := filepath.Glob("../configs/cifar10/*.yaml")
	files = append(files, more...)
	if len(files) < 6 {
		t.Fatalf("found only %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := UnmarshalConfig(b)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !IsDeep(c) {
			t.Errorf("%s: not a deep model", f)
		}
	}
}

// TestEvaluateDeep runs the whole deep evaluation on a tiny untrained
// deep EBLVM: FID/KID of marginal samples, samples via q and real images,
// the classifier scores, the probe and the posterior Fisher divergence, with
// the settings recorded.
func TestEvaluateDeep(t *testing.T) {
	split := tinyImages(t, 12)
	r, err := NewDeepWithData(tinyDeepConfig("deep_eblvm"), t.TempDir(), Options{}, split)
	if err != nil {
		t.Fatal(err)
	}
	res, err := EvaluateDeep(r, DeepEvalOptions{N: 6, Scale: 0.002, Seed: 3, ProbeN: 12})
	if err != nil {
		t.Fatal(err)
	}
	steps := float64(len(LangevinConfig(0.002).Temperatures()))
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

// TestEvaluateDeepGrids checks that the grids EvaluateDeep writes are, byte
// for byte, those SampleDeep writes for the same N, scale and seed: the
// evaluation's samples can be looked at without sampling them again.
func TestEvaluateDeepGrids(t *testing.T) {
	split := tinyImages(t, 12)
	dir := t.TempDir()
	r, err := NewDeepWithData(tinyDeepConfig("deep_eblvm"), dir, Options{}, split)
	if err != nil {
		t.Fatal(err)
	}
	const n, scale, seed = 5, 0.002, 4
	if _, err := EvaluateDeep(r, DeepEvalOptions{N: n, Scale: scale, Seed: seed, ProbeN: 12, GridPrefix: filepath.Join(dir, "eval")}); err != nil {
		t.Fatal(err)
	}
	files, err := SampleDeep(r, DeepSampleOptions{N: n, Scale: scale, Seed: seed, Prefix: filepath.Join(dir, "sample")})
	if err != nil {
		t.Fatal(err)
	}
	evals := r.GridFiles(filepath.Join(dir, "eval"))
	if len(files) != 3 || len(evals) != 3 {
		t.Fatalf("SampleDeep wrote %v; GridFiles %v", files, evals)
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
	for _, name := range []string{"mnist", "fashion-mnist"} {
		c := tinyDeepConfig("deep_eblvm")
		c.Data.Name = name
		r, err := NewDeepWithData(c, t.TempDir(), Options{}, split)
		if err != nil {
			t.Fatal(err)
		}
		res, err := EvaluateDeep(r, DeepEvalOptions{N: 3, Scale: 0.002, Seed: 3, ProbeN: 6, Inception: inc, InceptionRef: 4})
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
			if _, ok := res["fid_"+set]; ok != (name == "mnist") {
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
	for _, kind := range []string{"resnet_ebm", "deep_eblvm"} {
		r, err := NewDeepWithData(tinyDeepConfig(kind), t.TempDir(), Options{}, split)
		if err != nil {
			t.Fatal(err)
		}
		test := eval.SetImages(split.Test)
		samples := tensor.Scale(test, 0.5)
		res := map[string]float64{}
		r.energyProbe(res, samples, test)
		direct := func(v *tensor.Tensor) []float64 {
			if r.EBM != nil {
				return r.EBM.FreeEnergy(r.EBM.Params().Consts(), ad.Const(v)).Tensor().Values()
			}
			h := sample.PosteriorMean(r.Post, v, 0)
			return r.EBLVM.Energy(r.EBLVM.Params().Consts(), ad.Const(v), ad.Const(h)).Tensor().Values()
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
	cfg := tinyDeepConfig("resnet_ebm")
	cfg.Model.Bottleneck = 3
	dir := t.TempDir()
	r, err := NewDeepWithData(cfg, dir, Options{}, split)
	if err != nil {
		t.Fatal(err)
	}
	if recs := trainMetrics(t, r, dir); len(recs) != 3 {
		t.Fatalf("%d metrics records, want 3", len(recs))
	}
	ts, _, err := checkpoint.Load(filepath.Join(dir, CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string][]int{"model/neck.W": {r.EBM.Cfg.ResNet.OutDim(), 3}, "model/out.W": {3, 4}} {
		if w, ok := ts[k]; !ok || !slices.Equal(w.Shape, want) {
			t.Fatalf("checkpoint %q: shape %v (present %v), want %v", k, w.Shape, ok, want)
		}
	}
	plain, err := NewDeepWithData(tinyDeepConfig("resnet_ebm"), t.TempDir(), Options{}, split)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.LoadModel(filepath.Join(dir, CheckpointFile)); err == nil {
		t.Fatal("a model without the bottleneck loaded the bottleneck checkpoint")
	} else {
		t.Log(err)
	}
}

// TestSampleJoint checks that the marginal sampler's images are the v
// columns of the joint chains it runs, for the same seed, and that the h
// columns are there too.
func TestSampleJoint(t *testing.T) {
	r, err := NewDeepWithData(tinyDeepConfig("deep_eblvm"), t.TempDir(), Options{}, tinyImages(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	cfg := LangevinConfig(0.003)
	joint := r.SampleJoint(3, cfg, tensor.NewRNG(7))
	v := r.SampleMarginal(3, cfg, tensor.NewRNG(7))
	s := r.ImageShape()
	d := s[0] * s[1] * s[2]
	if got := joint.Shape(); !slices.Equal(got, []int{3, d + 2}) {
		t.Fatalf("SampleJoint shape %v, want [3 %d]", got, d+2)
	}
	if !slices.Equal(tensor.Slice(joint, 1, 0, d).F32(), v.F32()) {
		t.Fatal("SampleMarginal's images differ from SampleJoint's v columns for the same seed")
	}
}

// TestSampleMarginalBiLevel checks the bi-level marginal sampler: images of
// the run's shape in [0, 1], reproducible for a seed, not the joint
// sampler's; SampleDeep and EvaluateDeep refuse it on a model without
// latents and refuse unknown sampler names.
func TestSampleMarginalBiLevel(t *testing.T) {
	r, err := NewDeepWithData(tinyDeepConfig("deep_eblvm"), t.TempDir(), Options{}, tinyImages(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	cfg := LangevinConfig(0.003)
	a := r.SampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(8))
	b := r.SampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(8))
	if want := append([]int{3}, r.ImageShape()...); !slices.Equal(a.Shape(), want) {
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
	if slices.Equal(a.F32(), r.SampleMarginal(3, cfg, tensor.NewRNG(7)).F32()) {
		t.Fatal("bi-level and joint samplers gave the same images")
	}
	if slices.Equal(a.F32(), r.SampleMarginalBiLevel(3, cfg, tensor.NewRNG(7), tensor.NewRNG(9)).F32()) {
		t.Fatal("q's draws do not change the chains")
	}
	if _, err := SampleDeep(r, DeepSampleOptions{N: 2, Scale: 0.003, Prefix: filepath.Join(t.TempDir(), "s"), Sampler: "gibbs"}); err == nil || !strings.Contains(err.Error(), `"gibbs"`) {
		t.Fatalf("unknown sampler: err = %v", err)
	}
	ebm, err := NewDeepWithData(tinyDeepConfig("resnet_ebm"), t.TempDir(), Options{}, tinyImages(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EvaluateDeep(ebm, DeepEvalOptions{N: 2, Scale: 0.003, Sampler: SamplerBiLevel}); err == nil || !strings.Contains(err.Error(), "latents") {
		t.Fatalf("bilevel sampler on resnet_ebm: err = %v", err)
	}
}
