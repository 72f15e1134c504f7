package config

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bism-ml/bism/configs"
)

func TestParseAndOverride(t *testing.T) {
	src := []byte("seed: 7\nmethod:\n  name: bidsm\n  sigma: 0.3\ntrain:\n  iterations: 10\n")
	cfg, err := Parse(src, "c.yaml", []string{"train.iterations=25", "method.n=10", "seed=3", "train.lr=2e-4", "train.iterations=1e3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.Iterations != 1000 || cfg.Method.N != 10 || cfg.Seed != 3 || cfg.Method.Sigma != 0.3 || cfg.Train.LR != 2e-4 {
		t.Fatalf("got %+v", cfg)
	}
	if cfg.Train.BatchSize != 100 || cfg.Train.Beta2 != 0.95 {
		t.Fatalf("defaults lost: %+v", cfg.Train)
	}
}

// TestErrorsNameTheProblem: every error names the key, and the override
// or the file and line it came from, never YAML internals.
func TestErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		src       string
		overrides []string
		want      []string
	}{
		{"train:\n  iteratons: 5\n", nil, []string{"c.yaml:2:", "unknown key train.iteratons", "did you mean train.iterations"}},
		{"seed: 1\n", []string{"train.bogus=1"}, []string{"-set train.bogus=1", "unknown key train.bogus", "keys of train"}},
		{"seed: 1\n", []string{"noequals"}, []string{"-set noequals", "key=value"}},
		{"seed: [1\n", nil, []string{"c.yaml", "not valid YAML"}},
		{"method:\n  name: bissmm\n", nil, []string{"c.yaml:2:", "method.name", `did you mean "bissm"`}},
		{"seed: 1\n", []string{"train.iterations=abc"}, []string{"-set train.iterations=abc: train.iterations wants an integer"}},
		{"seed: 1\n", []string{"train.batch_size=1.5"}, []string{"-set train.batch_size=1.5", "wants an integer"}},
		{"seed: 1\n", []string{"train.lr="}, []string{"-set train.lr=", "train.lr needs a value"}},
		{"seed: 1\n", []string{"model.scalar_sigma="}, []string{"needs a value"}},
		{"seed: 1\n", []string{"train.lr=.inf"}, []string{"train.lr wants a finite number"}},
		{"seed: 1\n", []string{"train.inner_lr=.nan"}, []string{"train.inner_lr wants a finite number"}},
		{"seed: 1\n", []string{"train.lr=nan"}, []string{"train.lr wants a finite number"}},
		{"seed: 1\n", []string{"eval.grid=0"}, []string{"eval.grid", "at least 1"}},
		{"seed: 1\n", []string{"train.batch_size=1000000000000"}, []string{"train.batch_size", "2^31"}},
		{"seed: 1\n", []string{"model.hidden=1000000000"}, []string{"model.hidden", "2^31"}},
		{"seed: 1\n", []string{"eval.grid=1000000"}, []string{"eval.grid", "2^31"}},
		{"seed: 1\n", []string{"eval.sampler=gibbs"}, []string{"eval.sampler", "unknown value"}},
		{"seed: 1\n", []string{"eval.sampler=bilevel"}, []string{"deep_eblvm"}}, // the default model is a GRBM
		{"seed: 1\n", []string{"train=5"}, []string{"train is a section", "train.lr"}},
		{"train: 5\n", nil, []string{"c.yaml:1:", "train is a section"}},
		{"seed: 1\nseed: 2\n", nil, []string{"c.yaml:2:", "seed is set twice"}},
		{"train:\n  lr: [1, 2]\n", nil, []string{"c.yaml:2:", "train.lr wants a single value"}},
		{"method:\n  name: cd\nmodel:\n  kind: resnet_ebm\ndata:\n  name: mnist\n", nil, []string{"method.name", "cd does not train model resnet_ebm"}},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), "c.yaml", c.overrides)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%q %v: got %v, want mention of %q", c.src, c.overrides, err, w)
			}
		}
		if err != nil && (strings.Contains(err.Error(), "!!") || strings.Contains(err.Error(), "Config")) {
			t.Errorf("%q %v: error shows YAML or Go internals: %v", c.src, c.overrides, err)
		}
	}
}

// TestUnsetKeys: a text key whose empty value means "not set" takes it,
// restoring the default.
func TestUnsetKeys(t *testing.T) {
	cfg, err := Parse([]byte("train:\n  inner_schedule: constant\n"), "c.yaml", []string{"train.inner_schedule="})
	if err != nil || cfg.Train.InnerSchedule != "" {
		t.Fatalf("got %q, %v", cfg.Train.InnerSchedule, err)
	}
	for _, k := range Keys() {
		if k.Doc == "" || k.Type == "" {
			t.Errorf("key %s has no doc or type", k.Name)
		}
		if k.Unset != "" && k.Type != "text" && k.Values == nil {
			t.Errorf("key %s: only text keys may be unset", k.Name)
		}
	}
}

// TestShippedConfigsLoad parses every YAML file under configs/ (sweep files
// under configs/sweeps/ aside), from the file and by its built-in name.
func TestShippedConfigsLoad(t *testing.T) {
	all, _ := filepath.Glob("../configs/*/*.yaml")
	var files []string
	for _, f := range all {
		if filepath.Base(filepath.Dir(f)) != "sweeps" {
			files = append(files, f)
		}
	}
	more, _ := filepath.Glob("../configs/*.yaml")
	files = append(files, more...)
	if len(files) < 10 || len(files) != len(configs.Names()) {
		t.Fatalf("found %d configs, %d built in", len(files), len(configs.Names()))
	}
	for _, f := range files {
		a, err := Load(f, nil)
		if err != nil {
			t.Errorf("%v", err)
		}
		b, err := Load(configs.Trim(f), nil)
		if err != nil || a != b {
			t.Errorf("built-in %s: %v", configs.Trim(f), err)
		}
	}
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := Load("checkerbord/bissm", nil); err == nil || !strings.Contains(err.Error(), "did you mean checkerboard/bissm") {
		t.Errorf("misspelt built-in: %v", err)
	}
}

// TestMarshalRoundTrip: a resolved config written to a run directory reads
// back identical.
func TestMarshalRoundTrip(t *testing.T) {
	for _, name := range configs.Names() {
		c, err := Load(name, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		d, err := Parse(b, "config.yaml", nil)
		if err != nil || c != d {
			t.Errorf("%s: %v\n%+v\n%+v", name, err, c, d)
		}
	}
}

func TestCheckResume(t *testing.T) {
	base := Defaults()
	cases := []struct {
		name string
		set  []string
		want string // "" = allowed
	}{
		{"same", nil, ""},
		{"longer, constant schedule", []string{"train.iterations=200000"}, ""},
		{"evaluation", []string{"eval.ais_chains=10", "train.eval_every=5", "data.dir=/x"}, ""},
		{"method", []string{"method.name=bidsm"}, "method.name: bissm -> bidsm"},
		{"two keys", []string{"train.lr=0.01", "seed=5"}, "seed: 1234 -> 5"},
		{"cosine length", []string{"train.schedule=cosine"}, "train.schedule: constant -> cosine"},
	}
	for _, c := range cases {
		next := base
		if err := Override(&next, c.set); err != nil {
			t.Fatal(err)
		}
		err := CheckResume(base, next)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	cos := base
	cos.Train.Schedule = Cosine
	longer := cos
	longer.Train.Iterations *= 2
	if err := CheckResume(cos, longer); err == nil || !strings.Contains(err.Error(), "depends on train.iterations") {
		t.Errorf("cosine schedule, longer run: %v", err)
	}
	warm := base
	warm.Train.Warmup, warm.Train.Iterations = 500, 100
	w2 := warm
	w2.Train.Iterations = 1000
	if err := CheckResume(warm, w2); err == nil {
		t.Errorf("warm-up cut to the run's length: resume allowed")
	}
}

// TestImplicitGradientKeys: with method.gradient implicit, n and unroll
// left unset become 0 and empty; set, they are errors; the solver keys
// are checked; the resolved config reads back the same.
func TestImplicitGradientKeys(t *testing.T) {
	base := "seed: 1\nmethod:\n  name: bidsm\n  gradient: implicit\n"
	cfg, err := Parse([]byte(base), "c.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Method.N != 0 || cfg.Method.Unroll != "" || cfg.Method.Solver != SolverMINRES {
		t.Fatalf("got %+v", cfg.Method)
	}
	out, err := Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out, "run.yaml", nil)
	if err != nil {
		t.Fatalf("the resolved config does not read back: %v\n%s", err, out)
	}
	if err := CheckResume(cfg, back); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse([]byte("method:\n  name: bidsm\n"), "c.yaml", []string{"method.gradient=implicit", "method.n=0", "method.unroll="}); err != nil {
		t.Fatalf("an unrolled config switched to implicit with n=0 and no unroll: %v", err)
	}
	cases := []struct {
		src       string
		overrides []string
		want      string
	}{
		{base + "  n: 5\n", nil, "method.n: the implicit gradient unrolls no steps"},
		{base, []string{"method.n=3"}, "method.n: the implicit gradient unrolls no steps"},
		{base + "  unroll: sgd\n", nil, "method.unroll: the implicit gradient unrolls no steps"},
		{"method:\n  name: bidsm\n", []string{"method.gradient=implicit"}, "method.n"}, // Defaults' n stays 5 only when the file sets it; here it does not
		{base, []string{"method.solver=lu"}, `method.solver: unknown value "lu"`},
		{base, []string{"method.solver=cg"}, "method.damping: cg needs a positive damping"},
		{base, []string{"method.solver_iters=0"}, "method.solver_iters"},
		{base, []string{"method.solver_tol=1"}, "method.solver_tol"},
		{base, []string{"method.draws=0"}, "method.draws"},
		{base, []string{"method.damping=-1"}, "method.damping"},
		{"method:\n  name: dsm\n  gradient: implicit\n", nil, "dsm has no inner problem"},
		{"method:\n  name: bidsm\n  gradient: newton\n", nil, `method.gradient: unknown value "newton"`},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), "c.yaml", c.overrides)
		if c.want == "method.n" {
			// Switching a config without n to implicit is fine.
			if err != nil {
				t.Errorf("%q %v: %v", c.src, c.overrides, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: got %v, want %q", c.src, c.overrides, err, c.want)
		}
	}
}
