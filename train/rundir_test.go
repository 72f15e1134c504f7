package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTornMetrics: the last line of a killed writer is left out by
// ReadMetrics and trimmed on resume; a bad line elsewhere is an error.
func TestTornMetrics(t *testing.T) {
	p := filepath.Join(t.TempDir(), MetricsFile)
	write(t, p, "{\"iter\":1,\"train_loss\":2}\n{\"iter\":2,\"train_loss\":3}\n{\"iter\":3,\"tra")
	recs, err := ReadMetrics(p)
	if err != nil || len(recs) != 2 {
		t.Fatalf("torn last line: %d records, %v", len(recs), err)
	}
	if err := truncateMetrics(p, 1); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{\"iter\":1,\"train_loss\":2}\n" {
		t.Fatalf("after truncation: %q", b)
	}
	write(t, p, "{\"iter\":1}\nnot json\n{\"iter\":3}\n")
	if _, err := ReadMetrics(p); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("bad middle line: %v", err)
	}
	// A complete last record without its newline is kept.
	write(t, p, "{\"iter\":1}\n{\"iter\":2}")
	if err := truncateMetrics(p, 5); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "{\"iter\":1}\n{\"iter\":2}\n" {
		t.Fatalf("unterminated last record: %q", b)
	}
}

// TestClear: -force removes only what bism wrote, and refuses a directory
// that holds anything else.
func TestClear(t *testing.T) {
	dir := t.TempDir()
	owned := []string{ConfigFile, MetricsFile, CheckpointFile, RunFile, "ll.png", "samples_via_q.png", "eval_iter_00000500.json",
		".checkpoint.safetensors.tmp123", "checkpoints/iter_00000100.safetensors"}
	for _, f := range owned {
		write(t, filepath.Join(dir, f), "x")
	}
	write(t, filepath.Join(dir, "notes.txt"), "mine")
	if err := Clear(dir); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Fatalf("foreign file: %v", err)
	}
	for _, f := range owned {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("a refused Clear removed %s", f)
		}
	}
	os.Remove(filepath.Join(dir, "notes.txt"))
	if err := Clear(dir); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 0 {
		t.Fatalf("left %v", left)
	}
}

func TestRemoveTemp(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, ".metrics.jsonl.tmp42"), "x")
	write(t, filepath.Join(dir, "checkpoints", ".iter_00000001.safetensors.tmp7"), "x")
	write(t, filepath.Join(dir, CheckpointFile), "keep")
	RemoveTemp(dir)
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) > 0 {
		t.Fatalf("left %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "checkpoints", ".*tmp*")); len(m) > 0 {
		t.Fatalf("left %v", m)
	}
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err != nil {
		t.Fatal("removed a checkpoint")
	}
}

// TestLock: a second training of a directory is refused while the first
// holds its lock, with the holder named; after Unlock it is free.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	a, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); err == nil || !strings.Contains(err.Error(), "is being trained by process") {
		t.Fatalf("second lock: %v", err)
	}
	a.Unlock()
	b, err := Lock(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	b.Unlock()
}
