package train

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/bism-ml/bism/ad"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/tensor"
)

// Density plot extent for 2-D data: the checkerboard lives in [0,1]².
const densityLo, densityHi = -0.25, 1.25

// Report writes the run's figures and returns their paths: for 2-D data the
// learned density next to the data (Fig. 2) and the log-likelihood curve
// (Fig. 3); for images a grid of model samples; the loss curve always.
func Report(r *Run) ([]string, error) {
	var files []string
	if r.Split.Train.Dim() == 2 && r.Cfg.Eval.LL == "exact" {
		p := filepath.Join(r.Dir, "density.png")
		if err := r.densityFigure(p); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	if len(r.Split.Train.Shape) == 3 {
		p := filepath.Join(r.Dir, "samples.png")
		if err := SampleGrid(r, 64, 1000, r.Cfg.Seed, p); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	recs, err := ReadMetrics(filepath.Join(r.Dir, MetricsFile))
	if err != nil {
		return files, err
	}
	for _, c := range []struct{ key, file, title string }{
		{"test_ll", "ll.png", "test log-likelihood"},
		{"train_loss", "loss.png", "training loss"},
		{"test_fisher", "fisher.png", "test Fisher (SSM) metric"},
	} {
		var xs, ys []float64
		for _, rec := range recs {
			if v, ok := rec[c.key]; ok {
				xs, ys = append(xs, rec["iter"]), append(ys, v)
			}
		}
		if len(xs) < 2 {
			continue
		}
		lp := &plot.LinePlot{Title: fmt.Sprintf("%s: %s", r.Cfg.Method.Name, c.title), XLabel: "iteration", YLabel: c.key,
			Series: []plot.Series{{Name: r.Cfg.Method.Name, X: xs, Y: ys, Markers: len(xs) < 40}}}
		p := filepath.Join(r.Dir, c.file)
		if err := plot.SavePNG(p, lp.Render(640, 420)); err != nil {
			return files, err
		}
		files = append(files, p)
	}
	return files, nil
}

// DensityGrid evaluates the model's normalised density p(v) on an n×n grid
// over [lo,hi]², in plot.Heatmap's layout (row 0 at y = lo).
func DensityGrid(r *Run, n int, lo, hi float64) ([]float64, error) {
	logZ, err := eval.ExactLogZ(r.Model)
	if err != nil {
		return nil, err
	}
	pts := tensor.New(tensor.Float32, n*n, 2)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			pts.Set(lo+(float64(j)+0.5)*(hi-lo)/float64(n), i*n+j, 0)
			pts.Set(lo+(float64(i)+0.5)*(hi-lo)/float64(n), i*n+j, 1)
		}
	}
	var f *tensor.Tensor
	ad.NoGrad(func() { f = r.Model.FreeEnergy(r.Model.Params().Consts(), ad.Const(pts)).Tensor() })
	z := make([]float64, n*n)
	for k := range z {
		z[k] = math.Exp(-f.Flat(k) - logZ)
	}
	return z, nil
}

func (r *Run) densityFigure(path string) error {
	n := r.Cfg.Eval.Grid
	z, err := DensityGrid(r, n, densityLo, densityHi)
	if err != nil {
		return err
	}
	test := r.Split.Test
	xs, ys := make([]float64, test.N), make([]float64, test.N)
	for i := 0; i < test.N; i++ {
		xs[i], ys[i] = float64(test.X[2*i]), float64(test.X[2*i+1])
	}
	nb := 60
	hist := plot.Hist2D(xs, ys, nb, nb, densityLo, densityHi, densityLo, densityHi)
	data := &plot.Heatmap{Title: "data", Z: hist, NX: nb, NY: nb, XMin: densityLo, XMax: densityHi, YMin: densityLo, YMax: densityHi}
	model := &plot.Heatmap{Title: fmt.Sprintf("%s (iter %d)", r.Cfg.Method.Name, r.iter), Z: z, NX: n, NY: n,
		XMin: densityLo, XMax: densityHi, YMin: densityLo, YMax: densityHi, Colorbar: true}
	return plot.SavePNG(path, plot.Panels([]plot.Panel{data, model}, 2, 440, 420))
}

// SampleGrid draws n samples by block Gibbs sampling (steps sweeps from
// v ~ N(b, σ²)), shows the mean E[v|h] of the last sweep, and saves a grid.
func SampleGrid(r *Run, n, steps int, seed uint64, path string) error {
	shape := r.Split.Train.Shape
	if len(shape) != 3 {
		return fmt.Errorf("sample: data of shape %v are not images; sampling writes image grids", shape)
	}
	rng := tensor.NewRNG(seed)
	m := r.Model
	v := tensor.Add(tensor.Mul(rng.Normal(tensor.Float32, 0, 1, n, m.D), m.Sigma()), m.Params().Get("b"))
	var h *tensor.Tensor
	for i := 0; i < steps; i++ {
		h, v = m.Gibbs(v, rng)
	}
	mean := v
	if h != nil {
		mean = m.VisibleMean(h)
	}
	img := plot.ImageGrid(mean.F32(), n, shape[0], shape[1], shape[2], 0, 3)
	return plot.SavePNG(path, img)
}
