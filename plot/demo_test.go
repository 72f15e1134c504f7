package plot

import (
	"image"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// ringDensity is a mixture of 8 Gaussians on a circle of radius 2, blurred
// by extra variance s2 (a stand-in for a learned density).
func ringDensity(x, y, s2 float64) float64 {
	p := 0.0
	for k := 0; k < 8; k++ {
		a := 2 * math.Pi * float64(k) / 8
		dx, dy := x-2*math.Cos(a), y-2*math.Sin(a)
		p += math.Exp(-(dx*dx+dy*dy)/(2*s2)) / (2 * math.Pi * s2 * 8)
	}
	return p
}

func densityGrid(n int, lim float64, f func(x, y float64) float64) []float64 {
	z := make([]float64, n*n)
	for i := 0; i < n; i++ {
		y := -lim + (float64(i)+0.5)/float64(n)*2*lim
		for j := 0; j < n; j++ {
			x := -lim + (float64(j)+0.5)/float64(n)*2*lim
			z[i*n+j] = f(x, y)
		}
	}
	return z
}

func ringSamples(n int, rng *rand.Rand) (xs, ys []float64) {
	for i := 0; i < n; i++ {
		a := 2 * math.Pi * float64(rng.Intn(8)) / 8
		xs = append(xs, 2*math.Cos(a)+0.2*rng.NormFloat64())
		ys = append(ys, 2*math.Sin(a)+0.2*rng.NormFloat64())
	}
	return xs, ys
}

// demoFigures renders one figure of each kind, as used in the paper's
// experiments.
func demoFigures() map[string]image.Image {
	rng := rand.New(rand.NewSource(1))
	const lim = 3.2
	const n = 96
	xs, ys := ringSamples(4000, rng)
	heat := func(title string, s2 float64) *Heatmap {
		return &Heatmap{
			Title: title, NX: n, NY: n, XMin: -lim, XMax: lim, YMin: -lim, YMax: lim,
			Z:        densityGrid(n, lim, func(x, y float64) float64 { return ringDensity(x, y, s2) }),
			HideAxes: true, Smooth: true,
		}
	}
	fig2 := Panels([]Panel{
		&Scatter{Title: "data", X: xs, Y: ys, XRange: [2]float64{-lim, lim}, YRange: [2]float64{-lim, lim}, EqualAspect: true, HideAxes: true},
		heat("BiSM", 0.05),
		heat("DSM", 0.12),
		heat("NCE", 0.3),
	}, 4, 240, 250)

	hist := &Heatmap{
		Title: "data (2-D histogram)", NX: 64, NY: 64, XMin: -lim, XMax: lim, YMin: -lim, YMax: lim,
		Z: Hist2D(xs, ys, 64, 64, -lim, lim, -lim, lim), Colorbar: true, XLabel: "x1", YLabel: "x2",
	}
	learned := heat("learned density p(x)", 0.07)
	learned.HideAxes = false
	learned.Colorbar = true
	learned.XLabel, learned.YLabel = "x1", "x2"

	iters := []float64{}
	for it := 0.0; it <= 20000; it += 250 {
		iters = append(iters, it)
	}
	curve := func(final, rate, noise float64, diverge float64) []float64 {
		out := make([]float64, len(iters))
		for i, it := range iters {
			out[i] = final - 600*math.Exp(-it/rate) + noise*rng.NormFloat64()
			if diverge > 0 && it > diverge {
				out[i] = math.NaN()
			}
		}
		return out
	}
	line := &LinePlot{
		Title:  "Test log-likelihood on MNIST",
		XLabel: "iteration",
		YLabel: "log-likelihood (nats)",
		Series: []Series{
			{Name: "BiSM (ours)", X: iters, Y: curve(-92, 2500, 1.5, 0)},
			{Name: "DSM", X: iters, Y: curve(-101, 3000, 2, 0)},
			{Name: "SSM", X: iters, Y: curve(-118, 1800, 3, 12000), Dashed: true},
			{Name: "VAE baseline", X: iters, Y: curve(-96, 4000, 1, 0), Dashed: true},
		},
		YRange: [2]float64{-300, -80},
	}
	logx := &LinePlot{
		Title:  "Score matching loss",
		XLabel: "iteration (log scale)",
		YLabel: "loss",
		LogX:   true,
		Series: []Series{
			{Name: "lr = 1e-3", X: iters[1:], Y: decay(iters[1:], 1.0, rng), Markers: false},
			{Name: "lr = 1e-4", X: iters[1:], Y: decay(iters[1:], 0.4, rng)},
			{Name: "evaluation", X: []float64{250, 1000, 4000, 10000, 20000}, Y: []float64{-0.2, -1.5, -3.2, -3.9, -4.1}, Markers: true},
		},
	}

	digits := make([]float32, 32*28*28)
	for k := 0; k < 32; k++ {
		cx, cy := 8+rng.Float64()*12, 8+rng.Float64()*12
		a, b := 2+rng.Float64()*6, 2+rng.Float64()*6
		for y := 0; y < 28; y++ {
			for x := 0; x < 28; x++ {
				dx, dy := (float64(x)-cx)/a, (float64(y)-cy)/b
				r := math.Sqrt(dx*dx + dy*dy)
				digits[(k*28+y)*28+x] = float32(math.Exp(-8 * (r - 1) * (r - 1)))
			}
		}
	}
	rgb := make([]float32, 12*3*32*32)
	for k := 0; k < 12; k++ {
		for ch := 0; ch < 3; ch++ {
			ph := rng.Float64() * 6
			for y := 0; y < 32; y++ {
				for x := 0; x < 32; x++ {
					rgb[((k*3+ch)*32+y)*32+x] = float32(0.5 + 0.5*math.Sin(ph+float64(x+ch*y)/(5+float64(k))))
				}
			}
		}
	}
	return map[string]image.Image{
		"fig2_panels.png":   fig2,
		"heatmap_axes.png":  Panels([]Panel{hist, learned}, 2, 420, 380),
		"lineplot.png":      line.Render(640, 440),
		"lineplot_logx.png": logx.Render(640, 440),
		"grid_gray.png":     ImageGrid(digits, 32, 1, 28, 28, 8, 2),
		"grid_rgb.png":      ImageGrid(rgb, 12, 3, 32, 32, 6, 2),
	}
}

func decay(iters []float64, scale float64, rng *rand.Rand) []float64 {
	out := make([]float64, len(iters))
	for i, it := range iters {
		out[i] = -4*scale*math.Log10(it)/4.3 + 0.1*rng.NormFloat64()
	}
	return out
}

// TestDemoFigures renders the demo figures to a temporary directory (or to
// $PLOT_DEMO_DIR, to look at them).
func TestDemoFigures(t *testing.T) {
	dir := os.Getenv("PLOT_DEMO_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, img := range demoFigures() {
		if err := SavePNG(filepath.Join(dir, name), img); err != nil {
			t.Fatal(err)
		}
	}
}
