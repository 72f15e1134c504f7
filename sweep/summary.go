package sweep

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/internal/atomicfile"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/train"
)

// The files Summarize writes in the sweep's folder.
const (
	SummaryCSV = "summary.csv"
	SummaryMD  = "summary.md"
	CurvesPNG  = "curves.png"
)

// curveMetrics are the metrics the curves figure draws, the first one
// every run records.
var curveMetrics = []string{"test_ll", "val_loss", "train_loss"}

// Summarize reads the cells' metrics under dir and writes summary.csv (one
// row per cell: its group, seed, state, final record and the numbers of its
// evaluation steps as eval.KEY or eval.NAME.KEY), summary.md (per
// group, the mean ± sd over seeds of each final metric) and curves.png
// (per group, the mean curve of test_ll, else val_loss, else train_loss).
// Cells without metrics are listed as pending. It returns the files
// written.
func Summarize(dir string, cells []Cell) ([]string, error) {
	type row struct {
		c     Cell
		state State
		recs  []map[string]float64
		final map[string]float64 // the last record and the evaluations' numbers
	}
	var rows []row
	keys := map[string]bool{}
	for _, c := range cells {
		st, _, err := CellState(dir, c)
		if err != nil {
			return nil, err
		}
		recs, _ := train.ReadMetrics(filepath.Join(dir, c.Name, train.MetricsFile))
		final := map[string]float64{}
		if len(recs) > 0 {
			maps.Copy(final, recs[len(recs)-1])
		}
		for _, s := range c.Evals {
			p := filepath.Join(dir, c.Name, s.File())
			b, err := os.ReadFile(p)
			if err != nil {
				continue // not evaluated yet
			}
			var ev map[string]any
			if err := json.Unmarshal(b, &ev); err != nil {
				return nil, fmt.Errorf("%s: %v", p, err)
			}
			for k, v := range ev {
				if x, ok := v.(float64); ok {
					final[s.Prefix()+k] = x
				}
			}
		}
		for k := range final {
			keys[k] = true
		}
		rows = append(rows, row{c, st, recs, final})
	}
	metrics := make([]string, 0, len(keys))
	for k := range keys {
		if k != "iter" {
			metrics = append(metrics, k)
		}
	}
	sort.Strings(metrics)

	// summary.csv
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.Write(append([]string{"cell", "group", "seed", "state", "iter"}, metrics...))
	for _, r := range rows {
		rec := []string{r.c.Name, r.c.Group, strconv.FormatUint(r.c.Seed, 10), string(r.state), ""}
		if it, ok := r.final["iter"]; ok {
			rec[4] = strconv.Itoa(int(it))
		}
		for _, m := range metrics {
			v, ok := r.final[m]
			if ok {
				rec = append(rec, strconv.FormatFloat(v, 'g', -1, 64))
			} else {
				rec = append(rec, "")
			}
		}
		w.Write(rec)
	}
	w.Flush()
	files := []string{filepath.Join(dir, SummaryCSV), filepath.Join(dir, SummaryMD), filepath.Join(dir, CurvesPNG)}
	if err := writeFile(files[0], b.String()); err != nil {
		return nil, err
	}

	// summary.md: groups in cell order.
	var groups []string
	byGroup := map[string][]row{}
	for _, r := range rows {
		if _, ok := byGroup[r.c.Group]; !ok {
			groups = append(groups, r.c.Group)
		}
		byGroup[r.c.Group] = append(byGroup[r.c.Group], r)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Sweep %s\n\nFinal metrics, mean ± sd over the finished seeds (n).\n\n", filepath.Base(dir))
	fmt.Fprintf(&md, "| cell | n | iter | %s |\n|---|---|---|%s\n", strings.Join(metrics, " | "), strings.Repeat("---|", len(metrics)))
	for _, g := range groups {
		var fin []map[string]float64
		for _, r := range byGroup[g] {
			if r.state == Finished && len(r.recs) > 0 {
				fin = append(fin, r.final)
			}
		}
		name := g
		if name == "" {
			name = "(base)"
		}
		it := "-"
		if len(fin) > 0 {
			it = strconv.Itoa(int(fin[0]["iter"]))
		}
		fmt.Fprintf(&md, "| %s | %d | %s |", name, len(fin), it)
		for _, m := range metrics {
			var xs []float64
			for _, rec := range fin {
				if v, ok := rec[m]; ok {
					xs = append(xs, v)
				}
			}
			fmt.Fprintf(&md, " %s |", meanSD(xs))
		}
		md.WriteString("\n")
	}
	if err := writeFile(files[1], md.String()); err != nil {
		return nil, err
	}

	// curves.png
	metric := ""
	for _, m := range curveMetrics {
		if keys[m] {
			metric = m
			break
		}
	}
	lp := &plot.LinePlot{Title: "Sweep " + filepath.Base(dir), XLabel: "iteration", YLabel: metric}
	for _, g := range groups {
		sum := map[float64][]float64{}
		for _, r := range byGroup[g] {
			for _, rec := range r.recs {
				if v, ok := rec[metric]; ok && !math.IsNaN(v) {
					sum[rec["iter"]] = append(sum[rec["iter"]], v)
				}
			}
		}
		its := make([]float64, 0, len(sum))
		for it := range sum {
			its = append(its, it)
		}
		slices.Sort(its)
		s := plot.Series{Name: cmpOr(g, "(base)")}
		for _, it := range its {
			s.X, s.Y = append(s.X, it), append(s.Y, mean(sum[it]))
		}
		if len(s.X) > 0 {
			lp.Series = append(lp.Series, s)
		}
	}
	if len(lp.Series) == 0 {
		return files[:2], nil
	}
	if err := plot.SavePNG(files[2], lp.Render(900, 560)); err != nil {
		return nil, err
	}
	return files, nil
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// meanSD formats the mean ± sample standard deviation (the mean alone for
// one value, "-" for none).
func meanSD(xs []float64) string {
	switch len(xs) {
	case 0:
		return "-"
	case 1:
		return fmt.Sprintf("%.4g", xs[0])
	}
	m := mean(xs)
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return fmt.Sprintf("%.4g ± %.2g", m, math.Sqrt(ss/float64(len(xs)-1)))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// writeFile writes s to path atomically.
func writeFile(path, s string) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	})
}
