package plot

import (
	"image/color"
	"math"
)

// Colormap maps a value in [0, 1] to a colour.
type Colormap func(t float64) color.RGBA

// viridisLUT is a 256-entry table of the viridis colormap (van der Walt and
// Smith's perceptually uniform, colour-blind friendly default of
// matplotlib), built from a degree-6 polynomial fit of it per channel that
// stays within 4/255 of the reference table.
var viridisLUT = func() (lut [256]color.RGBA) {
	c := [7][3]float64{
		{0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
		{0.1050930431085774, 1.404613529898575, 1.384590162594685},
		{-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
		{-4.634230498983486, -5.799100973351585, -19.33244095627987},
		{6.228269936347081, 14.17993336680509, 56.69055260068105},
		{4.776384997670288, -13.74514537774601, -65.35303263337234},
		{-5.435455855934631, 4.645852612178535, 26.3124352495832},
	}
	for i := range lut {
		t := float64(i) / 255
		var rgb [3]uint8
		for ch := 0; ch < 3; ch++ {
			v := 0.0
			for k := 6; k >= 0; k-- {
				v = v*t + c[k][ch]
			}
			rgb[ch] = uint8(math.Round(255 * math.Min(1, math.Max(0, v))))
		}
		lut[i] = color.RGBA{rgb[0], rgb[1], rgb[2], 0xff}
	}
	return lut
}()

// Viridis is the viridis colormap: dark purple at 0 through blue and green
// to yellow at 1. Values outside [0, 1] are clamped; NaN maps to 0.
func Viridis(t float64) color.RGBA {
	return viridisLUT[lutIndex(t)]
}

// Gray maps 0 to black and 1 to white.
func Gray(t float64) color.RGBA {
	v := uint8(lutIndex(t))
	return color.RGBA{v, v, v, 0xff}
}

func lutIndex(t float64) int {
	if !(t > 0) { // also NaN
		return 0
	}
	if t >= 1 {
		return 255
	}
	return int(t*255 + 0.5)
}

// Palette holds the distinct colours given to series that set none, in
// order (the "tab10" palette of matplotlib).
var Palette = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, // blue
	{0xff, 0x7f, 0x0e, 0xff}, // orange
	{0x2c, 0xa0, 0x2c, 0xff}, // green
	{0xd6, 0x27, 0x28, 0xff}, // red
	{0x94, 0x67, 0xbd, 0xff}, // purple
	{0x8c, 0x56, 0x4b, 0xff}, // brown
	{0xe3, 0x77, 0xc2, 0xff}, // pink
	{0x7f, 0x7f, 0x7f, 0xff}, // grey
	{0xbc, 0xbd, 0x22, 0xff}, // olive
	{0x17, 0xbe, 0xcf, 0xff}, // cyan
}

// InvalidColor is the default colour of NaN and infinite cells in heatmaps
// and image grids: a magenta that occurs in neither Viridis nor Gray.
var InvalidColor = color.RGBA{0xff, 0x00, 0xff, 0xff}
