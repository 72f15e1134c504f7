package plot

import (
	"image"
	"math"
)

// Layout constants, in pixels.
const (
	pad        = 10 // outer padding of a figure
	tickLen    = 5  // length of major ticks (minor ticks are 3)
	tickGap    = 4  // between tick and tick label
	labelGap   = 6  // between tick labels and axis label
	titleGap   = 8  // between title and plot area
	minTickSep = 14 // minimum horizontal space between x tick labels
	yTickSpace = 42 // vertical pixels per y tick, roughly
)

// axis describes one axis of a frame.
type axis struct {
	label  string
	lo, hi float64 // range in data units (> 0 for a log axis)
	log    bool
}

// frameOpts are the layout options of a frame.
type frameOpts struct {
	title  string
	axes   bool    // draw ticks and tick labels
	aspect float64 // if > 0, the plot area's width/height
	right  int     // extra space to reserve on the right (colour bar)
}

// frame is the laid-out coordinate system of a plot: a plot area inside a
// canvas with scales and ticks for both axes.
type frame struct {
	opts   frameOpts
	x, y   axis
	plot   image.Rectangle // plot area; the frame line is drawn just outside
	sx, sy scale
	xt, yt []tick
}

func axisTicks(a axis, maxTicks int) []tick {
	if a.log {
		return logTicks(a.lo, a.hi, maxTicks)
	}
	return linearTicks(a.lo, a.hi, maxTicks)
}

func maxLabelWidth(ts []tick) int {
	w := 0
	for _, t := range ts {
		w = max(w, textWidth(regularFace, t.label))
	}
	return w
}

func newScale(a axis, p0, p1 float64) scale {
	s := scale{lo: a.lo, hi: a.hi, p0: p0, p1: p1, log: a.log}
	if a.log {
		s.lo, s.hi = math.Log10(a.lo), math.Log10(a.hi)
	}
	return s
}

// layout places the plot area of a w×h canvas, leaving room for the title,
// tick labels and axis labels, and chooses ticks that do not overlap.
func layout(w, h int, x, y axis, o frameOpts) *frame {
	f := &frame{opts: o, x: x, y: y}
	top, bottom, left, right := pad, pad, pad, pad+o.right
	if o.title != "" {
		top += lineHeight + titleGap
	}
	if o.axes {
		bottom += tickLen + tickGap + lineHeight
		left += tickLen + tickGap
	}
	if x.label != "" {
		bottom += lineHeight + labelGap
	}
	if y.label != "" {
		left += lineHeight + labelGap
	}
	ph := max(h-top-bottom-2, 1)
	if o.axes {
		f.yt = axisTicks(y, max(3, ph/yTickSpace))
		left += maxLabelWidth(f.yt)
		// Leave room for half of the rightmost x tick label.
		right = max(right, pad+o.right+3*regularFace.Advance)
	}
	pw := max(w-left-right-2, 1)

	if o.aspect > 0 && finite(o.aspect) {
		if float64(pw)/float64(ph) > o.aspect {
			npw := max(int(float64(ph)*o.aspect+0.5), 1)
			left += (pw - npw) / 2
			pw = npw
		} else {
			nph := max(int(float64(pw)/o.aspect+0.5), 1)
			top += (ph - nph) / 2
			ph = nph
		}
		if o.axes {
			f.yt = axisTicks(y, max(3, ph/yTickSpace))
		}
	}
	f.plot = image.Rect(left+1, top+1, left+1+pw, top+1+ph)
	if o.axes {
		// Fewer x ticks until their labels are comfortably apart.
		for n := max(2, pw/50); ; n-- {
			f.xt = axisTicks(x, n)
			if n <= 2 || xTicksFit(f.xt, x, pw) {
				break
			}
		}
	}
	f.sx = newScale(x, float64(f.plot.Min.X), float64(f.plot.Max.X))
	f.sy = newScale(y, float64(f.plot.Max.Y), float64(f.plot.Min.Y))
	return f
}

// xTicksFit reports whether the labels of ts fit along an axis of width pw.
func xTicksFit(ts []tick, a axis, pw int) bool {
	s := newScale(a, 0, float64(pw))
	prevRight := math.Inf(-1)
	for _, t := range ts {
		if t.label == "" {
			continue
		}
		lw := float64(textWidth(regularFace, t.label))
		c := s.pix(t.v)
		if c-lw/2 < prevRight+minTickSep {
			return false
		}
		prevRight = c + lw/2
	}
	return true
}

// xpix and ypix return the pixel column/row of a tick value, or false if it
// falls outside the plot area.
func (f *frame) xpix(v float64) (int, bool) {
	p := f.sx.pix(v)
	if !finite(p) || p < float64(f.plot.Min.X)-0.5 || p > float64(f.plot.Max.X)+0.5 {
		return 0, false
	}
	return min(max(int(math.Floor(p)), f.plot.Min.X), f.plot.Max.X-1), true
}

func (f *frame) ypix(v float64) (int, bool) {
	p := f.sy.pix(v)
	if !finite(p) || p < float64(f.plot.Min.Y)-0.5 || p > float64(f.plot.Max.Y)+0.5 {
		return 0, false
	}
	return min(max(int(math.Floor(p)), f.plot.Min.Y), f.plot.Max.Y-1), true
}

// drawGrid draws light grid lines at the major ticks.
func (f *frame) drawGrid(img *image.RGBA) {
	for _, t := range f.xt {
		if x, ok := f.xpix(t.v); ok && t.label != "" {
			vline(img, x, f.plot.Min.Y, f.plot.Max.Y-1, gridColor)
		}
	}
	for _, t := range f.yt {
		if y, ok := f.ypix(t.v); ok && t.label != "" {
			hline(img, f.plot.Min.X, f.plot.Max.X-1, y, gridColor)
		}
	}
}

// drawDecorations draws the frame line, ticks, tick labels, axis labels and
// title around the plot area.
func (f *frame) drawDecorations(img *image.RGBA) {
	p := f.plot
	hline(img, p.Min.X-1, p.Max.X, p.Min.Y-1, frameColor)
	hline(img, p.Min.X-1, p.Max.X, p.Max.Y, frameColor)
	vline(img, p.Min.X-1, p.Min.Y-1, p.Max.Y, frameColor)
	vline(img, p.Max.X, p.Min.Y-1, p.Max.Y, frameColor)

	if f.opts.axes {
		for _, t := range f.xt {
			x, ok := f.xpix(t.v)
			if !ok {
				continue
			}
			l := 3
			if t.label != "" {
				l = tickLen
				drawText(img, regularFace, t.label, x, p.Max.Y+1+tickLen+tickGap, 0.5, 0, textColor)
			}
			vline(img, x, p.Max.Y+1, p.Max.Y+l, tickColor)
		}
		for _, t := range f.yt {
			y, ok := f.ypix(t.v)
			if !ok {
				continue
			}
			l := 3
			if t.label != "" {
				l = tickLen
				drawText(img, regularFace, t.label, p.Min.X-2-tickLen-tickGap, y, 1, 0.5, textColor)
			}
			hline(img, p.Min.X-1-l, p.Min.X-2, y, tickColor)
		}
	}
	if f.x.label != "" {
		y := p.Max.Y + 1 + labelGap
		if f.opts.axes {
			y += tickLen + tickGap + lineHeight
		}
		drawText(img, regularFace, truncate(regularFace, f.x.label, img.Bounds().Dx()-2*pad), (p.Min.X+p.Max.X)/2, y, 0.5, 0, textColor)
	}
	if f.y.label != "" {
		x := pad + lineHeight/2
		label := truncate(regularFace, f.y.label, img.Bounds().Dy()-2*pad)
		drawTextUp(img, regularFace, label, x, (p.Min.Y+p.Max.Y)/2, textColor)
	}
	if f.opts.title != "" {
		drawTitle(img, f.opts.title, (p.Min.X+p.Max.X)/2, p.Min.Y-1-titleGap)
	}
}

// drawTitle draws a bold title centred at x with its bottom at y, shifted to
// stay inside the image if it is wider than the space above the plot.
func drawTitle(img *image.RGBA, title string, x, y int) {
	b := img.Bounds()
	title = truncate(boldFace, title, b.Dx()-2*pad)
	w := textWidth(boldFace, title)
	x = min(max(x, b.Min.X+pad+w/2), b.Max.X-pad-(w+1)/2)
	drawText(img, boldFace, title, x, y, 0.5, 1, textColor)
}
