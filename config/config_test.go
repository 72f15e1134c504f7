package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAndOverride(t *testing.T) {
	src := []byte("seed: 7\nmethod:\n  name: bidsm\n  sigma: 0.3\ntrain:\n  iterations: 10\n")
	cfg, err := Parse(src, []string{"train.iterations=25", "method.n=10", "seed=3"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Train.Iterations != 25 || cfg.Method.N != 10 || cfg.Seed != 3 || cfg.Method.Sigma != 0.3 {
		t.Fatalf("got %+v", cfg)
	}
	if cfg.Train.BatchSize != 100 || cfg.Train.Beta2 != 0.95 {
		t.Fatalf("defaults lost: %+v", cfg.Train)
	}
}

func TestErrorsNameTheProblem(t *testing.T) {
	cases := []struct {
		src       string
		overrides []string
		want      string
	}{
		{"train:\n  iteratons: 5\n", nil, "iteratons"},
		{"seed: 1\n", []string{"train.bogus=1"}, "bogus"},
		{"seed: 1\n", []string{"noequals"}, "key=value"},
		{"seed: [1\n", nil, "invalid YAML"},
		{"method:\n  name: foo\n", nil, "method.name"},
		{"seed: 1\n", []string{"train.iterations=abc"}, "iterations"},
		{"seed: 1\n", []string{"eval.sampler=gibbs"}, "eval.sampler"},
		{"seed: 1\n", []string{"eval.sampler=bilevel"}, "deep_eblvm"}, // the default model is a GRBM
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), c.overrides)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q %v: got %v, want mention of %q", c.src, c.overrides, err, c.want)
		}
	}
}

// TestShippedConfigsLoad parses every YAML file under configs/.
func TestShippedConfigsLoad(t *testing.T) {
	files, _ := filepath.Glob("../configs/*/*.yaml")
	more, _ := filepath.Glob("../configs/*.yaml")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found only %d configs", len(files))
	}
	for _, f := range files {
		if _, err := Load(f, nil); err != nil {
			t.Errorf("%v", err)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml"), nil); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}
