package data

import (
	"fmt"
	"io"
)

// CIFAR-10 binary format: records of one label byte followed by 3x32x32
// pixel bytes, channel-major (all red, then green, then blue, each row by
// row).
const (
	CIFARSide       = 32
	CIFARRecordSize = 1 + 3*CIFARSide*CIFARSide
)

// cifar10Files are the binary version's batch files under
// <root>/cifar-10-batches-bin/: five training batches, then the test batch.
var cifar10Files = [...]string{
	"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
	"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin",
}

const cifarDir = "cifar-10-batches-bin"

// ReadCIFAR10 reads the records of one CIFAR-10 binary batch file into a
// Set of Shape [3, 32, 32] with values in [0, 1] and labels 0..9. The
// input must hold a whole, non-zero number of 3073-byte records
// (ErrCorrupt otherwise, as for a label above 9).
func ReadCIFAR10(r io.Reader) (*Set, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cifar10: %w", err)
	}
	if err := checkCIFAR(b); err != nil {
		return nil, err
	}
	return decodeCIFAR(b), nil
}

// checkCIFAR checks the size and the labels of a batch file's bytes.
func checkCIFAR(b []byte) error {
	if len(b) == 0 || len(b)%CIFARRecordSize != 0 {
		return fmt.Errorf("cifar10: size %d bytes is not a positive multiple of the %d-byte record: %w", len(b), CIFARRecordSize, ErrCorrupt)
	}
	for r := 0; r < len(b); r += CIFARRecordSize {
		if b[r] > 9 {
			return fmt.Errorf("cifar10: record %d has label %d, want 0..9: %w", r/CIFARRecordSize, b[r], ErrCorrupt)
		}
	}
	return nil
}

// decodeCIFAR decodes the records of batch files that passed checkCIFAR,
// concatenated in order.
func decodeCIFAR(bufs ...[]byte) *Set {
	n := 0
	for _, b := range bufs {
		n += len(b) / CIFARRecordSize
	}
	const d = CIFARRecordSize - 1
	var scale [256]float32
	for i := range scale {
		scale[i] = float32(i) / 255
	}
	s := &Set{X: make([]float32, n*d), N: n, Shape: []int{3, CIFARSide, CIFARSide}, Labels: make([]int, n)}
	k := 0
	for _, b := range bufs {
		for r := 0; r < len(b); r += CIFARRecordSize {
			s.Labels[k] = int(b[r])
			x := s.X[k*d : (k+1)*d]
			for i, v := range b[r+1 : r+CIFARRecordSize] {
				x[i] = scale[v]
			}
			k++
		}
	}
	return s
}

// CIFAR10 loads CIFAR-10 from <root>/cifar-10-batches-bin/: the training
// set is data_batch_1.bin .. data_batch_5.bin concatenated (50,000
// examples), the test set test_batch.bin (10,000); Shape [3, 32, 32],
// values in [0, 1], labels attached, Val nil, no augmentation. The batch
// files have no published per-file checksum and are not verified (a
// download is: the tarball's published MD5 is checked).
func (l Loader) CIFAR10() (*Split, error) {
	read := func(files []string) (*Set, error) {
		var bufs [][]byte
		for _, f := range files {
			path, raw, err := l.readFile(NameCIFAR10, cifarDir+"/"+f)
			if err != nil {
				return nil, err
			}
			if err := checkCIFAR(raw); err != nil {
				return nil, fmt.Errorf("data: %s: %w", path, err)
			}
			bufs = append(bufs, raw)
		}
		return decodeCIFAR(bufs...), nil
	}
	train, err := read(cifar10Files[:5])
	if err != nil {
		return nil, err
	}
	test, err := read(cifar10Files[5:])
	if err != nil {
		return nil, err
	}
	return &Split{Train: train, Test: test}, nil
}
