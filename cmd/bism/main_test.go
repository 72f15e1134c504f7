package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/internal/datatest"
)

// exists fails the test unless every path exists.
func exists(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
}

// capture runs cmd with the commands' stdout sent to a buffer and returns
// what it printed; the test fails if cmd does.
func capture(t *testing.T, cmd func() error) string {
	t.Helper()
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	if err := cmd(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestCheckerboardCommands runs train, resume, eval (table and JSON) and keys
// on a short quickstart run, as the README does; sample refuses 2-D data clearly.
func TestCheckerboardCommands(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "configs", "quickstart.yaml")
	if err := cmdTrain([]string{"-config", cfg, "-out", out, "-quiet", "-set", "train.iterations=20", "-set", "train.eval_every=10"}); err != nil {
		t.Fatal(err)
	}
	exists(t, filepath.Join(out, "config.yaml"), filepath.Join(out, "metrics.jsonl"), filepath.Join(out, "checkpoint.safetensors"))
	if err := cmdTrain([]string{"-out", out, "-resume", "-quiet", "-set", "train.iterations=30"}); err != nil {
		t.Fatal(err)
	}
	table := capture(t, func() error { return cmdEval([]string{"-run", out, "-quiet"}) })
	if !strings.Contains(table, "eval_s") || !strings.Contains(table, "test_") {
		t.Errorf("eval table lacks eval_s or test metrics:\n%s", table)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(capture(t, func() error { return cmdEval([]string{"-run", out, "-json"}) })), &res); err != nil {
		t.Fatalf("eval -json: %v", err)
	}
	if res["iter"] != 30 {
		t.Errorf("eval -json after resume to 30 iterations: iter = %v", res["iter"])
	}
	if keys := capture(t, func() error { return cmdKeys(nil) }); !strings.Contains(keys, "train.warmup\n") {
		t.Errorf("bism keys does not list train.warmup:\n%s", keys)
	}
	if err := cmdSample([]string{"-run", out, "-n", "16", "-steps", "5"}); err == nil || !strings.Contains(err.Error(), "not images") {
		t.Fatalf("sampling 2-D data: got %v", err)
	}
}

// TestCommandErrors checks that bad input is an error naming the cause.
func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join("..", "..", "configs", "quickstart.yaml")
	corrupt := filepath.Join(dir, "corrupt")
	if err := os.MkdirAll(corrupt, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "config.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(corrupt, "checkpoint.safetensors"), []byte("not a checkpoint"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		run  func([]string) error
		args []string
		want string
	}{
		{"train without -out", cmdTrain, []string{"-config", cfg}, "-out"},
		{"train without -config", cmdTrain, []string{"-out", dir}, "-config"},
		{"missing config file", cmdTrain, []string{"-config", filepath.Join(dir, "nope.yaml"), "-out", dir}, "nope.yaml"},
		{"unknown key", cmdTrain, []string{"-config", cfg, "-out", dir, "-set", "train.itterations=5"}, "itterations"},
		{"bad value", cmdTrain, []string{"-config", cfg, "-out", dir, "-set", "train.lr=-1"}, "train.lr"},
		{"not a run directory", cmdEval, []string{"-run", filepath.Join(dir, "none")}, "run directory"},
		{"corrupt checkpoint", cmdEval, []string{"-run", corrupt, "-quiet"}, "checkpoint.safetensors"},
		{"sample from corrupt checkpoint", cmdSample, []string{"-run", corrupt}, "checkpoint.safetensors"},
		{"marginal sampler on a GRBM run", cmdSample, []string{"-run", corrupt, "-marginal-sampler", "bilevel"}, "-marginal-sampler"},
	} {
		err := c.run(c.args)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %q", c.name, err, c.want)
		}
	}
}

// TestDeepCommands trains a tiny ResNet EBM on MNIST for two iterations and
// runs the deep sampling commands on it (grids, FID record, denoising).
func TestDeepCommands(t *testing.T) {
	datatest.Root(t, data.NameMNIST)
	out := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "configs", "mnist", "mdsm-cpu.yaml")
	if err := cmdTrain([]string{"-config", cfg, "-out", out, "-quiet", "-set", "model.ch=2", "-set", "model.features=4",
		"-set", "train.iterations=2", "-set", "train.checkpoint_every=1"}); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(out, "checkpoints", "iter_00000001.safetensors")
	exists(t, filepath.Join(out, "checkpoint.safetensors"), snap)
	for _, args := range [][]string{
		{"-n", "4", "-langevin-scale", "0.002", "-quiet"},
		{"-n", "4", "-langevin-scale", "0.002", "-quiet", "-fid"},
		{"-n", "4", "-langevin-scale", "0.002", "-quiet", "-fid", "-checkpoint", snap},
		{"-n", "8", "-langevin-scale", "0.002", "-quiet", "-denoise", "0.5"},
	} {
		if err := cmdSample(append([]string{"-run", out}, args...)); err != nil {
			t.Fatalf("sample %v: %v", args, err)
		}
	}
	exists(t, filepath.Join(out, "samples.png"), filepath.Join(out, "eval.json"), filepath.Join(out, "eval_iter_00000001.json"),
		filepath.Join(out, "eval_samples.png"), filepath.Join(out, "eval_iter_00000001_samples.png"), filepath.Join(out, "denoise_s0.5.png"))
	if err := cmdSample([]string{"-run", out, "-quiet", "-denoise", "-1"}); err == nil || !strings.Contains(err.Error(), "noise") {
		t.Fatalf("negative -denoise: got %v", err)
	}
	missing := filepath.Join(t.TempDir(), "inception.safetensors")
	if err := cmdSample([]string{"-run", out, "-quiet", "-fid", "-inception", missing}); err == nil || !strings.Contains(err.Error(), "inception.safetensors") {
		t.Fatalf("missing Inception weights: got %v", err)
	}
	if err := cmdSample([]string{"-run", out, "-quiet", "-inception", missing}); err == nil || !strings.Contains(err.Error(), "-fid") {
		t.Fatalf("-inception without -fid: got %v", err)
	}
	// The bi-level sampler needs latents; the ResNet EBM has none.
	if err := cmdSample([]string{"-run", out, "-quiet", "-n", "2", "-langevin-scale", "0.002", "-marginal-sampler", "bilevel"}); err == nil || !strings.Contains(err.Error(), "latents") {
		t.Fatalf("-marginal-sampler bilevel on resnet_ebm: got %v", err)
	}
	if err := cmdSample([]string{"-run", out, "-quiet", "-denoise", "0.5", "-marginal-sampler", "bilevel"}); err == nil || !strings.Contains(err.Error(), "-denoise") {
		t.Fatalf("-marginal-sampler with -denoise: got %v", err)
	}
}

// TestBiLevelSamplerCommands trains a tiny deep EBLVM with BiMDSM on MNIST
// for two iterations and samples it with -marginal-sampler bilevel: grids
// and the FID record get their own names, next to the joint sampler's.
func TestBiLevelSamplerCommands(t *testing.T) {
	datatest.Root(t, data.NameMNIST)
	out := filepath.Join(t.TempDir(), "run")
	cfg := filepath.Join("..", "..", "configs", "mnist", "bimdsm-cpu.yaml")
	if err := cmdTrain([]string{"-config", cfg, "-out", out, "-quiet", "-set", "model.ch=2", "-set", "model.features=4",
		"-set", "model.posterior_ch=2", "-set", "model.hidden=2", "-set", "method.k=1", "-set", "train.iterations=2"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-n", "4", "-langevin-scale", "0.002", "-quiet", "-marginal-sampler", "bilevel"},
		{"-n", "4", "-langevin-scale", "0.002", "-quiet", "-marginal-sampler", "bilevel", "-fid", "-probe-n", "20"},
	} {
		if err := cmdSample(append([]string{"-run", out}, args...)); err != nil {
			t.Fatalf("sample %v: %v", args, err)
		}
	}
	exists(t, filepath.Join(out, "samples_bilevel.png"), filepath.Join(out, "samples_bilevel_via_q.png"),
		filepath.Join(out, "eval_bilevel.json"), filepath.Join(out, "eval_bilevel_samples.png"))
	b, err := os.ReadFile(filepath.Join(out, "eval_bilevel.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]float64
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res["bilevel_sampler"] != 1 {
		t.Fatalf("eval_bilevel.json does not record the sampler: %v", res)
	}
	if _, err := os.Stat(filepath.Join(out, "eval.json")); err == nil {
		t.Fatal("the bilevel evaluation wrote eval.json, the joint sampler's file")
	}
	if err := cmdSample([]string{"-run", out, "-quiet", "-n", "2", "-marginal-sampler", "gibbs"}); err == nil || !strings.Contains(err.Error(), "gibbs") {
		t.Fatalf("unknown sampler: got %v", err)
	}

	// A run whose config says eval.sampler: bilevel samples with it when
	// no flag is given; the flag still wins, and -denoise (joint chains
	// from test images) is not refused because of the config.
	out2 := filepath.Join(t.TempDir(), "run2")
	if err := cmdTrain([]string{"-config", cfg, "-out", out2, "-quiet", "-set", "model.ch=2", "-set", "model.features=4",
		"-set", "model.posterior_ch=2", "-set", "model.hidden=2", "-set", "method.k=1", "-set", "train.iterations=2",
		"-set", "eval.sampler=bilevel"}); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-n", "4", "-langevin-scale", "0.002", "-quiet", "-fid", "-probe-n", "20"},
		{"-n", "2", "-langevin-scale", "0.002", "-quiet", "-denoise", "0.5"},
	} {
		if err := cmdSample(append([]string{"-run", out2}, args...)); err != nil {
			t.Fatalf("sample %v: %v", args, err)
		}
	}
	exists(t, filepath.Join(out2, "eval_bilevel.json"), filepath.Join(out2, "denoise_s0.5.png"))
	if _, err := os.Stat(filepath.Join(out2, "eval.json")); err == nil {
		t.Fatal("eval.sampler bilevel: the evaluation wrote eval.json, the joint sampler's file")
	}
	if err := cmdSample([]string{"-run", out2, "-n", "2", "-langevin-scale", "0.002", "-quiet", "-fid", "-probe-n", "20", "-marginal-sampler", "joint"}); err != nil {
		t.Fatal(err)
	}
	exists(t, filepath.Join(out2, "eval.json"))
}
