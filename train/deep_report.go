package train

import (
	"fmt"
	"path/filepath"

	"github.com/bism-ml/bism/plot"
)

// DeepReport draws a deep run's curves from metrics.jsonl and returns the
// files written: loss.png (the outer training loss) and, for the deep
// EBLVM, posterior.png (inner_loss and posterior_fisher on a log scale, the
// paper's Fig. 5 c-d). Curves with fewer than two records are skipped.
func DeepReport(r *DeepRun) ([]string, error) {
	recs, err := ReadMetrics(filepath.Join(r.Dir, MetricsFile))
	if err != nil {
		return nil, err
	}
	curve := func(key string) (xs, ys []float64) {
		for _, rec := range recs {
			if v, ok := rec[key]; ok {
				xs, ys = append(xs, rec["iter"]), append(ys, v)
			}
		}
		return xs, ys
	}
	name := r.Cfg.Method.Name
	var files []string
	save := func(file string, lp *plot.LinePlot) error {
		for _, s := range lp.Series {
			if len(s.X) < 2 {
				return nil
			}
		}
		p := filepath.Join(r.Dir, file)
		if err := plot.SavePNG(p, lp.Render(640, 420)); err != nil {
			return err
		}
		files = append(files, p)
		return nil
	}
	x, y := curve("train_loss")
	if err := save("loss.png", &plot.LinePlot{Title: fmt.Sprintf("%s on %s: training loss", name, r.Cfg.Data.Name),
		XLabel: "iteration", YLabel: "train_loss", LogY: true,
		Series: []plot.Series{{Name: name, X: x, Y: y, Markers: len(x) < 40}}}); err != nil {
		return files, err
	}
	if r.EBLVM != nil {
		xi, yi := curve("inner_loss")
		xf, yf := curve("posterior_fisher")
		if err := save("posterior.png", &plot.LinePlot{Title: fmt.Sprintf("%s: posterior accuracy (Fisher divergence)", name),
			XLabel: "iteration", YLabel: "D_F(q || p)", LogY: true,
			Series: []plot.Series{
				{Name: "inner_loss (weighted, perturbed)", X: xi, Y: yi},
				{Name: "posterior_fisher (clean batch)", X: xf, Y: yf, Dashed: true},
			}}); err != nil {
			return files, err
		}
	}
	return files, nil
}
