package plot

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"golang.org/x/image/vector"
)

// pen collects antialiased shapes inside a clip rectangle and paints them in
// one colour. Overlapping shapes do not darken each other: the coverage of
// the union is painted once, which keeps semi-transparent strokes even.
type pen struct {
	z    *vector.Rasterizer
	clip image.Rectangle
}

func newPen(clip image.Rectangle) *pen {
	if clip.Empty() {
		clip = image.Rectangle{}
	}
	return &pen{z: vector.NewRasterizer(clip.Dx(), clip.Dy()), clip: clip}
}

// polygon adds a closed polygon given as x0, y0, x1, y1, ... in image
// coordinates. Every polygon is added with the same orientation so that the
// rasterizer's accumulated coverage saturates instead of cancelling.
func (p *pen) polygon(xy ...float64) {
	n := len(xy) / 2
	if n < 3 {
		return
	}
	area := 0.0
	for i := 0; i < n; i++ {
		j := (i + 1) % n
		area += xy[2*i]*xy[2*j+1] - xy[2*j]*xy[2*i+1]
	}
	ox, oy := float64(p.clip.Min.X), float64(p.clip.Min.Y)
	at := func(i int) (float32, float32) {
		if area > 0 {
			i = n - 1 - i
		}
		return float32(xy[2*i] - ox), float32(xy[2*i+1] - oy)
	}
	p.z.MoveTo(at(0))
	for i := 1; i < n; i++ {
		p.z.LineTo(at(i))
	}
	p.z.ClosePath()
}

// disc adds a filled circle.
func (p *pen) disc(cx, cy, r float64) {
	if !p.near(cx, cy, r) {
		return
	}
	k := max(8, min(48, int(r*4)))
	xy := make([]float64, 0, 2*k)
	for i := 0; i < k; i++ {
		a := 2 * math.Pi * float64(i) / float64(k)
		xy = append(xy, cx+r*math.Cos(a), cy+r*math.Sin(a))
	}
	p.polygon(xy...)
}

// near reports whether a shape of radius r at (x, y) can touch the clip
// rectangle.
func (p *pen) near(x, y, r float64) bool {
	return x+r >= float64(p.clip.Min.X) && x-r <= float64(p.clip.Max.X) &&
		y+r >= float64(p.clip.Min.Y) && y-r <= float64(p.clip.Max.Y)
}

// segment adds a straight stroke of half-width hw with butt ends.
func (p *pen) segment(x0, y0, x1, y1, hw float64) {
	m := hw + 2
	var ok bool
	x0, y0, x1, y1, ok = clipSegment(x0, y0, x1, y1,
		float64(p.clip.Min.X)-m, float64(p.clip.Min.Y)-m, float64(p.clip.Max.X)+m, float64(p.clip.Max.Y)+m)
	if !ok {
		return
	}
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	nx, ny := -dy/l*hw, dx/l*hw
	p.polygon(x0+nx, y0+ny, x1+nx, y1+ny, x1-nx, y1-ny, x0-nx, y0-ny)
}

// polyline adds a stroke through the points with round joins and caps,
// breaking it at non-finite coordinates. With dash > 0 the stroke is dashed
// with dashes and gaps of that length.
func (p *pen) polyline(xs, ys []float64, hw, dash float64) {
	var px, py float64
	have := false
	phase := 0.0 // distance travelled along the dash pattern
	for i := range xs {
		x, y := xs[i], ys[i]
		if !finite(x) || !finite(y) {
			have = false
			continue
		}
		if !have {
			px, py, have = x, y, true
			if dash == 0 {
				p.disc(x, y, hw)
			}
			continue
		}
		if dash > 0 {
			phase = p.dashed(px, py, x, y, hw, dash, phase)
		} else {
			p.segment(px, py, x, y, hw)
			p.disc(x, y, hw)
		}
		px, py = x, y
	}
}

// dashed adds the dashes of one segment, continuing the pattern at phase,
// and returns the phase at its end.
func (p *pen) dashed(x0, y0, x1, y1, hw, dash, phase float64) float64 {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return phase
	}
	if l > 1e5 { // far outside any image: draw it solid
		p.segment(x0, y0, x1, y1, hw)
		return phase
	}
	period := 2 * dash
	for t := 0.0; t < l; {
		pos := math.Mod(phase+t, period)
		run := math.Min(period-pos, l-t)
		if pos < dash {
			run = math.Min(dash-pos, l-t)
			a, b := t/l, (t+run)/l
			p.segment(x0+a*dx, y0+a*dy, x0+b*dx, y0+b*dy, hw)
		}
		if t+run <= t {
			break
		}
		t += run
	}
	return math.Mod(phase+l, period)
}

// paint draws the collected shapes onto dst in colour c and clears the pen.
func (p *pen) paint(dst *image.RGBA, c color.Color) {
	r := p.clip.Intersect(dst.Bounds())
	if r == p.clip && !r.Empty() {
		p.z.Draw(dst, r, image.NewUniform(c), image.Point{})
	}
	p.z.Reset(p.clip.Dx(), p.clip.Dy())
}

// clipSegment clips a segment to a rectangle (Liang–Barsky).
func clipSegment(x0, y0, x1, y1, xmin, ymin, xmax, ymax float64) (float64, float64, float64, float64, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := x1-x0, y1-y0
	for _, c := range [4][2]float64{{-dx, x0 - xmin}, {dx, xmax - x0}, {-dy, y0 - ymin}, {dy, ymax - y0}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q < 0 {
				return 0, 0, 0, 0, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return 0, 0, 0, 0, false
			}
			t0 = math.Max(t0, r)
		} else {
			if r < t0 {
				return 0, 0, 0, 0, false
			}
			t1 = math.Min(t1, r)
		}
	}
	return x0 + t0*dx, y0 + t0*dy, x0 + t1*dx, y0 + t1*dy, true
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// fill paints a rectangle with a solid colour.
func fill(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// blend paints a rectangle with a colour composited over what is there.
func blend(dst draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(dst, r, image.NewUniform(c), image.Point{}, draw.Over)
}

// hline and vline draw 1-pixel lines (inclusive ends).
func hline(dst *image.RGBA, x0, x1, y int, c color.Color) {
	fill(dst, image.Rect(min(x0, x1), y, max(x0, x1)+1, y+1), c)
}

func vline(dst *image.RGBA, x, y0, y1 int, c color.Color) {
	fill(dst, image.Rect(x, min(y0, y1), x+1, max(y0, y1)+1), c)
}

// newCanvas returns a white w×h image; sizes below 1 become 1.
func newCanvas(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	fill(img, img.Bounds(), color.White)
	return img
}
