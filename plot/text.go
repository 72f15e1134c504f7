package plot

import (
	"image"
	"image/color"
	"image/draw"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/inconsolata"
	"golang.org/x/image/math/fixed"
)

// The faces used for all text: antialiased bitmaps of Inconsolata, so that
// no font files or cgo are needed.
var (
	regularFace = inconsolata.Regular8x16
	boldFace    = inconsolata.Bold8x16
)

// lineHeight is the height of one line of text in pixels.
var lineHeight = regularFace.Ascent + regularFace.Descent

var (
	textColor  = color.RGBA{0x20, 0x20, 0x20, 0xff}
	frameColor = color.RGBA{0x40, 0x40, 0x40, 0xff}
	gridColor  = color.RGBA{0xe4, 0xe4, 0xe4, 0xff}
	tickColor  = frameColor
)

func textWidth(face *basicfont.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// drawText draws s anchored at (x, y): ax and ay are the anchor's position
// within the text's box (0 = left/top, 0.5 = centre, 1 = right/bottom).
func drawText(dst draw.Image, face *basicfont.Face, s string, x, y int, ax, ay float64, c color.Color) {
	w := textWidth(face, s)
	h := face.Ascent + face.Descent
	left := x - int(ax*float64(w)+0.5)
	top := y - int(ay*float64(h)+0.5)
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(c),
		Face: face,
		Dot:  fixed.P(left, top+face.Ascent),
	}
	d.DrawString(s)
}

// drawTextUp draws s rotated a quarter turn counter-clockwise (reading
// upwards), centred at (x, y).
func drawTextUp(dst draw.Image, face *basicfont.Face, s string, x, y int, c color.Color) {
	w := textWidth(face, s)
	h := face.Ascent + face.Descent
	if w <= 0 {
		return
	}
	flat := image.NewAlpha(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: flat, Src: image.Opaque, Face: face, Dot: fixed.P(0, face.Ascent)}
	d.DrawString(s)
	up := image.NewAlpha(image.Rect(0, 0, h, w))
	for v := 0; v < h; v++ {
		for u := 0; u < w; u++ {
			up.Pix[(w-1-u)*up.Stride+v] = flat.Pix[v*flat.Stride+u]
		}
	}
	r := image.Rect(x-h/2, y-w/2, x-h/2+h, y-w/2+w)
	draw.DrawMask(dst, r, image.NewUniform(c), image.Point{}, up, image.Point{}, draw.Over)
}

// truncate shortens s with an ellipsis so that it fits in width pixels.
func truncate(face *basicfont.Face, s string, width int) string {
	if textWidth(face, s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 {
		r = r[:len(r)-1]
		t := string(r) + "…"
		if textWidth(face, t) <= width {
			return t
		}
	}
	return ""
}
