package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/internal/datatest"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/train"
)

// TestMain lets a test run this package's main in a child process
// (BISM_TEST_MAIN=1), to check signals and exit statuses.
func TestMain(m *testing.M) {
	if os.Getenv("BISM_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// bism runs a command line in this process and returns its exit status
// and what it printed.
func bism(t *testing.T, args ...string) (code int, out, errOut string) {
	t.Helper()
	var o, e bytes.Buffer
	oldOut, oldErr := stdout, stderr
	stdout, stderr = &o, &e
	defer func() { stdout, stderr = oldOut, oldErr }()
	code = run(args)
	return code, o.String(), e.String()
}

// ok runs a command line that must succeed and returns its output.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errOut := bism(t, args...)
	if code != 0 {
		t.Fatalf("bism %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fails runs a command line that must fail with status code, printing
// every want on stderr.
func fails(t *testing.T, code int, want []string, args ...string) string {
	t.Helper()
	c, _, errOut := bism(t, args...)
	if c != code {
		t.Errorf("bism %s: exit %d, want %d\n%s", strings.Join(args, " "), c, code, errOut)
	}
	for _, w := range want {
		if !strings.Contains(errOut, w) {
			t.Errorf("bism %s: %q does not say %q", strings.Join(args, " "), errOut, w)
		}
	}
	return errOut
}

// exists fails the test unless every path exists.
func exists(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatal(err)
		}
	}
}

var quick = []string{"-config", "quickstart", "-quiet", "-set", "train.iterations=20", "-set", "train.eval_every=10"}

func train20(t *testing.T, out string, more ...string) {
	t.Helper()
	ok(t, append(append([]string{"train", "-out", out}, quick...), more...)...)
}

// TestCheckerboardCommands runs train (a built-in config by name), resume,
// eval (table and JSON), sample and keys on a short quickstart run, as the
// README does.
func TestCheckerboardCommands(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	train20(t, out)
	exists(t, filepath.Join(out, "config.yaml"), filepath.Join(out, "metrics.jsonl"), filepath.Join(out, "checkpoint.safetensors"),
		filepath.Join(out, "run.json"), filepath.Join(out, "density.png"))
	ok(t, "train", "-out", out, "-resume", "-quiet", "-set", "train.iterations=30")
	table := ok(t, "eval", "-run", out, "-quiet")
	if !strings.Contains(table, "eval_s") || !strings.Contains(table, "test_ll") {
		t.Errorf("eval table lacks eval_s or test_ll:\n%s", table)
	}
	var res map[string]float64
	if err := json.Unmarshal([]byte(ok(t, "eval", "-run", out, "-json")), &res); err != nil {
		t.Fatalf("eval -json: %v", err)
	}
	if res["iter"] != 30 {
		t.Errorf("eval -json after resume to 30 iterations: iter = %v", res["iter"])
	}
	// A 2-D GRBM is sampled as points over its density.
	ok(t, "sample", "-run", out, "-n", "16", "-steps", "5")
	exists(t, filepath.Join(out, "samples.png"))
	// run.json records each start and resume with the build and command.
	var log struct {
		Starts []train.Start `json:"starts"`
	}
	b, _ := os.ReadFile(filepath.Join(out, "run.json"))
	if err := json.Unmarshal(b, &log); err != nil || len(log.Starts) != 2 || log.Starts[0].Event != "start" || log.Starts[1].Event != "resume" ||
		log.Starts[1].Iter != 20 || log.Starts[0].Version == "" || log.Starts[0].Go == "" || log.Starts[0].Time == "" || len(log.Starts[0].Command) == 0 {
		t.Errorf("run.json: %v\n%s", err, b)
	}
}

// TestNewUserMet drives each thing a new user met in earlier versions and
// shows what bism does now.
func TestNewUserMet(t *testing.T) {
	dir := t.TempDir()

	// Missing data says how to get it, with a command the CLI has.
	t.Run("data", func(t *testing.T) {
		empty := t.TempDir()
		fails(t, 1, []string{"bism data fetch frey", "-data"}, "train", "-config", "frey/dsm", "-out", filepath.Join(dir, "frey"), "-data", empty, "-quiet")
		out := ok(t, "data", "path", "-data", empty)
		if !strings.Contains(out, "missing (bism data fetch mnist)") {
			t.Errorf("data path: %s", out)
		}
	})

	// A finished run is not overwritten silently; -force starts over and
	// removes the old run's files first.
	t.Run("overwrite", func(t *testing.T) {
		out := filepath.Join(dir, "run")
		train20(t, out, "-set", "train.checkpoint_every=10")
		before, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
		fails(t, 1, []string{"already holds a run", "-resume", "-force"}, append([]string{"train", "-out", out}, quick...)...)
		after, _ := os.ReadFile(filepath.Join(out, "metrics.jsonl"))
		if !bytes.Equal(before, after) {
			t.Fatal("a refused training changed metrics.jsonl")
		}
		ok(t, "train", "-out", out, "-force", "-config", "quickstart", "-quiet", "-set", "train.iterations=5", "-set", "train.eval_every=5")
		if _, err := os.Stat(filepath.Join(out, "checkpoints", "iter_00000010.safetensors")); err == nil {
			t.Error("-force left the old run's snapshots")
		}
		// -force refuses a folder holding files bism did not write.
		os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644)
		fails(t, 1, []string{"notes.txt", "did not write"}, "train", "-out", out, "-force", "-config", "quickstart", "-quiet")
		exists(t, filepath.Join(out, "notes.txt"), filepath.Join(out, "checkpoint.safetensors"))
	})

	// -resume refuses a config that makes another experiment, naming the
	// keys, and leaves the run's files alone.
	t.Run("resume", func(t *testing.T) {
		out := filepath.Join(dir, "resume")
		train20(t, out)
		cfgBefore, _ := os.ReadFile(filepath.Join(out, "config.yaml"))
		fails(t, 1, []string{"method.name: bissm -> dsm", "train.lr: 0.001 -> 0.01"}, "train", "-out", out, "-resume", "-quiet",
			"-set", "method.name=dsm", "-set", "train.lr=0.01")
		cfgAfter, _ := os.ReadFile(filepath.Join(out, "config.yaml"))
		if !bytes.Equal(cfgBefore, cfgAfter) {
			t.Fatal("a refused resume rewrote config.yaml")
		}
		fails(t, 1, []string{"no run to resume"}, "train", "-out", filepath.Join(dir, "nothing"), "-resume", "-quiet")
		// -resume=auto starts a run that has no checkpoint, resumes one that has.
		auto := filepath.Join(dir, "auto")
		ok(t, append([]string{"train", "-out", auto, "-resume=auto"}, quick...)...)
		ok(t, "train", "-out", auto, "-resume=auto", "-quiet", "-set", "train.iterations=30")
		if recs, _ := train.ReadMetrics(filepath.Join(auto, "metrics.jsonl")); len(recs) != 3 {
			t.Errorf("-resume=auto: %d records, want 3", len(recs))
		}
		// A torn last metrics line (a killed writer) and temporary files are
		// cleaned up on resume.
		f, _ := os.OpenFile(filepath.Join(auto, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
		f.WriteString(`{"iter":31,"train_lo`)
		f.Close()
		os.WriteFile(filepath.Join(auto, ".checkpoint.safetensors.tmp99"), []byte("x"), 0o644)
		ok(t, "train", "-out", auto, "-resume", "-quiet", "-set", "train.iterations=40")
		if recs, err := train.ReadMetrics(filepath.Join(auto, "metrics.jsonl")); err != nil || len(recs) != 4 {
			t.Errorf("resume after a torn line: %d records, %v", len(recs), err)
		}
		if m, _ := filepath.Glob(filepath.Join(auto, ".*tmp*")); len(m) > 0 {
			t.Errorf("temporary files left: %v", m)
		}
		// A folder with a config but no checkpoint (killed before its first
		// save) restarts without -force.
		killed := filepath.Join(dir, "killed")
		os.MkdirAll(killed, 0o755)
		cfg, _ := os.ReadFile(filepath.Join(auto, "config.yaml"))
		os.WriteFile(filepath.Join(killed, "config.yaml"), cfg, 0o644)
		ok(t, append([]string{"train", "-out", killed}, quick...)...)
	})

	// A second training of the same directory is refused while one holds it.
	t.Run("lock", func(t *testing.T) {
		out := filepath.Join(dir, "locked")
		l, err := train.Lock(out)
		if err != nil {
			t.Fatal(err)
		}
		fails(t, 1, []string{"is being trained by process"}, append([]string{"train", "-out", out}, quick...)...)
		l.Unlock()
	})

	// -set errors name the override and the key, never a line of a file.
	t.Run("set", func(t *testing.T) {
		out := filepath.Join(dir, "set")
		for _, c := range []struct{ set, want string }{
			{"train.iterations=abc", "-set train.iterations=abc: train.iterations wants an integer"},
			{"train.lr=", "train.lr needs a value"},
			{"train.batch_size=1.5", "train.batch_size wants an integer"},
			{"train.lr=.inf", "train.lr wants a finite number"},
			{"train.inner_lr=.nan", "train.inner_lr wants a finite number"},
			{"eval.grid=0", "eval.grid: must be at least 1"},
			{"train.batch_size=1000000000000", "2^31"},
			{"model.hidden=1000000000", "2^31"},
			{"eval.grid=1000000", "2^31"},
			{"train.itterations=5", "did you mean train.iterations"},
		} {
			e := fails(t, 1, []string{c.want}, append(append([]string{"train", "-out", out}, quick...), "-set", c.set)...)
			if strings.Contains(e, "line") || strings.Contains(e, "!!") || strings.Contains(e, "TrainConfig") {
				t.Errorf("-set %s: %s", c.set, e)
			}
		}
		if _, err := os.Stat(out); err == nil {
			t.Error("a refused config left a run directory")
		}
		// A run whose memory cannot fit is refused with the estimate.
		fails(t, 1, []string{"the run needs about", "available", "-skip-memory-check"}, append(append([]string{"train", "-out", out}, quick...),
			"-set", "train.batch_size=50000000")...)
		if _, err := os.Stat(out); err == nil {
			t.Error("a refused run left its directory")
		}
	})

	// version, help, suggestions, keys with types, defaults and meanings.
	t.Run("cli", func(t *testing.T) {
		if v := ok(t, "version"); !strings.HasPrefix(v, "bism ") || !strings.Contains(v, "go") {
			t.Errorf("version: %s", v)
		}
		if h := ok(t, "help", "train"); !strings.Contains(h, "-resume") || !strings.Contains(h, "-force") {
			t.Errorf("help train: %s", h)
		}
		fails(t, 2, []string{`did you mean "train"`}, "trian")
		fails(t, 2, []string{"did you mean -steps"}, "sample", "-run", "x", "-stesp", "3")
		fails(t, 2, []string{"-fid is gone", "bism eval"}, "sample", "-run", "x", "-fid")
		keys := ok(t, "keys")
		for _, line := range strings.Split(strings.TrimSpace(keys), "\n") {
			if len(strings.Fields(line)) < 4 {
				t.Errorf("bism keys line without type, default and meaning: %q", line)
			}
		}
		if !strings.Contains(keys, "train.warmup") || !strings.Contains(keys, "(empty: joint)") {
			t.Errorf("keys:\n%s", keys)
		}
		if c := ok(t, "configs"); !strings.Contains(c, "checkerboard/bissm") || !strings.Contains(c, "frey/bidsm") {
			t.Errorf("configs: %s", c)
		}
		// Every flag's help is one short line.
		for _, c := range commands {
			if c.flags == nil {
				continue
			}
			fs := newFlags(c.name)
			c.flags(fs)
			fs.VisitAll(func(f *flag.Flag) {
				if len(f.Usage) > 110 || strings.Contains(f.Usage, "\n") {
					t.Errorf("bism %s -%s: help of %d characters", c.name, f.Name, len(f.Usage))
				}
			})
		}
	})

	// Flags that do not apply to the run's model are errors.
	t.Run("flags", func(t *testing.T) {
		out := filepath.Join(dir, "flags")
		train20(t, out)
		fails(t, 2, []string{"-n does not apply", "log-likelihood"}, "eval", "-run", out, "-n", "50")
		fails(t, 2, []string{"-sampler does not apply"}, "sample", "-run", out, "-sampler", "bilevel")
		fails(t, 2, []string{"GRBM run", "denois"}, "denoise", "-run", out, "-sigma", "0.5")
		fails(t, 1, []string{"holds no run"}, "eval", "-run", filepath.Join(dir, "none"))
	})
}

// TestCorruptRun: a corrupt checkpoint is a clear error, not a panic.
func TestCorruptRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	train20(t, out)
	os.WriteFile(filepath.Join(out, "checkpoint.safetensors"), []byte("not a checkpoint"), 0o644)
	fails(t, 1, []string{"checkpoint.safetensors"}, "eval", "-run", out, "-quiet")
	fails(t, 1, []string{"checkpoint.safetensors"}, "sample", "-run", out)
	fails(t, 1, []string{"checkpoint.safetensors"}, "train", "-out", out, "-resume", "-quiet")
}

// TestInterrupt sends SIGINT to a training in a child process: it saves
// a checkpoint, says how to resume and exits 130; resuming ends at the
// same metrics as a run that was not interrupted.
func TestInterrupt(t *testing.T) {
	if testing.Short() {
		t.Skip("trains in a child process")
	}
	dir := t.TempDir()
	sets := []string{"-config", "quickstart", "-set", "train.iterations=4000", "-set", "train.eval_every=50"}
	args := append([]string{"train", "-out", filepath.Join(dir, "run")}, sets...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "BISM_TEST_MAIN=1")
	pipe, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(pipe)
	var log strings.Builder
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "record @ 100:") {
			cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the training did not stop after SIGINT:\n%s", log.String())
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(log.String(), "resume with: bism train -resume -out") {
		t.Fatalf("exit %d:\n%s", code, log.String())
	}
	ck, err := os.ReadFile(filepath.Join(dir, "run", "checkpoint.safetensors"))
	if err != nil || len(ck) == 0 {
		t.Fatalf("no checkpoint after the interrupt: %v", err)
	}
	// Resumed, it ends where an uninterrupted run ends: the same records,
	// the interval that the interrupt cut included.
	ok(t, "train", "-out", filepath.Join(dir, "run"), "-resume", "-quiet")
	ok(t, append([]string{"train", "-out", filepath.Join(dir, "straight"), "-quiet"}, sets...)...)
	a, _ := train.ReadMetrics(filepath.Join(dir, "run", "metrics.jsonl"))
	b, _ := train.ReadMetrics(filepath.Join(dir, "straight", "metrics.jsonl"))
	if len(a) != len(b) || len(a) != 80 {
		t.Fatalf("%d records after the resume, %d straight, want 80", len(a), len(b))
	}
	for i := range a {
		for k, v := range b[i] {
			if k != "elapsed_s" && a[i][k] != v {
				t.Fatalf("record %d: %s = %v resumed, %v straight", i, k, a[i][k], v)
			}
		}
	}
}

// TestDataFetch downloads Frey face through bism data fetch from a local
// server standing in for the sources, and fails cleanly when the sources
// cannot be reached or serve a wrong file.
func TestDataFetch(t *testing.T) {
	root := datatest.Root(t, data.NameFrey)
	raw, err := os.ReadFile(filepath.Join(root, "frey", "frey_rawface.mat"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/good/frey/frey_rawface.mat":
			w.Write(raw)
		case "/bad/frey/frey_rawface.mat":
			w.Write(raw[:100])
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dst := t.TempDir()
	t.Setenv(data.EnvSources, srv.URL+"/bad")
	fails(t, 1, []string{"checksum"}, "data", "fetch", "frey", "-data", dst)
	t.Setenv(data.EnvSources, "http://127.0.0.1:1")
	fails(t, 1, []string{"frey", "127.0.0.1:1"}, "data", "fetch", "frey", "-data", dst)
	t.Setenv(data.EnvSources, srv.URL+"/bad,"+srv.URL+"/good")
	ok(t, "data", "fetch", "frey", "-data", dst)
	if got, _ := os.ReadFile(filepath.Join(dst, "frey", "frey_rawface.mat")); !bytes.Equal(got, raw) {
		t.Fatal("fetched file differs")
	}
	if p := ok(t, "data", "path", "-data", dst); !strings.Contains(p, "frey           present") {
		t.Errorf("data path: %s", p)
	}
	fails(t, 2, []string{"no data set"}, "data", "fetch", "imagenet")
}

// TestDeepCommands trains a tiny ResNet EBM on MNIST for two iterations and
// runs the deep commands on it: samples, the evaluation record, denoising.
func TestDeepCommands(t *testing.T) {
	datatest.Root(t, data.NameMNIST)
	out := filepath.Join(t.TempDir(), "run")
	ok(t, "train", "-config", "mnist/mdsm-cpu", "-out", out, "-quiet", "-set", "model.ch=2", "-set", "model.features=4",
		"-set", "train.iterations=2", "-set", "train.checkpoint_every=1")
	snap := filepath.Join(out, "checkpoints", "iter_00000001.safetensors")
	exists(t, filepath.Join(out, "checkpoint.safetensors"), snap)
	ok(t, "sample", "-run", out, "-n", "4", "-steps", "6", "-quiet")
	ok(t, "eval", "-run", out, "-n", "4", "-steps", "6", "-quiet")
	ok(t, "eval", "-run", out, "-n", "4", "-steps", "6", "-quiet", "-checkpoint", snap)
	ok(t, "denoise", "-run", out, "-n", "8", "-steps", "6", "-quiet", "-sigma", "0.5")
	exists(t, filepath.Join(out, "samples.png"), filepath.Join(out, "eval.json"), filepath.Join(out, "eval_iter_00000001.json"),
		filepath.Join(out, "eval_samples.png"), filepath.Join(out, "eval_iter_00000001_samples.png"), filepath.Join(out, "denoise_s0.5.png"))
	fails(t, 2, []string{"-sigma"}, "denoise", "-run", out, "-quiet", "-sigma", "-1")
	missing := filepath.Join(t.TempDir(), "inception.safetensors")
	fails(t, 1, []string{"inception.safetensors"}, "eval", "-run", out, "-quiet", "-inception", missing)
	fails(t, 2, []string{"-select does not apply"}, "eval", "-run", out, "-select")
	// The bi-level sampler needs a posterior; the ResNet EBM has none.
	fails(t, 1, []string{"posterior"}, "sample", "-run", out, "-quiet", "-n", "2", "-steps", "6", "-sampler", "bilevel")
}

// TestBiLevelSamplerCommands trains a tiny deep EBLVM with BiMDSM on MNIST
// for two iterations and samples it with -sampler bilevel: grids and the
// evaluation record get their own names, next to the joint sampler's.
func TestBiLevelSamplerCommands(t *testing.T) {
	datatest.Root(t, data.NameMNIST)
	out := filepath.Join(t.TempDir(), "run")
	tiny := []string{"-config", "mnist/bimdsm-cpu", "-quiet", "-set", "model.ch=2", "-set", "model.features=4",
		"-set", "model.posterior_ch=2", "-set", "model.hidden=2", "-set", "method.k=1", "-set", "train.iterations=2"}
	ok(t, append([]string{"train", "-out", out}, tiny...)...)
	ok(t, "sample", "-run", out, "-n", "4", "-steps", "6", "-quiet", "-sampler", "bilevel")
	ok(t, "eval", "-run", out, "-n", "4", "-steps", "6", "-quiet", "-sampler", "bilevel", "-probe-n", "20")
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
	fails(t, 1, []string{"gibbs"}, "sample", "-run", out, "-quiet", "-n", "2", "-sampler", "gibbs")

	// A run whose config says eval.sampler: bilevel samples with it when
	// no flag is given; the flag still wins, and denoise (joint chains
	// from test images) is not refused because of the config.
	out2 := filepath.Join(t.TempDir(), "run2")
	ok(t, append(append([]string{"train", "-out", out2}, tiny...), "-set", "eval.sampler=bilevel")...)
	ok(t, "eval", "-run", out2, "-n", "4", "-steps", "6", "-quiet", "-probe-n", "20")
	ok(t, "denoise", "-run", out2, "-n", "2", "-steps", "6", "-quiet", "-sigma", "0.5")
	exists(t, filepath.Join(out2, "eval_bilevel.json"), filepath.Join(out2, "denoise_s0.5.png"))
	if _, err := os.Stat(filepath.Join(out2, "eval.json")); err == nil {
		t.Fatal("eval.sampler bilevel: the evaluation wrote eval.json, the joint sampler's file")
	}
	ok(t, "eval", "-run", out2, "-n", "2", "-steps", "6", "-quiet", "-probe-n", "20", "-sampler", "joint")
	exists(t, filepath.Join(out2, "eval.json"))
}

// TestSweepCommand: a shipped sweep file, shortened by -set, trains its
// cells and writes the summary; -status and -summarize need only the
// folder, a rerun skips finished cells, and mistakes are named.
func TestSweepCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sw")
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte("base: checkerboard/bidsm\nvariants:\n  n0: {method.n: 0}\n  dsm: {config: checkerboard/dsm}\nseeds: [1, 2]\neval: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BISM_TEST_MAIN", "1") // the evaluation step runs this binary's main
	ok(t, "sweep", "-file", f, "-out", dir, "-j", "2", "-set", "train.iterations=20", "-set", "train.eval_every={train.iterations/2}")
	exists(t, filepath.Join(dir, "n0,seed1", "checkpoint.safetensors"), filepath.Join(dir, "dsm,seed2", "metrics.jsonl"),
		filepath.Join(dir, "dsm,seed2", "eval.json"), filepath.Join(dir, "summary.csv"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "curves.png"))
	if csv, _ := os.ReadFile(filepath.Join(dir, "summary.csv")); !strings.Contains(string(csv), "eval.test_ll") {
		t.Fatalf("summary.csv lacks the evaluation's numbers:\n%s", csv)
	}
	if out := ok(t, "sweep", "-status", dir); !strings.Contains(out, "4 cells: 4 finished, 0 partial, 0 pending") {
		t.Fatalf("status:\n%s", out)
	}
	if _, _, e := bism(t, "sweep", "-out", dir); !strings.Contains(e, "4 of 4 cells already finished") {
		t.Fatalf("rerun:\n%s", e)
	}
	ok(t, "sweep", "-summarize", dir)
	fails(t, 2, []string{"-out is required"}, "sweep", "-file", f)
	fails(t, 1, []string{"holds no sweep"}, "sweep", "-status", t.TempDir())
	fails(t, 1, []string{"train.itrations"}, "sweep", "-file", f, "-out", t.TempDir(), "-set", "train.itrations=5")

	// A cell that fails (its data set is not in the data folder) is tried
	// again, reported by -status, and does not stop the others.
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("variants:\n  cb: {config: checkerboard/dsm}\n  frey: {config: frey/dsm}\nseeds: [1]\nset:\n  train.iterations: 10\n"), 0o644)
	dir2 := filepath.Join(t.TempDir(), "sw2")
	fails(t, 1, []string{"frey,seed1:", "attempt 2 of 2"}, "sweep", "-file", bad, "-out", dir2, "-data", t.TempDir())
	if out := ok(t, "sweep", "-status", dir2); !strings.Contains(out, "1 finished, 0 partial, 0 pending, 1 failed") || !strings.Contains(out, "frey") {
		t.Fatalf("status:\n%s", out)
	}
	exists(t, filepath.Join(dir2, "summary.md"))
}

// TestSweepSlurmSubmit: -slurm writes an array script (one task per cell,
// each running -cell I) and a summary script, and submits the second after
// the first with afterany; a stand-in sbatch records what it was given.
// (scripts/slurm_e2e.sh runs a sweep through a real Slurm.)
func TestSweepSlurmSubmit(t *testing.T) {
	bin := t.TempDir()
	calls := filepath.Join(bin, "calls")
	fake := "#!/bin/sh\necho \"$@\" >> " + calls + "\nn=$(wc -l < " + calls + ")\necho $((41 + n))\n"
	if err := os.WriteFile(filepath.Join(bin, "sbatch"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir := filepath.Join(t.TempDir(), "sw")
	f := filepath.Join(t.TempDir(), "s.yaml")
	if err := os.WriteFile(f, []byte("base: checkerboard/bidsm\ngrid:\n  method.n: [0, 5]\nseeds: [1, 2, 3]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok(t, "sweep", "-file", f, "-out", dir, "-slurm", "-slurm-args", "--partition=cpu --time=1:00:00")
	got, _ := os.ReadFile(calls)
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "--partition=cpu --time=1:00:00") || !strings.HasSuffix(lines[0], "cells.sh") ||
		!strings.Contains(lines[1], "--dependency=afterany:42") || !strings.HasSuffix(lines[1], "summary.sh") {
		t.Fatalf("sbatch calls:\n%s", got)
	}
	script, _ := os.ReadFile(filepath.Join(dir, "slurm", "cells.sh"))
	for _, want := range []string{"#SBATCH --array=0-5", "#SBATCH --requeue", `sweep -out `, `-cell "$SLURM_ARRAY_TASK_ID"`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("cells.sh lacks %q:\n%s", want, script)
		}
	}
	if out := ok(t, "sweep", "-status", dir); !strings.Contains(out, "6 cells: 0 finished, 0 partial, 6 pending") || !strings.Contains(out, "array job 42, summary in job 43") {
		t.Fatalf("status:\n%s", out)
	}
	// What an array task runs: one cell (trained by this binary's main).
	t.Setenv("BISM_TEST_MAIN", "1")
	ok(t, "sweep", "-out", dir, "-cell", "3", "-set", "train.iterations=10")
	if out := ok(t, "sweep", "-status", dir); !strings.Contains(out, "6 cells: 0 finished, 1 partial") {
		t.Fatalf("after -cell 3:\n%s", out)
	}
	fails(t, 2, []string{"-cell 6: the sweep has 6 cells"}, "sweep", "-out", dir, "-cell", "6")

	// -ranks: P tasks per array task, the cell started by srun.
	dir2 := filepath.Join(t.TempDir(), "sw2")
	ok(t, "sweep", "-file", f, "-out", dir2, "-slurm", "-ranks", "2")
	script, _ = os.ReadFile(filepath.Join(dir2, "slurm", "cells.sh"))
	for _, want := range []string{"#SBATCH --ntasks=2", `-cell "$SLURM_ARRAY_TASK_ID" -ranks 2`} {
		if !strings.Contains(string(script), want) {
			t.Errorf("cells.sh with -ranks 2 lacks %q:\n%s", want, script)
		}
	}
	fails(t, 2, []string{"-ranks P (P >= 1) goes with -slurm"}, "sweep", "-file", f, "-out", t.TempDir(), "-ranks", "2")
}

// TestCompareCommand: a run equals itself and its resumed twin bit for bit,
// and differs from a run of another seed.
func TestCompareCommand(t *testing.T) {
	a, b, c := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b"), filepath.Join(t.TempDir(), "c")
	args := []string{"train", "-config", "checkerboard/dsm", "-set", "train.eval_every=20", "-quiet"}
	ok(t, append(args, "-set", "train.iterations=40", "-out", a)...)
	ok(t, append(args, "-set", "train.iterations=20", "-out", b)...)
	ok(t, "train", "-resume", "-set", "train.iterations=40", "-out", b, "-quiet")
	ok(t, append(args, "-set", "train.iterations=40", "-set", "seed=7", "-out", c)...)
	if out := ok(t, "compare", "-a", a, "-b", b); !strings.Contains(out, "largest relative difference 0 ") {
		t.Fatalf("a run against its resumed twin:\n%s", out)
	}
	fails(t, 1, []string{"differ by more than -tol 0.01"}, "compare", "-a", a, "-b", c, "-tol", "0.01")
	fails(t, 2, []string{"-a and -b are required"}, "compare", "-a", a)
	fails(t, 1, []string{"no such file"}, "compare", "-a", a, "-b", t.TempDir())
}

// TestLaunchedWithoutMPI: the default build started by mpirun as several
// processes refuses to train alone in each, and says how to build with MPI.
func TestLaunchedWithoutMPI(t *testing.T) {
	t.Setenv("OMPI_COMM_WORLD_SIZE", "2")
	fails(t, 1, []string{"built without MPI", "-tags mpi"}, "train", "-config", "checkerboard/dsm", "-out", filepath.Join(t.TempDir(), "r"))
}

// TestBenchCopies: bench -copies times one copy alone and N at once, each
// on one core, reports N times the lone copy's time over the slowest
// copy's, leaves the loops' splitting as it was, and refuses one copy and
// more copies than cores.
func TestBenchCopies(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	workers := parallel.Workers
	var rec struct {
		Copies   int       `json:"copies"`
		Alone    float64   `json:"ms_per_iter_alone"`
		Together []float64 `json:"ms_per_iter_copies"`
		Ratio    float64   `json:"throughput_ratio"`
	}
	out := ok(t, "bench", "-config", "checkerboard/dsm", "-iterations", "3", "-warmup", "1", "-copies", "2", "-json")
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if rec.Copies != 2 || len(rec.Together) != 2 || rec.Alone <= 0 {
		t.Fatalf("got %+v, want 2 copies' times and one alone", rec)
	}
	if want := 2 * rec.Alone / max(rec.Together[0], rec.Together[1]); math.Abs(rec.Ratio-want) > 1e-9*want {
		t.Errorf("throughput_ratio %v, want 2 x %v / max(%v) = %v", rec.Ratio, rec.Alone, rec.Together, want)
	}
	if parallel.Workers != workers {
		t.Errorf("parallel.Workers %d after the copies, was %d", parallel.Workers, workers)
	}
	if out := ok(t, "bench", "-config", "checkerboard/dsm", "-iterations", "2", "-warmup", "0", "-copies", "2"); !strings.Contains(out, "2 cores give at most") {
		t.Errorf("no ceiling line in:\n%s", out)
	}
	fails(t, 2, []string{"-copies 3 needs 3 cores, and GOMAXPROCS is 2"}, "bench", "-config", "checkerboard/dsm", "-copies", "3")
	fails(t, 2, []string{"does not combine with profiles"}, "bench", "-config", "checkerboard/dsm", "-copies", "2", "-cpuprofile", filepath.Join(t.TempDir(), "c"))
	fails(t, 2, []string{"-copies non-negative"}, "bench", "-config", "checkerboard/dsm", "-copies", "-1")
	fails(t, 2, []string{"needs N >= 2"}, "bench", "-config", "checkerboard/dsm", "-copies", "1")
}

// TestBenchProfiles: bench writes the CPU, blocking, lock-contention and
// allocation profiles it is asked for, reports the heap allocations per
// iteration, and refuses a path it cannot write.
func TestBenchProfiles(t *testing.T) {
	dir := t.TempDir()
	cpu, block, mutex, mem := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "block.pprof"), filepath.Join(dir, "mutex.pprof"), filepath.Join(dir, "mem.pprof")
	out := ok(t, "bench", "-config", "checkerboard/dsm", "-iterations", "20", "-warmup", "1", "-cpuprofile", cpu, "-blockprofile", block, "-mutexprofile", mutex, "-memprofile", mem)
	if !strings.Contains(out, "heap: ") || !strings.Contains(out, "allocations (") {
		t.Errorf("no heap line in:\n%s", out)
	}
	linux := runtime.GOOS == "linux"
	if linux && !strings.Contains(out, "memory: peak resident set ") {
		t.Errorf("no peak memory line in:\n%s", out)
	}
	var rec struct {
		Allocs *float64 `json:"allocs_per_iter"`
		Bytes  *float64 `json:"alloc_bytes_per_iter"`
		RSS    *float64 `json:"peak_rss_mib"`
	}
	if err := json.Unmarshal([]byte(ok(t, "bench", "-config", "checkerboard/dsm", "-iterations", "5", "-warmup", "1", "-json")), &rec); err != nil {
		t.Fatal(err)
	}
	// A steady step of DSM allocates nothing (TestStepAllocatesNothing);
	// the counts are reported all the same.
	if rec.Allocs == nil || *rec.Allocs < 0 || rec.Bytes == nil || *rec.Bytes < 0 {
		t.Errorf("allocs_per_iter %v, alloc_bytes_per_iter %v: want counts", rec.Allocs, rec.Bytes)
	}
	if linux && (rec.RSS == nil || *rec.RSS < 1) {
		t.Errorf("peak_rss_mib %v: want the process's peak resident memory in MiB", rec.RSS)
	}
	for _, p := range []string{cpu, block, mutex, mem} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
	fails(t, 1, []string{"no such file"}, "bench", "-config", "checkerboard/dsm", "-iterations", "2", "-blockprofile", filepath.Join(dir, "no", "b.pprof"))
}
