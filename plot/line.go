package plot

import (
	"image"
	"image/color"
	"math"
)

// Series is one named curve of a [LinePlot].
type Series struct {
	Name string    // legend entry; series without a name are not listed
	X, Y []float64 // points; a nil X means 0, 1, 2, ...; extra points of the longer slice are ignored
	// Color is the curve's colour; nil picks the next colour of [Palette].
	Color color.Color
	// Width is the line width in pixels (default 2).
	Width float64
	// Dashed draws a dashed line, to tell curves apart in greyscale print.
	Dashed bool
	// Markers draws a dot at each point.
	Markers bool
}

// LinePlot is a plot of curves with axes, ticks, labels, a title and a
// legend. Points with a NaN or infinite coordinate (or a non-positive one on
// a log axis) are skipped and break the curve.
type LinePlot struct {
	Title, XLabel, YLabel string
	Series                []Series
	LogX, LogY            bool
	// XRange and YRange fix the axis limits; the zero value fits the data
	// with a small margin.
	XRange, YRange [2]float64
}

// Render draws the plot on a w×h image.
func (p *LinePlot) Render(w, h int) *image.RGBA {
	img := newCanvas(w, h)
	xs := make([][]float64, len(p.Series))
	ys := make([][]float64, len(p.Series))
	for i, s := range p.Series {
		xs[i], ys[i] = seriesX(s)
	}
	xa := fitAxis(p.XLabel, p.XRange, p.LogX, xs)
	ya := fitAxis(p.YLabel, p.YRange, p.LogY, ys)
	f := layout(img.Bounds().Dx(), img.Bounds().Dy(), xa, ya, frameOpts{title: p.Title, axes: true})
	f.drawGrid(img)

	pe := newPen(f.plot)
	var paths [][2][]float64 // pixel coordinates, for legend placement
	for i, s := range p.Series {
		px := make([]float64, len(xs[i]))
		py := make([]float64, len(xs[i]))
		for k := range xs[i] {
			px[k], py[k] = f.sx.pix(xs[i][k]), f.sy.pix(ys[i][k])
		}
		paths = append(paths, [2][]float64{px, py})
		hw := seriesWidth(s) / 2
		pe.polyline(px, py, hw, dashLen(s))
		if s.Markers {
			for k := range px {
				if finite(px[k]) && finite(py[k]) {
					pe.disc(px[k], py[k], hw+1.5)
				}
			}
		}
		pe.paint(img, seriesColor(s, i))
	}
	f.drawDecorations(img)
	p.drawLegend(img, f.plot, paths)
	return img
}

// seriesX returns the x values of s (0, 1, 2, ... when X is nil) and its y
// values, both cut to the same length.
func seriesX(s Series) ([]float64, []float64) {
	x := s.X
	if x == nil {
		x = make([]float64, len(s.Y))
		for i := range x {
			x[i] = float64(i)
		}
	}
	n := min(len(x), len(s.Y))
	return x[:n], s.Y[:n]
}

func seriesColor(s Series, i int) color.Color {
	if s.Color != nil {
		return s.Color
	}
	return Palette[i%len(Palette)]
}

func seriesWidth(s Series) float64 {
	if s.Width > 0 && finite(s.Width) {
		return math.Min(s.Width, 50)
	}
	return 2
}

func dashLen(s Series) float64 {
	if s.Dashed {
		return 3 * seriesWidth(s)
	}
	return 0
}

// fitAxis returns an axis over rng, or over the data with a margin when rng
// is the zero value (or unusable).
func fitAxis(label string, rng [2]float64, log bool, data [][]float64) axis {
	a := axis{label: label, log: log}
	lo, hi := rng[0], rng[1]
	if finite(lo) && finite(hi) && hi > lo && (!log || lo > 0) {
		a.lo, a.hi = lo, hi
		return a
	}
	lo, hi, ok := dataRange(log, data...)
	if !ok {
		lo, hi = 0, 1
		if log {
			lo, hi = 1, 10
		}
	}
	a.lo, a.hi = padRange(lo, hi, 0.04, log)
	if !finite(a.lo) || !finite(a.hi) || !(a.hi > a.lo) { // overflowing data
		a.lo, a.hi = lo, hi
		if !(a.hi > a.lo) {
			a.lo, a.hi = lo-math.Abs(lo)*1e-3-1e-300, hi+math.Abs(hi)*1e-3+1e-300
		}
	}
	return a
}

// Legend geometry, in pixels.
const (
	legendPad    = 6
	legendSample = 24 // length of the line sample
	legendMargin = 8  // from the plot area's edge
)

// drawLegend draws the legend in the corner of the plot area where it
// covers the fewest points of the curves.
func (p *LinePlot) drawLegend(img *image.RGBA, area image.Rectangle, paths [][2][]float64) {
	var idx []int
	textW := 0
	for i, s := range p.Series {
		if s.Name != "" {
			idx = append(idx, i)
			textW = max(textW, textWidth(regularFace, s.Name))
		}
	}
	if len(idx) == 0 {
		return
	}
	textW = min(textW, max(area.Dx()-2*legendMargin-3*legendPad-legendSample, 8*regularFace.Advance))
	rowH := lineHeight + 2
	lw := 3*legendPad + legendSample + textW
	lh := 2*legendPad + rowH*len(idx) - 2
	box := bestLegendBox(area, lw, lh, paths)

	blend(img, box, color.NRGBA{0xff, 0xff, 0xff, 0xe6})
	border := color.RGBA{0xc0, 0xc0, 0xc0, 0xff}
	hline(img, box.Min.X, box.Max.X-1, box.Min.Y, border)
	hline(img, box.Min.X, box.Max.X-1, box.Max.Y-1, border)
	vline(img, box.Min.X, box.Min.Y, box.Max.Y-1, border)
	vline(img, box.Max.X-1, box.Min.Y, box.Max.Y-1, border)

	pe := newPen(box)
	for row, i := range idx {
		s := p.Series[i]
		cy := float64(box.Min.Y+legendPad+row*rowH) + float64(lineHeight)/2
		x0 := float64(box.Min.X + legendPad)
		hw := math.Min(seriesWidth(s), 6) / 2
		if s.Dashed {
			pe.polyline([]float64{x0, x0 + legendSample}, []float64{cy, cy}, hw, math.Min(dashLen(s), 6))
		} else {
			pe.segment(x0, cy, x0+legendSample, cy, hw)
		}
		if s.Markers {
			pe.disc(x0+legendSample/2, cy, hw+1.5)
		}
		pe.paint(img, seriesColor(s, i))
		name := truncate(regularFace, s.Name, textW)
		drawText(img, regularFace, name, box.Min.X+2*legendPad+legendSample, box.Min.Y+legendPad+row*rowH, 0, 0, textColor)
	}
}

// bestLegendBox returns the candidate position for a lw×lh legend inside
// area that covers the fewest sampled curve points and, among those, keeps
// the most clearance (up to a limit) from the curves; ties go to the
// earlier candidate, starting with the upper right.
func bestLegendBox(area image.Rectangle, lw, lh int, paths [][2][]float64) image.Rectangle {
	const enough = 24.0 // clearance beyond which positions are equally good
	m := legendMargin
	l, r := area.Min.X+m, area.Max.X-m-lw
	t, b := area.Min.Y+m, area.Max.Y-m-lh
	cx, cy := (area.Min.X+area.Max.X-lw)/2, (area.Min.Y+area.Max.Y-lh)/2
	cands := []image.Point{{r, t}, {l, t}, {r, b}, {l, b}, {r, cy}, {l, cy}, {cx, t}, {cx, b}}
	counts := make([]int, len(cands))
	clear := make([]float64, len(cands))
	for i := range clear {
		clear[i] = enough
	}
	for _, path := range paths {
		samplePath(path[0], path[1], func(x, y float64) {
			for i, c := range cands {
				dx := math.Max(0, math.Max(float64(c.X-2)-x, x-float64(c.X+lw+2)))
				dy := math.Max(0, math.Max(float64(c.Y-2)-y, y-float64(c.Y+lh+2)))
				d := math.Hypot(dx, dy)
				if d == 0 {
					counts[i]++
				}
				clear[i] = math.Min(clear[i], d)
			}
		})
	}
	best := 0
	for i := range cands {
		if counts[i] < counts[best] || (counts[i] == counts[best] && clear[i] > clear[best]) {
			best = i
		}
	}
	return image.Rect(cands[best].X, cands[best].Y, cands[best].X+lw, cands[best].Y+lh)
}

// samplePath calls fn at points spaced about 2 pixels apart along the finite
// segments of a polyline (at most a few thousand per segment).
func samplePath(xs, ys []float64, fn func(x, y float64)) {
	for i := range xs {
		if !finite(xs[i]) || !finite(ys[i]) {
			continue
		}
		fn(xs[i], ys[i])
		if i == 0 || !finite(xs[i-1]) || !finite(ys[i-1]) {
			continue
		}
		dx, dy := xs[i]-xs[i-1], ys[i]-ys[i-1]
		n := int(math.Min(math.Hypot(dx, dy)/2, 4000))
		for k := 1; k < n; k++ {
			t := float64(k) / float64(n)
			fn(xs[i-1]+t*dx, ys[i-1]+t*dy)
		}
	}
}
