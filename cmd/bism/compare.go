package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"

	"github.com/bism-ml/bism/checkpoint"
	"github.com/bism-ml/bism/train"
)

const compareAbout = `
Compares two runs of the same config: every floating-point tensor of their
checkpoints (parameters and optimizer states) and every metric of their
metrics.jsonl but elapsed_s. A tensor's difference is the relative norm
||a - b|| / ||a||; a metric's is |a - b| / max(|a|, 1e-3). Exit status 0
when every difference is at most -tol, 1 otherwise, naming the largest.
-tol 0 asks for the same bits, e.g. a run against its resumed twin;
data-parallel runs agree with one process to float32 round-off.`

type compareArgs struct {
	a, b string
	tol  float64
	json bool
}

func (c *compareArgs) declare(fs *flag.FlagSet) {
	fs.StringVar(&c.a, "a", "", "first run directory")
	fs.StringVar(&c.b, "b", "", "second run directory")
	fs.Float64Var(&c.tol, "tol", 0, "largest accepted relative difference (0: identical)")
	fs.BoolVar(&c.json, "json", false, "print the differences as one JSON object")
}

func compareFlags(fs *flag.FlagSet) { new(compareArgs).declare(fs) }

// difference is how far apart the two runs are in one tensor or metric.
type difference struct {
	Name string  `json:"name"`
	Rel  float64 `json:"rel"`
}

func cmdCompare(args []string) error {
	var c compareArgs
	fs := newFlags("compare")
	c.declare(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if c.a == "" || c.b == "" {
		return usageError("-a and -b are required (two run directories)")
	}
	ds, err := compareCheckpoints(filepath.Join(c.a, train.CheckpointFile), filepath.Join(c.b, train.CheckpointFile))
	if err != nil {
		return err
	}
	ms, err := compareMetrics(filepath.Join(c.a, train.MetricsFile), filepath.Join(c.b, train.MetricsFile))
	if err != nil {
		return err
	}
	ds = append(ds, ms...)
	sort.SliceStable(ds, func(i, j int) bool { return ds[i].Rel > ds[j].Rel })
	worst := difference{Name: "(nothing compared)"}
	if len(ds) > 0 {
		worst = ds[0]
	}
	if c.json {
		if err := json.NewEncoder(stdout).Encode(map[string]any{"max_rel": worst.Rel, "worst": worst.Name, "compared": len(ds), "tol": c.tol}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%d tensors and metrics compared; largest relative difference %.3g (%s)\n", len(ds), worst.Rel, worst.Name)
	}
	if !(worst.Rel <= c.tol) {
		return fmt.Errorf("the runs differ by more than -tol %g: %s by %.3g", c.tol, worst.Name, worst.Rel)
	}
	return nil
}

func compareCheckpoints(pa, pb string) ([]difference, error) {
	ta, ma, err := checkpoint.Load(pa)
	if err != nil {
		return nil, err
	}
	tb, mb, err := checkpoint.Load(pb)
	if err != nil {
		return nil, err
	}
	if ma["iter"] != mb["iter"] {
		return nil, fmt.Errorf("the checkpoints are at iterations %s and %s", ma["iter"], mb["iter"])
	}
	var ds []difference
	for _, n := range slices.Sorted(maps.Keys(ta)) {
		a := ta[n]
		b, ok := tb[n]
		if !ok {
			return nil, fmt.Errorf("%s has tensor %s, %s has not", pa, n, pb)
		}
		av, bv := floats(a), floats(b)
		if av == nil {
			continue // integer state: the data order
		}
		if len(av) != len(bv) || !slices.Equal(a.Shape, b.Shape) {
			return nil, fmt.Errorf("tensor %s has shape %v in %s and %v in %s", n, a.Shape, pa, b.Shape, pb)
		}
		var diff, norm float64
		for i := range av {
			d := av[i] - bv[i]
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			diff += d * d
			norm += av[i] * av[i]
		}
		rel := 0.0
		if diff > 0 {
			rel = math.Sqrt(diff) / math.Max(math.Sqrt(norm), 1e-30)
		}
		ds = append(ds, difference{Name: "checkpoint " + n, Rel: rel})
	}
	if len(tb) != len(ta) {
		return nil, errors.New("the checkpoints hold different tensors")
	}
	return ds, nil
}

func floats(t checkpoint.Tensor) []float64 {
	switch {
	case t.F32 != nil:
		out := make([]float64, len(t.F32))
		for i, v := range t.F32 {
			out[i] = float64(v)
		}
		return out
	case t.F64 != nil:
		return t.F64
	}
	return nil
}

func compareMetrics(pa, pb string) ([]difference, error) {
	ra, err := train.ReadMetrics(pa)
	if err != nil {
		return nil, err
	}
	rb, err := train.ReadMetrics(pb)
	if err != nil {
		return nil, err
	}
	if len(ra) != len(rb) {
		return nil, fmt.Errorf("%s has %d records, %s has %d", pa, len(ra), pb, len(rb))
	}
	var ds []difference
	for i := range ra {
		for _, k := range slices.Sorted(maps.Keys(ra[i])) {
			if k == "elapsed_s" {
				continue
			}
			b, ok := rb[i][k]
			if !ok {
				return nil, fmt.Errorf("record %d: %s has %s, %s has not", i, pa, k, pb)
			}
			a := ra[i][k]
			d := math.Abs(a-b) / math.Max(math.Abs(a), 1e-3)
			if math.IsNaN(d) && !(math.IsNaN(a) && math.IsNaN(b)) {
				d = math.Inf(1)
			} else if math.IsNaN(d) {
				d = 0
			}
			ds = append(ds, difference{Name: fmt.Sprintf("metric %s at iteration %.0f", k, ra[i]["iter"]), Rel: d})
		}
	}
	return ds, nil
}
