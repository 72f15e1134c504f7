package plot

import (
	"image"
	"image/color"
	"math"
)

// Panel is a figure that can draw itself at a given size: [*Heatmap],
// [*LinePlot] and [*Scatter] are panels.
type Panel interface {
	Render(w, h int) *image.RGBA
}

// Panels renders each panel at w×h and tiles them row by row, cols per row
// (all in one row when cols <= 0), on a white background. Nil panels leave
// their cell blank.
func Panels(panels []Panel, cols, w, h int) *image.RGBA {
	n := len(panels)
	if cols <= 0 || cols > n {
		cols = max(n, 1)
	}
	rows := max((n+cols-1)/cols, 1)
	w, h = max(w, 1), max(h, 1)
	img := newCanvas(cols*w, rows*h)
	for k, p := range panels {
		if p == nil {
			continue
		}
		sub := p.Render(w, h)
		x0, y0 := (k%cols)*w, (k/cols)*h
		b := sub.Bounds()
		for y := 0; y < min(h, b.Dy()); y++ {
			src := sub.Pix[sub.PixOffset(b.Min.X, b.Min.Y+y):]
			copy(img.Pix[img.PixOffset(x0, y0+y):], src[:4*min(w, b.Dx())])
		}
	}
	return img
}

// GridBorder is the width in pixels of the border between and around the
// images of [ImageGrid].
const GridBorder = 2

// GridBorderColor is the colour of the borders of [ImageGrid].
var GridBorderColor = color.RGBA{0xd0, 0xd0, 0xd0, 0xff}

// ImageGrid tiles n images into a grid with cols columns (about square when
// cols <= 0; at most n), with a [GridBorder]-pixel border, each pixel
// enlarged to scale×scale (scale < 1 means 1). Image k is at
// [GridCellOrigin](k, cols, h, w, scale).
//
// images holds n images of c channels of h×w values, in [0, 1], row-major:
// image k, channel ch, row y, column x is images[((k*c+ch)*h+y)*w+x]. With
// c == 3 the channels are red, green and blue; otherwise the first channel
// is drawn in grey. Values outside [0, 1] are clamped; NaN, infinite and
// missing values (images shorter than n*c*h*w) are drawn in InvalidColor.
func ImageGrid(images []float32, n, c, h, w, cols, scale int) *image.RGBA {
	n, c, h, w = max(n, 0), max(c, 1), max(h, 1), max(w, 1)
	scale = max(scale, 1)
	if cols <= 0 {
		cols = max(int(math.Ceil(math.Sqrt(float64(n)))), 1)
	}
	cols = max(min(cols, n), 1)
	rows := max((n+cols-1)/cols, 1)
	cw, ch := w*scale, h*scale
	img := image.NewRGBA(image.Rect(0, 0, GridBorder+cols*(cw+GridBorder), GridBorder+rows*(ch+GridBorder)))
	fill(img, img.Bounds(), GridBorderColor)

	at := func(k, chn, y, x int) (float64, bool) {
		i := ((k*c+chn)*h+y)*w + x
		if i >= len(images) {
			return 0, false
		}
		v := float64(images[i])
		if !finite(v) {
			return 0, false
		}
		return math.Max(0, math.Min(1, v)), true
	}
	for k := 0; k < n; k++ {
		x0, y0 := GridCellOrigin(k, cols, h, w, scale)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				var px color.RGBA
				if c == 3 {
					r, ok1 := at(k, 0, y, x)
					g, ok2 := at(k, 1, y, x)
					b, ok3 := at(k, 2, y, x)
					px = color.RGBA{to8(r), to8(g), to8(b), 0xff}
					if !ok1 || !ok2 || !ok3 {
						px = InvalidColor
					}
				} else {
					v, ok := at(k, 0, y, x)
					px = color.RGBA{to8(v), to8(v), to8(v), 0xff}
					if !ok {
						px = InvalidColor
					}
				}
				fill(img, image.Rect(x0+x*scale, y0+y*scale, x0+(x+1)*scale, y0+(y+1)*scale), px)
			}
		}
	}
	return img
}

// GridCellOrigin returns the top-left pixel of image k in an [ImageGrid]
// with the given layout.
func GridCellOrigin(k, cols, h, w, scale int) (x, y int) {
	scale = max(scale, 1)
	cols = max(cols, 1)
	return GridBorder + (k%cols)*(w*scale+GridBorder), GridBorder + (k/cols)*(h*scale+GridBorder)
}

func to8(v float64) uint8 { return uint8(v*255 + 0.5) }
