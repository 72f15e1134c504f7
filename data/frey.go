package data

import (
	"bytes"
	"fmt"
)

// Frey face geometry and the paper's unshuffled split.
const (
	FreyHeight = 28
	FreyWidth  = 20
	FreyTrain  = 1400
	FreyVal    = 300
	FreyTest   = 265
)

// Frey loads the Frey faces from <root>/frey/frey_rawface.mat: the MATLAB
// variable ff, a uint8 560 x 1965 matrix with one image per column, is
// transposed to 1965 examples of 560 values and divided by 255 (values in
// [0, 1], no noise). The examples have Shape [1, 28, 20] (28 rows of 20
// pixels, the row-major reading of each column) and no labels. The split
// is unshuffled: the first 1400 images train, the next 300 validation,
// the last 265 test. The file's SHA-256 must match SHA256Frey unless
// SkipVerify is set.
func (l Loader) Frey() (*Split, error) {
	path, raw, err := l.readFile(NameFrey, "frey/frey_rawface.mat")
	if err != nil {
		return nil, err
	}
	m, err := ReadMatVar(bytes.NewReader(raw), "ff")
	if err != nil {
		return nil, fmt.Errorf("data: %s: %w", path, err)
	}
	const d, n = FreyHeight * FreyWidth, FreyTrain + FreyVal + FreyTest
	if m.Rows != d || m.Cols != n {
		return nil, fmt.Errorf("data: %s: variable ff is %d x %d, want %d x %d: %w", path, m.Rows, m.Cols, d, n, ErrCorrupt)
	}
	// Column-major 560 x 1965 is row-major 1965 x 560: the transpose is
	// free.
	x := make([]float32, len(m.Data))
	for i, v := range m.Data {
		if !(v >= 0 && v <= 255) {
			return nil, fmt.Errorf("data: %s: ff(%d, %d) = %v outside [0, 255]: %w", path, i%d+1, i/d+1, v, ErrCorrupt)
		}
		x[i] = float32(v / 255)
	}
	all := &Set{X: x, N: n, Shape: []int{1, FreyHeight, FreyWidth}}
	return &Split{
		Train: all.Slice(0, FreyTrain),
		Val:   all.Slice(FreyTrain, FreyTrain+FreyVal),
		Test:  all.Slice(FreyTrain+FreyVal, n),
	}, nil
}
