package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// IDX magic numbers of MNIST-style files (unsigned byte data).
const (
	IDXMagicImages = 0x00000803 // ubyte, 3 dimensions: count, rows, cols
	IDXMagicLabels = 0x00000801 // ubyte, 1 dimension: count
)

// MNIST geometry: 28x28 images zero-padded by 2 on every side to 32x32.
const (
	mnistSide  = 28
	mnistPad   = 2
	MNISTSide  = mnistSide + 2*mnistPad
	maxIDXSize = 1 << 40
)

// IDX is the contents of an IDX file of unsigned bytes.
type IDX struct {
	// Magic is the file's magic number (0x00000800 | number of dims).
	Magic uint32
	// Dims are the dimensions, outermost first.
	Dims []int
	// Data holds the product of Dims bytes, row-major.
	Data []byte
}

// ReadIDX reads an IDX file of unsigned bytes (magic 0x000008nn, big-endian
// dimensions), gzip-compressed or not (detected from the first bytes). It
// returns errors wrapping ErrFormat (not an IDX file), ErrUnsupported (a
// data type other than unsigned byte), ErrTruncated (fewer bytes than the
// dimensions need) or ErrCorrupt (trailing bytes, bad gzip data or
// checksum).
func ReadIDX(r io.Reader) (*IDX, error) {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if head, _ := br.Peek(2); isGzip(head) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("idx: %w", gzipErr(err))
		}
		src = zr
	}
	var h [4]byte
	if _, err := io.ReadFull(src, h[:]); err != nil {
		return nil, fmt.Errorf("idx: reading magic number: %w", readErr(err))
	}
	magic := binary.BigEndian.Uint32(h[:])
	if h[0] != 0 || h[1] != 0 || h[3] == 0 {
		return nil, fmt.Errorf("idx: not an IDX file (magic number 0x%08x, want 0x000008nn): %w", magic, ErrFormat)
	}
	if h[2] != 0x08 {
		return nil, fmt.Errorf("idx: magic number 0x%08x: data type 0x%02x not supported (only unsigned byte, 0x08): %w", magic, h[2], ErrUnsupported)
	}
	dimBytes := make([]byte, 4*int(h[3]))
	if _, err := io.ReadFull(src, dimBytes); err != nil {
		return nil, fmt.Errorf("idx: reading %d dimensions: %w", h[3], readErr(err))
	}
	dims := make([]int, h[3])
	total := int64(1)
	for i := range dims {
		d := int64(binary.BigEndian.Uint32(dimBytes[4*i:]))
		if d > 0 && total > min(maxIDXSize, math.MaxInt)/d {
			return nil, fmt.Errorf("idx: dimensions %v too large: %w", dimsPrefix(dimBytes, i+1), ErrCorrupt)
		}
		total *= d
		dims[i] = int(d)
	}
	payload, err := io.ReadAll(io.LimitReader(src, total))
	if err != nil {
		return nil, fmt.Errorf("idx: reading %d data bytes: %w", total, readErr(err))
	}
	if int64(len(payload)) < total {
		return nil, fmt.Errorf("idx: dimensions %v need %d data bytes, got %d: %w", dims, total, len(payload), ErrTruncated)
	}
	// Read on to the end: this detects trailing bytes and makes the gzip
	// reader check its CRC.
	var one [1]byte
	n, err := io.ReadFull(src, one[:])
	if n > 0 {
		return nil, fmt.Errorf("idx: trailing data after the %d bytes of dimensions %v: %w", total, dims, ErrCorrupt)
	}
	if err != io.EOF {
		return nil, fmt.Errorf("idx: after the data: %w", readErr(err))
	}
	return &IDX{Magic: magic, Dims: dims, Data: payload}, nil
}

func dimsPrefix(b []byte, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = binary.BigEndian.Uint32(b[4*i:])
	}
	return out
}

// readErr classifies an error met while reading an IDX stream.
func readErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("unexpected end of data: %w", ErrTruncated)
	}
	return gzipErr(err)
}

// gzipErr wraps a gzip or flate error as ErrCorrupt.
func gzipErr(err error) error {
	return fmt.Errorf("gzip: %w: %w", ErrCorrupt, err)
}

// MNISTSet converts MNIST-style image and label IDX files into a Set: the
// 28x28 images are scaled to [0, 1] and zero-padded by 2 pixels on every
// side to Shape [1, 32, 32]; the labels (0..9) are attached. labels may be
// nil for a set without labels.
func MNISTSet(images, labels *IDX) (*Set, error) {
	if images.Magic != IDXMagicImages || len(images.Dims) != 3 {
		return nil, fmt.Errorf("idx: images have magic number 0x%08x, want 0x%08x: %w", images.Magic, IDXMagicImages, ErrFormat)
	}
	n := images.Dims[0]
	if images.Dims[1] != mnistSide || images.Dims[2] != mnistSide {
		return nil, fmt.Errorf("idx: images are %dx%d, want %dx%d: %w", images.Dims[1], images.Dims[2], mnistSide, mnistSide, ErrCorrupt)
	}
	if len(images.Data) != n*mnistSide*mnistSide {
		return nil, fmt.Errorf("idx: %d image bytes for %d images: %w", len(images.Data), n, ErrCorrupt)
	}
	var lab []int
	if labels != nil {
		if labels.Magic != IDXMagicLabels || len(labels.Dims) != 1 {
			return nil, fmt.Errorf("idx: labels have magic number 0x%08x, want 0x%08x: %w", labels.Magic, IDXMagicLabels, ErrFormat)
		}
		if labels.Dims[0] != n || len(labels.Data) != n {
			return nil, fmt.Errorf("idx: %d images but %d labels: %w", n, labels.Dims[0], ErrCorrupt)
		}
		lab = make([]int, n)
		for i, v := range labels.Data {
			if v > 9 {
				return nil, fmt.Errorf("idx: label %d of example %d is out of range 0..9: %w", v, i, ErrCorrupt)
			}
			lab[i] = int(v)
		}
	}
	var scale [256]float32
	for i := range scale {
		scale[i] = float32(i) / 255
	}
	const d = MNISTSide * MNISTSide
	x := make([]float32, n*d)
	for k := range n {
		src := images.Data[k*mnistSide*mnistSide:]
		dst := x[k*d:]
		for i := range mnistSide {
			row := dst[(i+mnistPad)*MNISTSide+mnistPad:]
			for j, v := range src[i*mnistSide : (i+1)*mnistSide] {
				row[j] = scale[v]
			}
		}
	}
	return &Set{X: x, N: n, Shape: []int{1, MNISTSide, MNISTSide}, Labels: lab}, nil
}

// MNIST loads MNIST from <root>/mnist/: train-images-idx3-ubyte.gz,
// train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and
// t10k-labels-idx1-ubyte.gz (or the same names without .gz,
// uncompressed). Images are scaled to [0, 1] and zero-padded to 32x32
// (Shape [1, 32, 32]) with labels attached; 60,000 train and 10,000 test
// examples, Val nil. The files must match their known SHA-256 (of the
// .gz file or of the uncompressed contents) unless SkipVerify is set.
func (l Loader) MNIST() (*Split, error) { return l.mnistLike(NameMNIST) }

// FashionMNIST loads Fashion-MNIST from <root>/fashion-mnist/ with the
// same file names and conversion as MNIST.
func (l Loader) FashionMNIST() (*Split, error) { return l.mnistLike(NameFashionMNIST) }

var mnistFiles = [...]string{
	"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
	"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
}

func (l Loader) mnistLike(name string) (*Split, error) {
	wantMagic := [2]uint32{IDXMagicImages, IDXMagicLabels}
	var sets [2]*Set
	for k, part := range [2]string{"train", "test"} {
		var idx [2]*IDX
		for j := range idx {
			rel := name + "/" + mnistFiles[2*k+j]
			path, raw, err := l.readFile(name, rel, trimGz(rel))
			if err != nil {
				return nil, err
			}
			if idx[j], err = ReadIDX(bytes.NewReader(raw)); err != nil {
				return nil, fmt.Errorf("data: %s: %w", path, err)
			}
			if idx[j].Magic != wantMagic[j] {
				return nil, fmt.Errorf("data: %s: IDX magic number 0x%08x, want 0x%08x: %w", path, idx[j].Magic, wantMagic[j], ErrFormat)
			}
		}
		s, err := MNISTSet(idx[0], idx[1])
		if err != nil {
			return nil, fmt.Errorf("data: %s %s set: %w", name, part, err)
		}
		sets[k] = s
	}
	return &Split{Train: sets[0], Test: sets[1]}, nil
}
