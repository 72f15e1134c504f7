package train

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bism-ml/bism/internal/atomicfile"
)

// Files in a run directory.
const (
	ConfigFile     = "config.yaml"            // the resolved config
	MetricsFile    = "metrics.jsonl"          // one JSON record per line
	CheckpointFile = "checkpoint.safetensors" // the latest full state
	SnapshotDir    = "checkpoints"            // iter_NNNNNNNN.safetensors snapshots
	RunFile        = "run.json"               // provenance: one entry per start and resume
	LockFile       = ".lock"                  // held by the training process
)

// ownedPatterns are the names of every file bism writes in a run
// directory (filepath.Match patterns): what -force may delete. Anything
// else in the directory makes -force refuse.
var ownedPatterns = []string{
	ConfigFile, MetricsFile, CheckpointFile, RunFile, LockFile,
	"*.png", "eval*.json",
	".*.tmp*", // temporary files of interrupted atomic writes
}

// snapshotPatterns are the files bism writes under SnapshotDir.
var snapshotPatterns = []string{"iter_*.safetensors", ".*.tmp*"}

func matchAny(name string, patterns []string) bool {
	for _, p := range patterns {
		if ok, _ := filepath.Match(p, name); ok {
			return true
		}
	}
	return false
}

// HoldsRun reports whether dir holds (part of) a run: a config, metrics or
// a checkpoint.
func HoldsRun(dir string) bool {
	for _, f := range []string{ConfigFile, MetricsFile, CheckpointFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// HasCheckpoint reports whether dir holds a run's checkpoint.
func HasCheckpoint(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, CheckpointFile))
	return err == nil
}

// Clear removes every file bism writes in dir (a run's config, metrics,
// checkpoints, snapshots, figures, evaluations and temporary files), and
// refuses, removing nothing, when dir holds anything else.
func Clear(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var remove, foreign []string
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.Name() == SnapshotDir && e.IsDir():
			sub, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, s := range sub {
				if s.IsDir() || !matchAny(s.Name(), snapshotPatterns) {
					foreign = append(foreign, filepath.Join(p, s.Name()))
				} else {
					remove = append(remove, filepath.Join(p, s.Name()))
				}
			}
		case !e.IsDir() && matchAny(e.Name(), ownedPatterns):
			remove = append(remove, p)
		default:
			foreign = append(foreign, p)
		}
	}
	if foreign != nil {
		return fmt.Errorf("%s holds files bism did not write (%s); move them away or choose another -out", dir, strings.Join(foreign, ", "))
	}
	for _, p := range remove {
		if filepath.Base(p) == LockFile {
			continue // held by this process; its contents are rewritten
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	os.Remove(filepath.Join(dir, SnapshotDir))
	return nil
}

// RemoveTemp deletes the temporary files that writers killed mid-write
// left in dir and its snapshot folder.
func RemoveTemp(dir string) {
	for _, d := range []string{dir, filepath.Join(dir, SnapshotDir)} {
		m, _ := filepath.Glob(filepath.Join(d, ".*.tmp*"))
		for _, p := range m {
			os.Remove(p)
		}
	}
}

// writeAtomic writes a file via a temporary file and a rename.
func writeAtomic(path string, b []byte) error {
	return atomicfile.Write(path, func(w io.Writer) error { _, err := w.Write(b); return err })
}

// WriteJSON writes v as indented JSON to dir/name atomically and returns
// the path.
func WriteJSON(dir, name string, v any) (string, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	return p, writeAtomic(p, append(b, '\n'))
}

// recordWriter appends metrics records, one JSON object per line.
type recordWriter struct{ enc *json.Encoder }

func newRecordWriter(w io.Writer) recordWriter { return recordWriter{json.NewEncoder(w)} }

func (w recordWriter) write(rec Record) error { return w.enc.Encode(map[string]any(rec)) }

// ReadMetrics reads a metrics.jsonl file. A last line cut short (a process
// killed while writing it) is left out; a bad line elsewhere is an error.
func ReadMetrics(path string) ([]map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	recs, _, err := parseMetrics(path, b)
	return recs, err
}

// parseMetrics parses the records of b, one per line, and returns them
// with their lines (each ending in a newline). An unterminated last line
// that does not parse is the torn write of a killed process and is left
// out.
func parseMetrics(path string, b []byte) ([]map[string]float64, [][]byte, error) {
	var recs []map[string]float64
	var lines [][]byte
	segs := bytes.SplitAfter(b, []byte("\n"))
	for i, l := range segs {
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		var rec map[string]float64
		if err := json.Unmarshal(l, &rec); err != nil {
			if i == len(segs)-1 && !bytes.HasSuffix(l, []byte("\n")) {
				break
			}
			return nil, nil, fmt.Errorf("%s:%d: not a metrics record: %v", path, i+1, err)
		}
		if !bytes.HasSuffix(l, []byte("\n")) {
			l = append(slices.Clip(l), '\n')
		}
		recs, lines = append(recs, rec), append(lines, l)
	}
	return recs, lines, nil
}

// truncateMetrics keeps the records of path with iter <= upTo, dropping a
// torn last line (atomically; nothing to do when the file is missing).
func truncateMetrics(path string, upTo int) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	recs, lines, err := parseMetrics(path, b)
	if err != nil {
		return err
	}
	var out []byte
	for i, rec := range recs {
		if int(rec["iter"]) <= upTo {
			out = append(out, lines[i]...)
		}
	}
	if bytes.Equal(out, b) {
		return nil
	}
	return writeAtomic(path, out)
}

// SelectSnapshot returns the snapshot in dir/checkpoints with the lowest
// val_loss recorded in metrics.jsonl (Table 1's model selection).
func SelectSnapshot(dir string) (string, error) {
	recs, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		return "", err
	}
	best, bestLoss := "", math.Inf(1)
	for _, rec := range recs {
		l, ok := rec["val_loss"]
		it, ok2 := rec["iter"]
		if !ok || !ok2 {
			continue
		}
		p := SnapshotPath(dir, int(it))
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if l < bestLoss {
			best, bestLoss = p, l
		}
	}
	if best == "" {
		return "", fmt.Errorf("no snapshot in %s has a recorded val_loss (train with train.checkpoint_every > 0 on a data set with a validation split)", dir)
	}
	return best, nil
}
