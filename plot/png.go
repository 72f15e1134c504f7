package plot

import (
	"fmt"
	"image"
	"image/png"
	"io"

	"github.com/bism-ml/bism/internal/atomicfile"
)

// SavePNG writes img to path as a PNG file, atomically: it encodes to a
// temporary file in the same directory, syncs and closes it, and renames it
// over path. On error path is untouched and the temporary file removed.
func SavePNG(path string, img image.Image) (err error) {
	err = atomicfile.Write(path, func(w io.Writer) error {
		enc := png.Encoder{CompressionLevel: png.DefaultCompression}
		return enc.Encode(w, img)
	})
	if err != nil {
		return fmt.Errorf("plot: saving %s: %w", path, err)
	}
	return nil
}
