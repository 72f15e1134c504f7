package datatest

import (
	"fmt"
	"strings"
	"testing"
)

// recorder stands in for a test: it records Skip and Fatalf.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

// TestRoot: without the data a test is skipped with one line saying how
// to get it; under $BISM_REQUIRE_DATA (CI) it fails instead.
func TestRoot(t *testing.T) {
	t.Setenv("BISM_DATA", t.TempDir())
	t.Setenv(EnvRequire, "")
	r := &recorder{TB: t}
	Root(r, "frey")
	if !strings.Contains(r.skipped, "bism data fetch frey") || strings.Contains(r.skipped, "\n") || r.failed != "" {
		t.Errorf("without data: skipped %q, failed %q", r.skipped, r.failed)
	}
	t.Setenv(EnvRequire, "1")
	r = &recorder{TB: t}
	Root(r, "mnist")
	if !strings.Contains(r.failed, "bism data fetch mnist") || r.skipped != "" {
		t.Errorf("with %s: skipped %q, failed %q", EnvRequire, r.skipped, r.failed)
	}
}
