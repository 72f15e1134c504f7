package main

import (
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/bism-ml/bism/internal/datatest"
)

// TestBenchScripts runs scripts/bench.sh and scripts/bench_deep.sh at their
// smallest sizes, so that they cannot rot: every workload must produce a
// row (bench.sh) and every command must succeed. The PyTorch halves run
// when BISM_BENCH_PYTHON names a python with torch (.ci/run does so when
// one is installed); otherwise they are skipped as the scripts document.
func TestBenchScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bism and runs every benchmark once (-short)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	datatest.Root(t, "frey")
	datatest.Root(t, "mnist")
	py := os.Getenv("BISM_BENCH_PYTHON")
	if py == "" {
		py = "/nonexistent/python3"
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("bash", args...)
		cmd.Dir = "../.."
		cmd.Env = append(os.Environ(), "BISM_BENCH_PYTHON="+py)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run("scripts/bench.sh", "1", "0.001")
	for _, w := range []string{"checkerboard-bissm", "checkerboard-cd5", "frey-bidsm", "frey-cd1"} {
		if !strings.Contains(out, "| "+w+" | ") {
			t.Errorf("bench.sh printed no row for %s:\n%s", w, out)
		}
	}
	// Two cores or more: every bism workload has its two-core ceiling.
	if runtime.NumCPU() >= 2 && !regexp.MustCompile(`\| frey-bidsm \|[^|]+\|[^|]+\| [0-9.]+x \| [0-9.]+x \|`).MatchString(out) {
		t.Errorf("bench.sh printed no two-core ceiling for frey-bidsm:\n%s", out)
	}
	run("scripts/bench_deep.sh", "smoke")
}

// TestCoresScript runs scripts/cores.sh for two rounds of a small config:
// every round must time one core and two and read the round trip before
// and after, and the summary must give the ratios over all rounds.
func TestCoresScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bism and times a config on one core and two (-short)")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if runtime.NumCPU() < 2 {
		t.Skip("cores.sh compares one core with two; this machine has one")
	}
	cmd := exec.Command("bash", "scripts/cores.sh", "-r", "2", "-i", "2", "checkerboard/bissm")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cores.sh: %v\n%s", err, out)
	}
	round := regexp.MustCompile(`(?m)^\d\d:\d\d:\d\d +\d+ +\d+ +[0-9.]+ / +[0-9.]+ = +[0-9.]+x`)
	if n := len(round.FindAllString(string(out), -1)); n != 2 {
		t.Errorf("cores.sh printed %d rounds, want 2:\n%s", n, out)
	}
	summary := regexp.MustCompile(`checkerboard/bissm, 1 core / 2 cores: all 2 rounds, median [0-9.]+x \[[0-9.]+-[0-9.]+\], fastest times [0-9.]+x \([0-9.]+ / [0-9.]+ ms\); quiet (none|[12] rounds, median [0-9.]+x .*, fastest times [0-9.]+x)`)
	if !summary.MatchString(string(out)) {
		t.Errorf("cores.sh printed no summary for checkerboard/bissm:\n%s", out)
	}
}
