package experiment

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bism-ml/bism/internal/datatest"
	"github.com/bism-ml/bism/train"
)

// copyRun copies the run directory of a fixture into a temporary folder.
func copyRun(t *testing.T, fixture string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{train.ConfigFile, train.MetricsFile, train.CheckpointFile} {
		b, err := os.ReadFile(filepath.Join("testdata", fixture, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestRunsOfEarlierVersions: run directories written by bism before the
// run API (config.yaml, a bism-grbm-v1 or deep checkpoint, metrics.jsonl,
// kept in testdata/v1) still evaluate, sample and resume.
func TestRunsOfEarlierVersions(t *testing.T) {
	for _, c := range []struct {
		fixture     string
		iter, total int
		set         []string
		data        string
	}{
		{"v1/grbm", 20, 22, []string{"train.iterations=22"}, ""},
		{"v1/deep", 2, 4, nil, "mnist"}, // stopped at 2 of 4 iterations
	} {
		t.Run(c.fixture, func(t *testing.T) {
			if c.data != "" {
				datatest.Root(t, c.data)
			}
			dir := copyRun(t, c.fixture)
			e, it, err := Open(dir, "", nil, Options{})
			if err != nil || it != c.iter {
				t.Fatalf("open: iteration %d, %v", it, err)
			}
			if !e.Config.Model.Kind.Deep() {
				res, err := e.Evaluate(EvalOptions{})
				if err != nil || res["test_ll"] == 0 {
					t.Fatalf("evaluate: %v, %v", res, err)
				}
			}
			if _, err := e.Sample(SampleOptions{N: 4, Steps: 6}); err != nil {
				t.Fatalf("sample: %v", err)
			}
			e2, err := Train(context.Background(), TrainOptions{Dir: dir, Resume: ResumeYes, Overrides: c.set})
			if err != nil || e2.Run.Iter() != c.total {
				t.Fatalf("resume: %v", err)
			}
		})
	}
}
