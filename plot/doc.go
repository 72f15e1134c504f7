// Package plot draws the figures of bism's experiments as PNG images, in
// pure Go (no cgo, no font files): line plots of training curves, heatmaps
// of learned 2-D densities, scatter plots of data, side-by-side panels and
// grids of image samples.
//
// # Figures
//
//   - [LinePlot]: named [Series] of (x, y) points, e.g. test log-likelihood
//     against iteration for several methods, with nice-number ticks, axis
//     labels, a title, a legend placed where it hides the least data, and
//     distinct colours from [Palette]; optionally log-scaled axes.
//   - [Heatmap]: a grid of values (a density evaluated on a grid) in the
//     perceptually uniform [Viridis] colormap, with an optional colour bar.
//     [Hist2D] bins points into a grid for a heatmap of data.
//   - [Scatter]: points drawn as translucent dots, for data samples.
//   - [Panels]: several panels side by side or in rows, e.g. "data" next to
//     each method's learned density.
//   - [ImageGrid]: model samples (n images of c×h×w float32 values in
//     [0, 1]) tiled into a grid with thin borders, optionally enlarged.
//
// For example, the density figure of the paper is:
//
//	img := plot.Panels([]plot.Panel{
//		&plot.Scatter{Title: "data", X: xs, Y: ys, XRange: r, YRange: r, EqualAspect: true},
//		&plot.Heatmap{Title: "BiSM", Z: z, NX: 100, NY: 100, XMin: -4, XMax: 4, YMin: -4, YMax: 4},
//	}, 0, 300, 300)
//	err := plot.SavePNG("fig2.png", img)
//
// Every figure renders to an *image.RGBA of the requested size with its
// Render(w, h) method, and [SavePNG] writes any image atomically (temporary
// file, sync, rename), so a crash never leaves a truncated figure.
//
// # Robustness
//
// Rendering never panics on data: NaN and infinite values are skipped in
// line and scatter plots (breaking the curve) and drawn in [InvalidColor]
// in heatmaps and image grids; empty series, empty plots, mismatched slice
// lengths and tiny or zero sizes all render something sensible.
//
// # Text
//
// Text uses the pre-rendered, antialiased Inconsolata faces of
// golang.org/x/image/font/inconsolata (8×16 pixels, regular and bold),
// which cover Latin-1; other characters are not drawn. Figures are meant to
// be rendered at roughly 200–700 pixels per panel, where this text size
// matches that of a printed figure.
package plot
