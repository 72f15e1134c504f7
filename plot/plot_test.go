package plot

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func rgbaAt(img *image.RGBA, x, y int) color.RGBA { return img.RGBAAt(x, y) }

func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) int { return int(x) - int(y) }
	abs := func(v int) int { return max(v, -v) }
	return abs(d(a.R, b.R)) <= tol && abs(d(a.G, b.G)) <= tol && abs(d(a.B, b.B)) <= tol && abs(d(a.A, b.A)) <= tol
}

func checkSize(t *testing.T, img *image.RGBA, w, h int) {
	t.Helper()
	if b := img.Bounds(); b.Min != (image.Point{}) || b.Dx() != w || b.Dy() != h {
		t.Fatalf("image bounds %v, want %dx%d at the origin", b, w, h)
	}
}

func TestViridis(t *testing.T) {
	// Known ends of matplotlib's viridis: #440154 and #fde725.
	if c := Viridis(0); !near(c, color.RGBA{0x44, 0x01, 0x54, 0xff}, 5) {
		t.Errorf("Viridis(0) = %v", c)
	}
	if c := Viridis(1); !near(c, color.RGBA{0xfd, 0xe7, 0x25, 0xff}, 5) {
		t.Errorf("Viridis(1) = %v", c)
	}
	if c := Viridis(0.5); !near(c, color.RGBA{0x21, 0x91, 0x8c, 0xff}, 5) {
		t.Errorf("Viridis(0.5) = %v", c)
	}
	// Perceptually ordered: luminance increases monotonically (up to 8-bit
	// rounding).
	prev := -1.0
	for i := 0; i < 256; i++ {
		c := Viridis(float64(i) / 255)
		l := 0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)
		if l < prev-0.5 {
			t.Fatalf("luminance decreases at %d", i)
		}
		prev = l
	}
	if Viridis(-3) != Viridis(0) || Viridis(7) != Viridis(1) || Viridis(math.NaN()) != Viridis(0) {
		t.Error("Viridis does not clamp")
	}
	if Gray(0) != (color.RGBA{0, 0, 0, 255}) || Gray(1) != (color.RGBA{255, 255, 255, 255}) {
		t.Error("Gray ends wrong")
	}
}

func TestHeatmapConstant(t *testing.T) {
	z := make([]float64, 16*16)
	for i := range z {
		z[i] = 5
	}
	for _, hm := range []*Heatmap{
		{Z: z, NX: 16, NY: 16, VMin: 0, VMax: 10, HideAxes: true},
		{Z: z, NX: 16, NY: 16, Title: "t", Colorbar: true, VMin: 0, VMax: 10, XMin: -1, XMax: 1, YMin: -1, YMax: 1},
		{Z: z, NX: 16, NY: 16, HideAxes: true, Smooth: true}, // auto range of constant data: the middle
	} {
		img := hm.Render(200, 160)
		checkSize(t, img, 200, 160)
		c := (image.Point{X: 100, Y: 90})
		if hm.Colorbar {
			c.X = 70
		}
		if got, want := rgbaAt(img, c.X, c.Y), Viridis(0.5); got != want {
			t.Errorf("pixel %v = %v, want Viridis(0.5) = %v", c, got, want)
		}
	}
}

// TestHeatmapOrientation checks that row 0 is at the bottom and column 0 at
// the left.
func TestHeatmapOrientation(t *testing.T) {
	hm := &Heatmap{Z: []float64{0, 1, 2, 3}, NX: 2, NY: 2, VMin: 0, VMax: 3, HideAxes: true}
	img := hm.Render(100, 100) // plot area about [11, 89)²
	for _, c := range []struct {
		x, y int
		v    float64
	}{{30, 70, 0}, {70, 70, 1}, {30, 30, 2}, {70, 30, 3}} {
		if got, want := rgbaAt(img, c.x, c.y), Viridis(c.v/3); got != want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, want)
		}
	}
}

func TestHeatmapInvalidValues(t *testing.T) {
	nan := math.NaN()
	// Cells: bottom row NaN, +Inf; top row -Inf, 1; plus a short Z.
	for _, smooth := range []bool{false, true} {
		hm := &Heatmap{Z: []float64{nan, math.Inf(1), math.Inf(-1), 1}, NX: 2, NY: 2, HideAxes: true, Smooth: smooth}
		img := hm.Render(100, 100)
		for _, p := range []image.Point{{30, 70}, {70, 70}, {30, 30}} {
			if got := rgbaAt(img, p.X, p.Y); got != InvalidColor {
				t.Errorf("smooth=%v: invalid cell at %v drawn %v, want InvalidColor", smooth, p, got)
			}
		}
		if got := rgbaAt(img, 70, 30); got == InvalidColor {
			t.Errorf("smooth=%v: valid cell drawn as invalid", smooth)
		}
	}
	custom := color.RGBA{1, 2, 3, 255}
	hm := &Heatmap{Z: []float64{1, 2, 3}, NX: 2, NY: 2, HideAxes: true, NaNColor: custom}
	if got := rgbaAt(hm.Render(100, 100), 70, 30); got != custom {
		t.Errorf("missing cell drawn %v, want NaNColor %v", got, custom)
	}
	// Degenerate inputs render without panicking.
	for _, hm := range []*Heatmap{
		{}, {NX: 3, NY: 0}, {NX: -1, NY: 5, Z: []float64{1}}, {NX: 2, NY: 2, Z: []float64{nan, nan, nan, nan}, Colorbar: true},
		{NX: 1, NY: 1, Z: []float64{1e308}, XMin: 1, XMax: math.Inf(1), VMin: math.NaN()},
		{NX: 2, NY: 1, Z: []float64{-1e308, 1e308}, Colorbar: true, Smooth: true},
	} {
		checkSize(t, hm.Render(120, 90), 120, 90)
	}
}

func TestHist2D(t *testing.T) {
	x := []float64{0.1, 0.9, 0.9, 1.0, -0.1, math.NaN(), 0.5}
	y := []float64{0.1, 0.1, 0.9, 1.0, 0.5, 0.5}
	got := Hist2D(x, y, 2, 2, 0, 1, 0, 1)
	want := []float64{1, 1, 0, 2} // (0.1,0.1); (0.9,0.1); (0.9,0.9) and the edge point (1,1)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Hist2D = %v, want %v", got, want)
		}
	}
	if Hist2D(x, y, 0, 2, 0, 1, 0, 1) != nil {
		t.Error("Hist2D with no cells should be nil")
	}
	if h := Hist2D(x, y, 2, 2, 1, 1, 0, 1); len(h) != 4 || h[0] != 0 {
		t.Error("Hist2D with an empty range should count nothing")
	}
}

func TestImageGridTiling(t *testing.T) {
	const n, c, h, w, cols, scale = 5, 1, 3, 4, 3, 2
	imgs := make([]float32, n*c*h*w)
	for k := 0; k < n; k++ {
		for i := 0; i < h*w; i++ {
			imgs[k*h*w+i] = float32(k) / 10
		}
		imgs[k*h*w+1*w+2] = 1 // a white pixel at row 1, column 2
	}
	g := ImageGrid(imgs, n, c, h, w, cols, scale)
	checkSize(t, g, GridBorder+cols*(w*scale+GridBorder), GridBorder+2*(h*scale+GridBorder))
	for k := 0; k < n; k++ {
		x0, y0 := GridCellOrigin(k, cols, h, w, scale)
		if want := (image.Point{GridBorder + (k%cols)*(w*scale+GridBorder), GridBorder + (k/cols)*(h*scale+GridBorder)}); want != image.Pt(x0, y0) {
			t.Fatalf("GridCellOrigin(%d) = %d,%d, want %v", k, x0, y0, want)
		}
		v := uint8(float64(k)/10*255 + 0.5)
		for dy := 0; dy < h*scale; dy++ {
			for dx := 0; dx < w*scale; dx++ {
				want := color.RGBA{v, v, v, 255}
				if dy/scale == 1 && dx/scale == 2 {
					want = color.RGBA{255, 255, 255, 255}
				}
				if got := rgbaAt(g, x0+dx, y0+dy); got != want {
					t.Fatalf("image %d pixel (%d,%d) = %v, want %v", k, dx, dy, got, want)
				}
			}
		}
		// The border just outside the cell.
		if got := rgbaAt(g, x0-1, y0-1); got != GridBorderColor {
			t.Fatalf("border next to image %d = %v", k, got)
		}
	}
	// The unused sixth cell is border-coloured.
	x5, y5 := GridCellOrigin(5, cols, h, w, scale)
	if got := rgbaAt(g, x5+1, y5+1); got != GridBorderColor {
		t.Errorf("empty cell = %v, want the border colour", got)
	}
}

func TestImageGridRGBAndInvalid(t *testing.T) {
	// Two 1×1 RGB images: (1, 0.5, 0) and (NaN, 0, 0); then a missing one.
	imgs := []float32{1, 0.5, 0, float32(math.NaN()), 0, 0}
	g := ImageGrid(imgs, 3, 3, 1, 1, 3, 1)
	for k, want := range []color.RGBA{{255, 128, 0, 255}, InvalidColor, InvalidColor} {
		x, y := GridCellOrigin(k, 3, 1, 1, 1)
		if got := rgbaAt(g, x, y); got != want {
			t.Errorf("image %d = %v, want %v", k, got, want)
		}
	}
	// Out-of-range values are clamped.
	g = ImageGrid([]float32{-2, 7, float32(math.Inf(1))}, 3, 1, 1, 1, 0, 1)
	for k, want := range []color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, InvalidColor} {
		x, y := GridCellOrigin(k, 2, 1, 1, 1) // cols <= 0: ceil(sqrt(3)) = 2
		if got := rgbaAt(g, x, y); got != want {
			t.Errorf("clamped image %d = %v, want %v", k, got, want)
		}
	}
	for _, args := range [][6]int{{0, 1, 2, 2, 0, 1}, {-3, 0, 0, 0, -1, -1}, {4, 2, 2, 2, 9, 0}} {
		ImageGrid(nil, args[0], args[1], args[2], args[3], args[4], args[5])
	}
}

type solid struct{ c color.RGBA }

func (s solid) Render(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Bounds(), s.c)
	return img
}

func TestPanels(t *testing.T) {
	red, blue, green := color.RGBA{255, 0, 0, 255}, color.RGBA{0, 0, 255, 255}, color.RGBA{0, 255, 0, 255}
	img := Panels([]Panel{solid{red}, nil, solid{blue}, solid{green}, solid{red}}, 2, 30, 20)
	checkSize(t, img, 60, 60)
	for _, c := range []struct {
		x, y int
		want color.RGBA
	}{{0, 0, red}, {29, 19, red}, {30, 0, color.RGBA{255, 255, 255, 255}}, {0, 20, blue}, {59, 39, green}, {5, 45, red}, {45, 45, color.RGBA{255, 255, 255, 255}}} {
		if got := rgbaAt(img, c.x, c.y); got != c.want {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
	checkSize(t, Panels(nil, 0, 10, 10), 10, 10)
	checkSize(t, Panels([]Panel{solid{red}, solid{red}, solid{red}}, 0, 10, 10), 30, 10)
	// Real panels at once.
	z := []float64{0, 1, 2, 3}
	checkSize(t, Panels([]Panel{
		&Scatter{Title: "data", X: []float64{0, 1}, Y: []float64{1, 0}, EqualAspect: true},
		&Heatmap{Title: "density", Z: z, NX: 2, NY: 2},
		&LinePlot{Title: "curve", Series: []Series{{Y: z}}},
	}, 3, 150, 140), 450, 140)
}

func TestLinePlot(t *testing.T) {
	p := &LinePlot{
		Title: "t", XLabel: "x", YLabel: "y",
		Series: []Series{
			{Name: "a", X: []float64{0, 1, 2, 3}, Y: []float64{0, 1, 0, 1}},
			{Name: "b", X: []float64{0, 1, 2}, Y: []float64{1, 0.5, 0}, Color: color.RGBA{0, 0, 0, 255}, Dashed: true, Markers: true},
		},
	}
	img := p.Render(400, 300)
	checkSize(t, img, 400, 300)
	// Some pixel is drawn in the first palette colour (the centre of a line).
	found := false
	for y := 0; y < 300 && !found; y++ {
		for x := 0; x < 400 && !found; x++ {
			found = near(rgbaAt(img, x, y), Palette[0], 8)
		}
	}
	if !found {
		t.Error("no pixel of the first series' colour")
	}
	if p.Series[0].X[3] != 3 || len(p.Series[1].Y) != 3 {
		t.Error("Render modified the series")
	}
}

// TestLinePlotDegenerate renders awkward inputs; none may panic.
func TestLinePlotDegenerate(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	plots := []*LinePlot{
		{},
		{Title: "empty series", Series: []Series{{Name: "none"}, {Name: "nil x", Y: []float64{3}}}},
		{Series: []Series{{Name: "all invalid", X: []float64{nan, 1, inf}, Y: []float64{1, nan, -inf}}}},
		{Series: []Series{{X: []float64{1, 2, 3, 4}, Y: []float64{1, nan, 3, 4}}, {X: []float64{1, 2}, Y: []float64{5, 6, 7}}}},
		{LogX: true, LogY: true, Series: []Series{{X: []float64{-1, 0, 1, 10, 100}, Y: []float64{0, 1, 2, -3, 4}}}},
		{LogX: true, Series: []Series{{X: []float64{-1, 0}, Y: []float64{1, 2}}}},
		{Series: []Series{{X: []float64{-1e308, 1e308}, Y: []float64{1e308, -1e308}, Dashed: true}}},
		{Series: []Series{{X: []float64{5e-324, 1e-323}, Y: []float64{1, 1}}}},
		{Series: []Series{{X: []float64{1, 1, 1}, Y: []float64{2, 2, 2}, Markers: true}}},
		{XRange: [2]float64{0, 1}, YRange: [2]float64{0, 1}, Series: []Series{{X: []float64{-1e9, 1e9}, Y: []float64{1e9, -1e9}, Width: 1e9, Dashed: true}}},
		{XRange: [2]float64{1, 0}, YRange: [2]float64{nan, inf}, LogX: true, Series: []Series{{Y: []float64{1, 2}}}},
		{Series: []Series{{Name: strings.Repeat("a very long legend entry ", 10), Y: []float64{1, 2}}}},
	}
	for _, p := range plots {
		for _, sz := range [][2]int{{640, 480}, {80, 60}, {1, 1}, {0, -5}} {
			img := p.Render(sz[0], sz[1])
			checkSize(t, img, max(sz[0], 1), max(sz[1], 1))
		}
	}
}

func TestScatter(t *testing.T) {
	s := &Scatter{X: []float64{0, 1, math.NaN(), 2}, Y: []float64{0, 1, 2, math.Inf(1), 7}, Title: "s"}
	checkSize(t, s.Render(200, 150), 200, 150)
	for _, s := range []*Scatter{{}, {X: []float64{1}, Y: []float64{1}, Radius: -1, Alpha: 7, EqualAspect: true}, {X: []float64{1e308, -1e308}, Y: []float64{0, 0}, Radius: 1e9}} {
		checkSize(t, s.Render(50, 40), 50, 40)
	}
	// A single opaque dot at the centre of a fixed range is drawn in its colour.
	dot := &Scatter{X: []float64{0}, Y: []float64{0}, XRange: [2]float64{-1, 1}, YRange: [2]float64{-1, 1}, Alpha: 1, Radius: 4, HideAxes: true, Color: color.RGBA{200, 0, 0, 255}}
	img := dot.Render(101, 101)
	if got := rgbaAt(img, 50, 50); !near(got, color.RGBA{200, 0, 0, 255}, 1) {
		t.Errorf("centre pixel = %v", got)
	}
}

func TestTicks(t *testing.T) {
	labels := func(ts []tick) string {
		var s []string
		for _, t := range ts {
			if t.label != "" {
				s = append(s, t.label)
			}
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		lo, hi float64
		n      int
		want   string
	}{
		{0, 1, 6, "0.0 0.2 0.4 0.6 0.8 1.0"},
		{-310, -75, 8, "−300 −250 −200 −150 −100"},
		{0, 20000, 5, "0 5000 10000 15000 20000"},
		{-1.2e-4, 1.2e-4, 3, "−1e−4 0 1e−4"},
		{0, 1.3e6, 4, "0 5e5 1e6"},
		{0, 3e6, 4, "0 1e6 2e6 3e6"},
		{0.1, 0.35, 4, "0.1 0.2 0.3"},
	} {
		if got := labels(linearTicks(c.lo, c.hi, c.n)); got != c.want {
			t.Errorf("linearTicks(%g, %g, %d) = %q, want %q", c.lo, c.hi, c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 1000, "1 10 100 1000"},
		{0.5, 5e5, "1e0 1e1 1e2 1e3 1e4 1e5"},
		{3, 60, "5 10 20 50"},
		{2e-5, 3e-3, "1e−4 1e−3"},
	} {
		if got := labels(logTicks(c.lo, c.hi, 8)); got != c.want {
			t.Errorf("logTicks(%g, %g) = %q, want %q", c.lo, c.hi, got, c.want)
		}
	}
	for _, r := range [][2]float64{{1, 1}, {2, 1}, {math.NaN(), 1}, {0, math.Inf(1)}, {1e15, 1e15 + 1}, {-1e308, 1e308}} {
		linearTicks(r[0], r[1], 5)
		logTicks(r[0], r[1], 5)
	}
}

// TestXTicksDoNotOverlap checks the chosen x tick labels keep apart at
// many widths.
func TestXTicksDoNotOverlap(t *testing.T) {
	for _, rng := range [][2]float64{{0, 20000}, {-1.5e6, 1.2e7}, {0.001, 0.0013}, {-3.2, 3.2}} {
		for w := 120; w <= 1200; w += 37 {
			x := axis{lo: rng[0], hi: rng[1]}
			f := layout(w, 300, x, axis{lo: 0, hi: 1}, frameOpts{axes: true})
			if countLabelled(f.xt) > 2 && !xTicksFit(f.xt, x, f.plot.Dx()) {
				t.Errorf("range %v width %d: x tick labels overlap: %v", rng, w, f.xt)
			}
		}
	}
}

func TestSavePNG(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "fig.png")
	img := (&LinePlot{Title: "x", Series: []Series{{Y: []float64{1, 3, 2}}}}).Render(120, 90)
	if err := SavePNG(path, img); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	back, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if back.Bounds() != img.Bounds() {
		t.Fatalf("decoded bounds %v", back.Bounds())
	}
	for _, p := range []image.Point{{0, 0}, {60, 45}, {100, 80}} {
		r1, g1, b1, a1 := back.At(p.X, p.Y).RGBA()
		r2, g2, b2, a2 := img.At(p.X, p.Y).RGBA()
		if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
			t.Fatalf("pixel %v differs after the round trip", p)
		}
	}
	// Failures leave no temporary files and keep what was there.
	if err := SavePNG(filepath.Join(dir, "missing", "x.png"), img); err == nil {
		t.Error("SavePNG into a missing directory succeeded")
	}
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(filepath.Join(sub, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := SavePNG(sub, img); err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("SavePNG over a directory: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Errorf("directory holds %d entries, want fig.png and sub", len(ents))
	}
}
