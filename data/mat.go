package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Matrix is a real 2-D numeric array read from a MAT-file.
type Matrix struct {
	// Name is the MATLAB variable name.
	Name string
	// Class is the MATLAB class the array was saved with ("double",
	// "single", "uint8", ...). Values of every class are converted to
	// float64 in Data.
	Class string
	// Rows and Cols are the array's dimensions.
	Rows, Cols int
	// Data holds the Rows*Cols values in column-major order, as MATLAB
	// stores them: element (i, j) is Data[j*Rows+i]. Column j is therefore
	// the contiguous slice Data[j*Rows:(j+1)*Rows], and reading Data as a
	// row-major Cols x Rows matrix gives the transpose without a copy.
	Data []float64
}

// At returns element (i, j) (zero-based row i, column j).
func (m *Matrix) At(i, j int) float64 { return m.Data[j*m.Rows+i] }

// MAT-file v5 data types (Level 5 MAT-File Format, table 1-1).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
)

// MATLAB array classes (array flags, low byte).
var matClassNames = [...]string{
	1: "cell", 2: "struct", 3: "object", 4: "char", 5: "sparse",
	6: "double", 7: "single", 8: "int8", 9: "uint8", 10: "int16",
	11: "uint16", 12: "int32", 13: "uint32", 14: "int64", 15: "uint64",
	16: "function handle", 17: "opaque",
}

func matClassName(c uint32) string {
	if int(c) < len(matClassNames) && matClassNames[c] != "" {
		return matClassNames[c]
	}
	return fmt.Sprintf("unknown class %d", c)
}

const (
	matFlagComplex = 0x0800
	matHeaderLen   = 128
)

// ReadMat reads every variable of a Level 5 MAT-file (MATLAB -v6 format
// or earlier -v5 layouts; little- or big-endian). Only real 2-D numeric
// arrays are supported (classes double, single, int8..uint64, and
// logical). Any other content yields an error: compressed elements
// (ErrCompressed, the default of MATLAB's save since v7), complex, cell,
// struct, char, sparse or N-D arrays (ErrUnsupported), a short input
// (ErrTruncated), inconsistent sizes (ErrCorrupt), or a file that is not
// a MAT v5 file at all (ErrFormat). ReadMat never panics, whatever the
// input, and its memory use is bounded by a small multiple of the input
// size.
func ReadMat(r io.Reader) (map[string]*Matrix, error) {
	out := make(map[string]*Matrix)
	err := readMat(r, func(name string) bool { return true }, func(m *Matrix) error {
		if _, dup := out[m.Name]; dup {
			return fmt.Errorf("mat: variable %q appears twice: %w", m.Name, ErrCorrupt)
		}
		out[m.Name] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ReadMatVar reads the variable name from a MAT-file, skipping (without
// checking their class) all other variables. It returns an error wrapping
// ErrNotFound when no variable has that name; other errors are those of
// ReadMat.
func ReadMatVar(r io.Reader, name string) (*Matrix, error) {
	var found *Matrix
	errStop := errors.New("stop")
	err := readMat(r, func(n string) bool { return n == name }, func(m *Matrix) error {
		found = m
		return errStop
	})
	if err != nil && err != errStop {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("mat: variable %q: %w", name, ErrNotFound)
	}
	return found, nil
}

// readMat walks the top-level data elements, decoding the variables whose
// name passes want and handing them to emit.
func readMat(r io.Reader, want func(string) bool, emit func(*Matrix) error) error {
	order, err := readMatHeader(r)
	if err != nil {
		return err
	}
	offset := int64(matHeaderLen)
	var tag [8]byte
	for {
		n, err := io.ReadFull(r, tag[:])
		if err == io.EOF {
			return nil // clean end between elements
		}
		if err != nil {
			if err == io.ErrUnexpectedEOF {
				return fmt.Errorf("mat: data element tag at byte %d: only %d of 8 bytes: %w", offset, n, ErrTruncated)
			}
			return fmt.Errorf("mat: reading data element tag at byte %d: %w", offset, err)
		}
		typ, size := order.Uint32(tag[:4]), order.Uint32(tag[4:])
		if typ>>16 != 0 {
			return fmt.Errorf("mat: packed small data element (type %d) at top level, byte %d: %w", typ&0xffff, offset, ErrCorrupt)
		}
		switch typ {
		case miMATRIX:
		case miCOMPRESSED:
			return fmt.Errorf("mat: data element at byte %d: %w", offset, ErrCompressed)
		default:
			return fmt.Errorf("mat: unexpected top-level data element of type %d at byte %d (want miMATRIX, 14): %w", typ, offset, ErrCorrupt)
		}
		body, err := io.ReadAll(io.LimitReader(r, int64(size)))
		if err != nil {
			return fmt.Errorf("mat: reading miMATRIX element at byte %d: %w", offset, err)
		}
		if int64(len(body)) < int64(size) {
			return fmt.Errorf("mat: miMATRIX element at byte %d announces %d bytes, file ends after %d: %w", offset, size, len(body), ErrTruncated)
		}
		// Top-level elements are padded to 8 bytes; tolerate a missing
		// final pad.
		if pad := padding8(uint64(size)); pad > 0 {
			if _, err := io.CopyN(io.Discard, r, int64(pad)); err != nil && err != io.EOF {
				return fmt.Errorf("mat: reading padding at byte %d: %w", offset+8+int64(size), err)
			}
		}
		m, err := decodeMatrix(body, order, want)
		if err != nil {
			return fmt.Errorf("mat: miMATRIX element at byte %d: %w", offset, err)
		}
		if m != nil {
			if err := emit(m); err != nil {
				return err
			}
		}
		offset += 8 + int64(size) + int64(padding8(uint64(size)))
	}
}

// readMatHeader checks the 128-byte header and returns the file's byte
// order.
func readMatHeader(r io.Reader) (binary.ByteOrder, error) {
	var h [matHeaderLen]byte
	n, err := io.ReadFull(r, h[:])
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			if n > 0 && bytes.HasPrefix([]byte("MATLAB"), h[:min(n, 6)]) {
				return nil, fmt.Errorf("mat: header has only %d of %d bytes: %w", n, matHeaderLen, ErrTruncated)
			}
			return nil, fmt.Errorf("mat: not a MAT v5 file (only %d bytes, shorter than the 128-byte header): %w", n, ErrFormat)
		}
		return nil, fmt.Errorf("mat: reading header: %w", err)
	}
	if bytes.HasPrefix(h[:], []byte("MATLAB 7.3 MAT-file")) {
		return nil, fmt.Errorf("mat: MATLAB v7.3 (HDF5) files are not supported; re-save with save(..., '-v6'): %w", ErrUnsupported)
	}
	var order binary.ByteOrder
	switch string(h[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("mat: not a MAT v5 file (endian indicator %q, want \"IM\" or \"MI\"): %w", h[126:128], ErrFormat)
	}
	if v := order.Uint16(h[124:126]); v != 0x0100 {
		return nil, fmt.Errorf("mat: not a MAT v5 file (version 0x%04x, want 0x0100): %w", v, ErrFormat)
	}
	return order, nil
}

func padding8(n uint64) uint64 { return (8 - n%8) % 8 }

// element is one decoded data element tag and its payload.
type element struct {
	typ  uint32
	data []byte
}

// subElements iterates over the data elements packed in buf.
type subElements struct {
	buf   []byte
	order binary.ByteOrder
}

func (s *subElements) next(what string) (element, error) {
	if len(s.buf) < 8 {
		return element{}, fmt.Errorf("%s: element ends %d bytes into an 8-byte tag: %w", what, len(s.buf), ErrCorrupt)
	}
	first := s.order.Uint32(s.buf)
	if nb := first >> 16; nb != 0 {
		// Small data element: 2-byte count, 2-byte type, up to 4 data
		// bytes, all within 8 bytes.
		if nb > 4 {
			return element{}, fmt.Errorf("%s: small data element claims %d bytes (max 4): %w", what, nb, ErrCorrupt)
		}
		e := element{typ: first & 0xffff, data: s.buf[4 : 4+nb]}
		s.buf = s.buf[8:]
		return e, nil
	}
	size := uint64(s.order.Uint32(s.buf[4:]))
	rest := uint64(len(s.buf) - 8)
	if size > rest {
		return element{}, fmt.Errorf("%s: announces %d bytes, only %d left in the enclosing miMATRIX: %w", what, size, rest, ErrCorrupt)
	}
	e := element{typ: first, data: s.buf[8 : 8+size]}
	skip := min(size+padding8(size), rest)
	s.buf = s.buf[8+skip:]
	return e, nil
}

// decodeMatrix decodes the contents of a miMATRIX element. It returns
// nil, nil for a variable whose name want rejects.
func decodeMatrix(body []byte, order binary.ByteOrder, want func(string) bool) (*Matrix, error) {
	if len(body) == 0 {
		return nil, nil // an empty miMATRIX is legal and holds nothing
	}
	s := &subElements{buf: body, order: order}

	flags, err := s.next("array flags")
	if err != nil {
		return nil, err
	}
	if flags.typ != miUINT32 || len(flags.data) != 8 {
		return nil, fmt.Errorf("array flags: got type %d with %d bytes, want miUINT32 with 8: %w", flags.typ, len(flags.data), ErrCorrupt)
	}
	fw := order.Uint32(flags.data)
	class := fw & 0xff

	dimsEl, err := s.next("dimensions")
	if err != nil {
		return nil, err
	}
	if dimsEl.typ != miINT32 || len(dimsEl.data)%4 != 0 || len(dimsEl.data) < 8 {
		return nil, fmt.Errorf("dimensions: got type %d with %d bytes, want miINT32 with at least 2 values: %w", dimsEl.typ, len(dimsEl.data), ErrCorrupt)
	}
	dims := make([]int64, len(dimsEl.data)/4)
	for i := range dims {
		dims[i] = int64(int32(order.Uint32(dimsEl.data[4*i:])))
		if dims[i] < 0 {
			return nil, fmt.Errorf("dimensions: negative dimension %d: %w", dims[i], ErrCorrupt)
		}
	}

	nameEl, err := s.next("array name")
	if err != nil {
		return nil, err
	}
	if nameEl.typ != miINT8 && nameEl.typ != miUINT8 && nameEl.typ != miUTF8 {
		return nil, fmt.Errorf("array name: got type %d, want miINT8: %w", nameEl.typ, ErrCorrupt)
	}
	name := string(nameEl.data)
	if !want(name) {
		return nil, nil
	}

	if class < 6 || class > 15 {
		return nil, fmt.Errorf("variable %q has class %s; only real numeric matrices are supported: %w", name, matClassName(class), ErrUnsupported)
	}
	if fw&matFlagComplex != 0 {
		return nil, fmt.Errorf("variable %q is a complex %s array; only real matrices are supported: %w", name, matClassName(class), ErrUnsupported)
	}
	if len(dims) != 2 {
		return nil, fmt.Errorf("variable %q has %d dimensions %v; only 2-D matrices are supported: %w", name, len(dims), dims, ErrUnsupported)
	}
	count := dims[0] * dims[1] // < 2^62: no overflow

	re, err := s.next(fmt.Sprintf("variable %q real part", name))
	if err != nil {
		return nil, err
	}
	size := miSize(re.typ)
	if size == 0 {
		return nil, fmt.Errorf("variable %q: real part has non-numeric data type %d: %w", name, re.typ, ErrCorrupt)
	}
	if len(re.data)%size != 0 || int64(len(re.data)/size) != count {
		return nil, fmt.Errorf("variable %q: dimensions %d x %d need %d values, real part holds %d bytes of %d-byte values: %w",
			name, dims[0], dims[1], count, len(re.data), size, ErrCorrupt)
	}
	return &Matrix{
		Name:  name,
		Class: matClassName(class),
		Rows:  int(dims[0]),
		Cols:  int(dims[1]),
		Data:  decodeNumeric(re.typ, re.data, order),
	}, nil
}

// miSize returns the byte size of a numeric MAT data type, 0 otherwise.
func miSize(t uint32) int {
	switch t {
	case miINT8, miUINT8:
		return 1
	case miINT16, miUINT16:
		return 2
	case miINT32, miUINT32, miSINGLE:
		return 4
	case miDOUBLE, miINT64, miUINT64:
		return 8
	}
	return 0
}

// decodeNumeric converts raw values of numeric type t to float64.
func decodeNumeric(t uint32, b []byte, order binary.ByteOrder) []float64 {
	out := make([]float64, len(b)/miSize(t))
	switch t {
	case miINT8:
		for i := range out {
			out[i] = float64(int8(b[i]))
		}
	case miUINT8:
		for i := range out {
			out[i] = float64(b[i])
		}
	case miINT16:
		for i := range out {
			out[i] = float64(int16(order.Uint16(b[2*i:])))
		}
	case miUINT16:
		for i := range out {
			out[i] = float64(order.Uint16(b[2*i:]))
		}
	case miINT32:
		for i := range out {
			out[i] = float64(int32(order.Uint32(b[4*i:])))
		}
	case miUINT32:
		for i := range out {
			out[i] = float64(order.Uint32(b[4*i:]))
		}
	case miSINGLE:
		for i := range out {
			out[i] = float64(math.Float32frombits(order.Uint32(b[4*i:])))
		}
	case miDOUBLE:
		for i := range out {
			out[i] = math.Float64frombits(order.Uint64(b[8*i:]))
		}
	case miINT64:
		for i := range out {
			out[i] = float64(int64(order.Uint64(b[8*i:])))
		}
	case miUINT64:
		for i := range out {
			out[i] = float64(order.Uint64(b[8*i:]))
		}
	}
	return out
}
