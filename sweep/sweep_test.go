package sweep

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bism-ml/bism/train"
)

const small = `
base: checkerboard/bidsm
variants:
  n0: {method.n: 0}
  ssm: {config: checkerboard/ssm}
grid:
  train.lr: [0.001, 0.0003]
seeds: [1, 2]
set:
  train.iterations: 40
  train.eval_every: 20
`

func TestCells(t *testing.T) {
	f, err := Parse([]byte(small), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := f.Cells([]string{"train.batch_size=50"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cells {
		names = append(names, c.Name)
	}
	want := []string{"n0,lr=0.001,seed1", "n0,lr=0.001,seed2", "n0,lr=0.0003,seed1", "n0,lr=0.0003,seed2",
		"ssm,lr=0.001,seed1", "ssm,lr=0.001,seed2", "ssm,lr=0.0003,seed1", "ssm,lr=0.0003,seed2"}
	if !slices.Equal(names, want) {
		t.Fatalf("cells %v, want %v", names, want)
	}
	cfg, err := cells[2].Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Method.N != 0 || cfg.Train.LR != 0.0003 || cfg.Seed != 1 || cfg.Train.Iterations != 40 || cfg.Train.BatchSize != 50 {
		t.Fatalf("cell %s resolved to %+v %+v seed %d", cells[2].Name, cfg.Method, cfg.Train, cfg.Seed)
	}
	if cfg, _ := cells[4].Resolve(); cfg.Method.Name != "ssm" {
		t.Fatalf("variant config not used: %s", cfg.Method.Name)
	}
	if cells[0].Group != "n0,lr=0.001" || cells[1].Group != cells[0].Group {
		t.Fatalf("groups %q %q", cells[0].Group, cells[1].Group)
	}
}

// TestDerived: {key/n} computes a value from the cell's own config.
func TestDerived(t *testing.T) {
	f, err := Parse([]byte("base: checkerboard/bidsm\ngrid:\n  train.iterations: [1000, 3000]\nseeds: [1]\nset:\n  train.eval_every: '{train.iterations/10}'\n  train.inner_lr: '{train.lr*2}'\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := f.Cells(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{100, 300} {
		cfg, err := cells[i].Resolve()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Train.EvalEvery != want || cfg.Train.InnerLR != 2*cfg.Train.LR {
			t.Errorf("%s: eval_every %d inner_lr %v, want %d and %v", cells[i].Name, cfg.Train.EvalEvery, cfg.Train.InnerLR, want, 2*cfg.Train.LR)
		}
	}
	f.Set = append(f.Set, "train.warmup={train.nokey/2}")
	if _, err := f.Cells(nil); err == nil || !strings.Contains(err.Error(), "train.nokey is not a key") {
		t.Fatalf("got %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"base: checkerboard/bidsm\n", "seeds is required"},
		{"seeds: [1]\n", "base is required"},
		{"base: x\nseeds: [1]\nbogus: 1\n", "s.yaml:3: unknown key bogus"},
		{"base: x\nseeds: [1, 1]\n", "seed 1 is listed twice"},
		{"base: x\nseeds: [a]\n", `"a" is not a non-negative integer`},
		{"base: x\nseeds: [1]\ngrid:\n  train.lr: []\n", "grid.train.lr wants a non-empty list"},
		{"base: x\nseeds: [1]\nvariants:\n  a/b: {method.n: 1}\n", `variant name "a/b"`},
		{"base: [\n", "not valid YAML"},
		{"base: x\nseeds: [1]\neval: {a: [-x], a: [-y]}\n", "evaluation step a is named twice"},
		{"base: x\nseeds: [1]\neval: {a/b: [-x]}\n", `evaluation step name "a/b"`},
		{"base: x\nseeds: [1]\neval: {a: -x}\n", "eval.a: eval wants a list"},
		{"base: x\nseeds: [1]\nvariants:\n  v: {eval: [-x]}\n", "a variant's evaluation steps are named"},
	}
	for _, c := range cases {
		_, err := Parse([]byte(c.src), "s.yaml")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
	// A bad key fails when the cells are made, before anything runs.
	f, err := Parse([]byte("base: checkerboard/bidsm\nseeds: [1]\ngrid:\n  train.lrr: [1]\n"), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Cells(nil); err == nil || !strings.Contains(err.Error(), "train.lrr") {
		t.Fatalf("got %v, want an error naming train.lrr", err)
	}
}

// TestRun: a sweep trains every cell; run again, it skips them; a cell
// stopped halfway is resumed and ends where an uninterrupted one does; one
// worker or two give the same metrics; the summary lists every cell.
func TestRun(t *testing.T) {
	f, err := Parse([]byte(small), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := f.Cells(nil)
	if err != nil {
		t.Fatal(err)
	}
	cells = cells[:3] // two seeds of one group, one of another
	a, b := t.TempDir(), t.TempDir()
	if err := Run(context.Background(), a, cells, Options{Jobs: 1}); err != nil {
		t.Fatal(err)
	}
	// b: the first cell stopped at iteration 20, then the whole sweep with two workers.
	half := cells[0]
	half.Overrides = append(slices.Clip(half.Overrides), "train.iterations=20")
	if err := Run(context.Background(), b, []Cell{half}, Options{}); err != nil {
		t.Fatal(err)
	}
	if st, it, _ := CellState(b, cells[0]); st != Partial || it != 20 {
		t.Fatalf("stopped cell: %s at %d, want partial at 20", st, it)
	}
	var log bytes.Buffer
	if err := Run(context.Background(), b, cells, Options{Jobs: 2, Progress: &log}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		ma, err := os.ReadFile(filepath.Join(a, c.Name, train.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		mb, err := os.ReadFile(filepath.Join(b, c.Name, train.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		if !sameRecords(t, ma, mb) {
			t.Errorf("%s: metrics differ between -j 1 and a resumed -j 2 sweep:\n%s\n%s", c.Name, ma, mb)
		}
	}
	log.Reset()
	if err := Run(context.Background(), b, cells, Options{Progress: &log}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "3 of 3 cells already finished") || strings.Contains(log.String(), "start") {
		t.Fatalf("a finished sweep ran again:\n%s", log.String())
	}

	files, err := Summarize(b, cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Fatalf("wrote %v", files)
	}
	csv, _ := os.ReadFile(filepath.Join(b, SummaryCSV))
	md, _ := os.ReadFile(filepath.Join(b, SummaryMD))
	if n := strings.Count(string(csv), "\n"); n != 4 {
		t.Fatalf("summary.csv has %d lines, want a header and 3 rows:\n%s", n, csv)
	}
	if !strings.Contains(string(md), "| n0,lr=0.001 | 2 | 40 |") || !strings.Contains(string(md), "| n0,lr=0.0003 | 1 | 40 |") || !strings.Contains(string(md), " ± ") {
		t.Fatalf("summary.md:\n%s", md)
	}
}

// sameRecords compares metrics files record by record, all but elapsed_s.
func sameRecords(t *testing.T, a, b []byte) bool {
	t.Helper()
	la, lb := strings.Split(strings.TrimSpace(string(a)), "\n"), strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(la) != len(lb) {
		return false
	}
	strip := func(s string) string {
		i := strings.Index(s, `"elapsed_s":`)
		j := strings.Index(s[i:], ",")
		return s[:i] + s[i+j+1:]
	}
	for i := range la {
		if strip(la[i]) != strip(lb[i]) {
			return false
		}
	}
	return true
}

// TestEvalSteps: named evaluation steps, the file's and a variant's, each
// write their file; a cell is finished when all have; an interrupted
// evaluation runs only the steps that are missing; the summary has each
// step's numbers under its name.
func TestEvalSteps(t *testing.T) {
	src := "base: checkerboard/dsm\nseeds: [1]\nset: {train.iterations: 10}\nvariants:\n  plain: {}\n" +
		"  more: {train.lr: 0.002, eval: {extra: [-z]}}\neval: {first: [-x], second: [-y, '2']}\n"
	f, err := Parse([]byte(src), "s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cells, err := f.Cells(nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells[0].Evals) != 2 || len(cells[1].Evals) != 3 || cells[1].Evals[2].Name != "extra" || !slices.Contains(cells[1].Overrides, "train.lr=0.002") {
		t.Fatalf("cells %+v", cells)
	}
	var calls []string
	eval := func(_ context.Context, dir string, flags []string) ([]byte, error) {
		calls = append(calls, filepath.Base(dir)+" "+strings.Join(flags, " "))
		return []byte(fmt.Sprintf(`{"score": %d}`, len(flags))), nil
	}
	dir := t.TempDir()
	if err := Run(context.Background(), dir, cells, Options{Eval: eval}); err != nil {
		t.Fatal(err)
	}
	want := []string{"plain,seed1 -x", "plain,seed1 -y 2", "more,seed1 -x", "more,seed1 -y 2", "more,seed1 -z"}
	if !slices.Equal(calls, want) {
		t.Fatalf("evaluations %q, want %q", calls, want)
	}
	for _, c := range cells {
		if st, _, _ := CellState(dir, c); st != Finished {
			t.Fatalf("%s: %s", c.Name, st)
		}
	}
	// A missing step makes the cell partial, and only it runs again.
	os.Remove(filepath.Join(dir, "more,seed1", "eval-extra.json"))
	if st, _, _ := CellState(dir, cells[1]); st != Partial {
		t.Fatalf("a cell without its last evaluation is %s", st)
	}
	calls = nil
	if err := Run(context.Background(), dir, cells, Options{Eval: eval}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(calls, []string{"more,seed1 -z"}) {
		t.Fatalf("evaluations after the interruption: %q", calls)
	}
	if _, err := Summarize(dir, cells); err != nil {
		t.Fatal(err)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, SummaryCSV))
	for _, k := range []string{"eval.first.score", "eval.second.score", "eval.extra.score"} {
		if !strings.Contains(string(csv), k) {
			t.Errorf("summary.csv lacks %s:\n%s", k, csv)
		}
	}
	// A variant's step may not reuse a file step's name.
	f2, _ := Parse([]byte("base: checkerboard/dsm\nseeds: [1]\nvariants:\n  v: {eval: {first: [-q]}}\neval: {first: [-x]}\n"), "s.yaml")
	if _, err := f2.Cells(nil); err == nil || !strings.Contains(err.Error(), `"first" is given twice`) {
		t.Fatalf("duplicate step: %v", err)
	}
}

// TestShippedSweeps: every sweep file under configs/sweeps parses and
// expands into cells whose configs resolve.
func TestShippedSweeps(t *testing.T) {
	files, _ := filepath.Glob("../configs/sweeps/*.yaml")
	if len(files) == 0 {
		t.Fatal("no sweep files found")
	}
	for _, p := range files {
		f, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		cells, err := f.Cells(nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		t.Logf("%s: %d cells", filepath.Base(p), len(cells))
	}
}
