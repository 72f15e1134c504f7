package experiment

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/tensor"
)

// MemoryEstimate is what a training run is expected to need at its peak.
type MemoryEstimate struct {
	Data   int64 // the data set in memory
	Params int64 // θ and φ with their Adam moments and gradients
	Step   int64 // one training step's tensors at the config's batch size
	Total  int64 // all of it, with the runtime and garbage-collection slack
}

func (m MemoryEstimate) String() string {
	return fmt.Sprintf("%s (data %s, parameters and optimizer state %s, one training step %s)",
		bytesString(m.Total), bytesString(m.Data), bytesString(m.Params), bytesString(m.Step))
}

// runtimeBase is the process's memory before any data: the Go runtime and
// the binary.
const runtimeBase = 16 << 20

// gcSlack is the share of memory above the live data that garbage adds
// between collections (measured: peak RSS / live heap of 1.1-1.25 on the
// Frey and MNIST configs).
const gcSlack = 1.15

// probeBatches are the batch sizes of the probe steps.
var probeBatches = [2]int{2, 4}

// EstimateMemory estimates the peak memory of training e: the data and
// parameters it holds now, and a step's tensors measured in two probe steps
// (on copies of the model at batch sizes 2 and 4, extrapolated linearly to
// the config's batch: activations grow with the batch, the parameter-sized
// work of the inner and unrolled steps does not). The probe sees the
// method's real derivative order, so bi-level methods' second-order graphs
// are counted as they are.
func EstimateMemory(e *Experiment) (MemoryEstimate, error) {
	var m MemoryEstimate
	for _, s := range []*data.Set{e.Data.Train, e.Data.Val, e.Data.Test} {
		if s != nil {
			m.Data += int64(len(s.X))*4 + int64(len(s.Labels))*8
		}
	}
	params := e.Model.Params().Count()
	if e.Posterior != nil {
		params += e.Posterior.Params().Count()
	}
	m.Params = int64(params) * 4 * 4 // value, two moments, a gradient
	var held [2]float64
	for i, b := range probeBatches {
		cfg := e.Config
		cfg.Train.BatchSize = b
		p, err := New(cfg, "", Options{Data: e.Data})
		if err != nil {
			return m, err
		}
		p.Run.Arena = tensor.NewArena()
		p.Run.Arena.MinElems = 1 // count every tensor, small ones too
		if err := p.Run.Steps(2); err != nil {
			return m, fmt.Errorf("memory probe: %w", err)
		}
		held[i] = float64(p.Run.Arena.HeldBytes())
	}
	b0, b1 := float64(probeBatches[0]), float64(probeBatches[1])
	slope := math.Max(0, (held[1]-held[0])/(b1-b0))
	m.Step = int64(held[0] + slope*(float64(e.Config.Train.BatchSize)-b0))
	m.Total = runtimeBase + int64(gcSlack*float64(m.Data+m.Params+m.Step))
	return m, nil
}

// CheckMemory refuses a run whose estimated peak memory (EstimateMemory)
// exceeds what this machine offers: the memory available now, or the
// container's limit. The error prints both, and how to train anyway.
func CheckMemory(e *Experiment) error {
	m, err := EstimateMemory(e)
	if err != nil {
		return err
	}
	avail, limit := availableMemory()
	if (avail > 0 && m.Total > avail) || (limit > 0 && m.Total > limit) {
		where := ""
		if avail > 0 {
			where += fmt.Sprintf("; %s available", bytesString(avail))
		}
		if limit > 0 {
			where += fmt.Sprintf("; container limit %s", bytesString(limit))
		}
		return fmt.Errorf("the run needs about %s%s.\nReduce %s, or use -skip-memory-check to train anyway",
			m, where, sizeKeys(e.Config))
	}
	return nil
}

// sizeKeys names the keys that size a run of cfg's model.
func sizeKeys(cfg config.Config) string {
	if cfg.Model.Kind.Deep() {
		return "train.batch_size, model.ch or model.hidden"
	}
	return "train.batch_size or model.hidden"
}

// PeakRSS returns the most memory the process has held resident so far
// (VmHWM on Linux), in bytes; 0 where unknown. It is what /usr/bin/time -v
// reports as the maximum resident set size when the process ends.
func PeakRSS() int64 { return procBytes("/proc/self/status", "VmHWM") }

// procBytes returns the value of key in a Linux /proc file of "Key: N kB"
// lines, in bytes; 0 where the file or the key is missing.
func procBytes(path, key string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && k == key {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// availableMemory returns the memory available now (MemAvailable on Linux)
// and the cgroup's limit, in bytes; 0 where unknown or unlimited.
func availableMemory() (avail, limit int64) {
	avail = procBytes("/proc/meminfo", "MemAvailable")
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n < 1<<60 {
			limit = n
		}
		break
	}
	return avail, limit
}

func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KiB", n>>10)
}
