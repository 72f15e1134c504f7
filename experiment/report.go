package experiment

import (
	"path/filepath"

	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/train"
)

// curve is a figure of one metrics.jsonl key against the iteration.
type curve struct {
	key, file, title string
	logY             bool
}

// path is a file of the run directory.
func (e *Experiment) path(name string) string { return filepath.Join(e.Dir, name) }

// readCurve reads the records of the run in dir that hold key.
func readCurve(dir, key string) (xs, ys []float64, err error) {
	recs, err := train.ReadMetrics(filepath.Join(dir, train.MetricsFile))
	if err != nil {
		return nil, nil, err
	}
	for _, rec := range recs {
		if v, ok := rec[key]; ok {
			xs, ys = append(xs, rec["iter"]), append(ys, v)
		}
	}
	return xs, ys, nil
}

// curves draws each curve with at least two points and returns the files
// written.
func curves(e *Experiment, cs []curve) ([]string, error) {
	var files []string
	name := string(e.Config.Method.Name)
	for _, c := range cs {
		xs, ys, err := readCurve(e.Dir, c.key)
		if err != nil {
			return files, err
		}
		if len(xs) < 2 {
			continue
		}
		lp := &plot.LinePlot{Title: c.title, XLabel: "iteration", YLabel: c.key, LogY: c.logY,
			Series: []plot.Series{{Name: name, X: xs, Y: ys, Markers: len(xs) < 40}}}
		p := e.path(c.file)
		if err := plot.SavePNG(p, lp.Render(640, 420)); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}
