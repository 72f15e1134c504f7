package plot

import (
	"image"
	"image/color"
	"math"
)

// Heatmap draws a 2-D grid of values, such as a density evaluated on
// [XMin, XMax]×[YMin, YMax], as an image in a colormap.
//
// Z holds NY rows of NX values: Z[i*NX+j] is the cell in column j (x
// increasing to the right) and row i (y increasing upwards, so row 0 is at
// the bottom, at YMin). The cells split the extent evenly, as in
// matplotlib's imshow with origin="lower". The plot keeps the extent's
// aspect ratio (square cells).
//
// NaN and infinite values, and cells missing because Z is shorter than
// NX*NY, are drawn in NaNColor.
type Heatmap struct {
	Title          string
	XLabel, YLabel string
	Z              []float64
	NX, NY         int
	// The extent of the grid in data units; when XMin == XMax (or YMin ==
	// YMax) that axis is indexed by cell, from 0 to NX (NY).
	XMin, XMax, YMin, YMax float64
	// VMin and VMax are the values mapped to the ends of the colormap;
	// when VMin == VMax they fit the range of the finite values.
	VMin, VMax float64
	Colormap   Colormap    // default Viridis
	NaNColor   color.Color // default InvalidColor
	Smooth     bool        // interpolate bilinearly between cell centres
	HideAxes   bool        // no ticks and tick labels, just the framed image
	Colorbar   bool        // a colour scale with ticks on the right
	// PointsX and PointsY, when set, are drawn over the map as small
	// translucent dots of PointColor (default white): samples over a density.
	PointsX, PointsY []float64
	PointColor       color.Color
}

// Colour bar geometry, in pixels.
const (
	cbarGap   = 12
	cbarWidth = 14
)

// extent returns the data extent, substituting cell indices for degenerate
// or non-finite ranges.
func (hm *Heatmap) extent() (x0, x1, y0, y1 float64) {
	x0, x1, y0, y1 = hm.XMin, hm.XMax, hm.YMin, hm.YMax
	if !(x1 > x0) || !finite(x1-x0) {
		x0, x1 = 0, float64(max(hm.NX, 1))
	}
	if !(y1 > y0) || !finite(y1-y0) {
		y0, y1 = 0, float64(max(hm.NY, 1))
	}
	return
}

// valueRange returns the colour limits.
func (hm *Heatmap) valueRange() (lo, hi float64) {
	if finite(hm.VMin) && finite(hm.VMax) && hm.VMax > hm.VMin {
		return hm.VMin, hm.VMax
	}
	n := max(hm.NX, 0) * max(hm.NY, 0)
	lo, hi, ok := dataRange(false, hm.Z[:min(n, len(hm.Z))])
	if !ok {
		return 0, 1
	}
	if hi == lo {
		return lo - 0.5, hi + 0.5
	}
	return lo, hi
}

// cell returns the value at column j, row i, or NaN if it is missing.
func (hm *Heatmap) cell(i, j int) float64 {
	k := i*hm.NX + j
	if i < 0 || j < 0 || i >= hm.NY || j >= hm.NX || k >= len(hm.Z) {
		return math.NaN()
	}
	return hm.Z[k]
}

// Render draws the heatmap on a w×h image.
func (hm *Heatmap) Render(w, h int) *image.RGBA {
	img := newCanvas(w, h)
	x0, x1, y0, y1 := hm.extent()
	vlo, vhi := hm.valueRange()
	cmap := hm.Colormap
	if cmap == nil {
		cmap = Viridis
	}
	var nan color.Color = InvalidColor
	if hm.NaNColor != nil {
		nan = hm.NaNColor
	}
	nanRGBA := color.RGBAModel.Convert(nan).(color.RGBA)

	opts := frameOpts{title: hm.Title, axes: !hm.HideAxes, aspect: (x1 - x0) / (y1 - y0)}
	var cbarTicks []tick
	if hm.Colorbar {
		cbarTicks = linearTicks(vlo, vhi, max(3, (h-2*pad-lineHeight)/yTickSpace))
		opts.right = cbarGap + cbarWidth + tickLen + tickGap + maxLabelWidth(cbarTicks)
	}
	f := layout(img.Bounds().Dx(), img.Bounds().Dy(),
		axis{label: hm.XLabel, lo: x0, hi: x1}, axis{label: hm.YLabel, lo: y0, hi: y1}, opts)

	p := f.plot
	if hm.Colorbar { // as many ticks as the actual bar height allows
		cbarTicks = linearTicks(vlo, vhi, max(3, p.Dy()/yTickSpace))
	}
	pw, ph := float64(p.Dx()), float64(p.Dy())
	if hm.NX > 0 && hm.NY > 0 {
		for py := p.Min.Y; py < p.Max.Y; py++ {
			// Position in cell units, row 0 at the bottom.
			v := (1 - (float64(py-p.Min.Y)+0.5)/ph) * float64(hm.NY)
			for px := p.Min.X; px < p.Max.X; px++ {
				u := (float64(px-p.Min.X) + 0.5) / pw * float64(hm.NX)
				val := hm.sample(u, v)
				c := nanRGBA
				if finite(val) {
					c = cmap((val - vlo) / (vhi - vlo))
				}
				img.SetRGBA(px, py, c)
			}
		}
	} else {
		fill(img, p, nanRGBA)
	}
	if n := min(len(hm.PointsX), len(hm.PointsY)); n > 0 {
		var col color.Color = color.White
		if hm.PointColor != nil {
			col = hm.PointColor
		}
		splatDots(img, f, hm.PointsX[:n], hm.PointsY[:n], 1.5, math.Max(0.15, math.Min(1, 25/math.Sqrt(float64(n)))), col)
	}
	f.drawDecorations(img)
	if hm.Colorbar {
		drawColorbar(img, p, cmap, vlo, vhi, cbarTicks)
	}
	return img
}

// sample returns the value at (u, v) in cell units: the containing cell's
// value, or with Smooth a bilinear interpolation of the surrounding cell
// centres (ignoring non-finite neighbours).
func (hm *Heatmap) sample(u, v float64) float64 {
	j, i := int(math.Floor(u)), int(math.Floor(v))
	near := hm.cell(min(i, hm.NY-1), min(j, hm.NX-1))
	if !hm.Smooth || !finite(near) {
		return near
	}
	fu := math.Max(0, math.Min(u-0.5, float64(hm.NX-1)))
	fv := math.Max(0, math.Min(v-0.5, float64(hm.NY-1)))
	j0, i0 := int(fu), int(fv)
	tu, tv := fu-float64(j0), fv-float64(i0)
	sum, wsum := 0.0, 0.0
	for di := 0; di < 2; di++ {
		for dj := 0; dj < 2; dj++ {
			wt := (1 - math.Abs(float64(di)-tv)) * (1 - math.Abs(float64(dj)-tu))
			if wt == 0 {
				continue
			}
			c := hm.cell(min(i0+di, hm.NY-1), min(j0+dj, hm.NX-1))
			if finite(c) {
				sum += wt * c
				wsum += wt
			}
		}
	}
	if wsum == 0 {
		return near
	}
	return sum / wsum
}

// drawColorbar draws a vertical colour scale to the right of the plot area.
func drawColorbar(img *image.RGBA, p image.Rectangle, cmap Colormap, lo, hi float64, ticks []tick) {
	bar := image.Rect(p.Max.X+1+cbarGap, p.Min.Y, p.Max.X+1+cbarGap+cbarWidth, p.Max.Y)
	for y := bar.Min.Y; y < bar.Max.Y; y++ {
		t := 1 - (float64(y-bar.Min.Y)+0.5)/float64(bar.Dy())
		fill(img, image.Rect(bar.Min.X, y, bar.Max.X, y+1), cmap(t))
	}
	hline(img, bar.Min.X-1, bar.Max.X, bar.Min.Y-1, frameColor)
	hline(img, bar.Min.X-1, bar.Max.X, bar.Max.Y, frameColor)
	vline(img, bar.Min.X-1, bar.Min.Y-1, bar.Max.Y, frameColor)
	vline(img, bar.Max.X, bar.Min.Y-1, bar.Max.Y, frameColor)
	s := scale{lo: lo, hi: hi, p0: float64(bar.Max.Y), p1: float64(bar.Min.Y)}
	for _, t := range ticks {
		y := int(math.Floor(s.pix(t.v)))
		if y < bar.Min.Y || y > bar.Max.Y {
			continue
		}
		y = min(y, bar.Max.Y-1)
		hline(img, bar.Max.X+1, bar.Max.X+tickLen, y, tickColor)
		drawText(img, regularFace, t.label, bar.Max.X+1+tickLen+tickGap, y, 0, 0.5, textColor)
	}
}

// Hist2D counts the points (x[k], y[k]) in an nx×ny grid of equal cells
// over [xmin, xmax]×[ymin, ymax], in the layout of [Heatmap.Z] (row 0 at
// ymin). Points outside the range or with a NaN coordinate are ignored;
// points on the upper edges count in the last cells. Extra points of the
// longer slice are ignored.
func Hist2D(x, y []float64, nx, ny int, xmin, xmax, ymin, ymax float64) []float64 {
	if nx <= 0 || ny <= 0 {
		return nil
	}
	counts := make([]float64, nx*ny)
	if !(xmax > xmin) || !(ymax > ymin) {
		return counts
	}
	for k := 0; k < min(len(x), len(y)); k++ {
		if !(x[k] >= xmin && x[k] <= xmax && y[k] >= ymin && y[k] <= ymax) {
			continue
		}
		j := min(int((x[k]-xmin)/(xmax-xmin)*float64(nx)), nx-1)
		i := min(int((y[k]-ymin)/(ymax-ymin)*float64(ny)), ny-1)
		counts[i*nx+j]++
	}
	return counts
}

// Scatter draws points as small translucent dots, so that dense regions
// look darker; suitable for samples from a 2-D data distribution.
type Scatter struct {
	Title          string
	XLabel, YLabel string
	X, Y           []float64 // extra points of the longer slice are ignored
	// XRange and YRange fix the axis limits; the zero value fits the data.
	XRange, YRange [2]float64
	Color          color.Color // default Palette[0]
	Radius         float64     // dot radius in pixels, default 1.5
	// Alpha is the opacity of one dot, in (0, 1]; the default decreases
	// with the number of points.
	Alpha float64
	// EqualAspect gives both axes the same scale, like a [Heatmap] of the
	// same extent, so that the two line up side by side in [Panels].
	EqualAspect bool
	HideAxes    bool
}

// Render draws the scatter plot on a w×h image.
func (s *Scatter) Render(w, h int) *image.RGBA {
	img := newCanvas(w, h)
	n := min(len(s.X), len(s.Y))
	xs, ys := s.X[:n], s.Y[:n]
	xa := fitAxis(s.XLabel, s.XRange, false, [][]float64{xs})
	ya := fitAxis(s.YLabel, s.YRange, false, [][]float64{ys})
	opts := frameOpts{title: s.Title, axes: !s.HideAxes}
	if s.EqualAspect {
		opts.aspect = (xa.hi - xa.lo) / (ya.hi - ya.lo)
	}
	f := layout(img.Bounds().Dx(), img.Bounds().Dy(), xa, ya, opts)

	var col color.Color = Palette[0]
	if s.Color != nil {
		col = s.Color
	}
	r := s.Radius
	if !(r > 0) || !finite(r) {
		r = 1.5
	}
	r = math.Min(r, 100)
	alpha := s.Alpha
	if !(alpha > 0 && alpha <= 1) {
		alpha = math.Max(0.08, math.Min(1, 25/math.Sqrt(float64(max(n, 1)))))
	}
	splatDots(img, f, xs, ys, r, alpha, col)
	f.drawDecorations(img)
	return img
}

// splatDots composites antialiased discs one by one, so that overlapping
// translucent dots accumulate.
func splatDots(img *image.RGBA, f *frame, xs, ys []float64, r, alpha float64, col color.Color) {
	p := f.plot
	cr, cg, cb, _ := col.RGBA()
	src := [3]float64{float64(cr) / 0xffff, float64(cg) / 0xffff, float64(cb) / 0xffff}
	w, h := p.Dx(), p.Dy()
	buf := make([]float64, 3*w*h)
	for py := 0; py < h; py++ { // start from what is drawn (white for a scatter plot)
		for px := 0; px < w; px++ {
			c := img.RGBAAt(p.Min.X+px, p.Min.Y+py)
			o := 3 * (py*w + px)
			buf[o], buf[o+1], buf[o+2] = float64(c.R)/255, float64(c.G)/255, float64(c.B)/255
		}
	}
	for k := range xs {
		cx, cy := f.sx.pix(xs[k])-float64(p.Min.X), f.sy.pix(ys[k])-float64(p.Min.Y)
		if !finite(cx) || !finite(cy) || cx < -r-1 || cy < -r-1 || cx > float64(w)+r+1 || cy > float64(h)+r+1 {
			continue
		}
		for py := max(0, int(cy-r-1)); py < min(h, int(cy+r+2)); py++ {
			for px := max(0, int(cx-r-1)); px < min(w, int(cx+r+2)); px++ {
				d := math.Hypot(float64(px)+0.5-cx, float64(py)+0.5-cy)
				cov := math.Max(0, math.Min(1, r+0.5-d)) * alpha
				if cov == 0 {
					continue
				}
				o := 3 * (py*w + px)
				for c := 0; c < 3; c++ {
					buf[o+c] += (src[c] - buf[o+c]) * cov
				}
			}
		}
	}
	for py := 0; py < h; py++ {
		for px := 0; px < w; px++ {
			o := 3 * (py*w + px)
			img.SetRGBA(p.Min.X+px, p.Min.Y+py, color.RGBA{
				uint8(buf[o]*255 + 0.5), uint8(buf[o+1]*255 + 0.5), uint8(buf[o+2]*255 + 0.5), 0xff,
			})
		}
	}
}
