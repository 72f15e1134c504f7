package checkpoint

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/bism-ml/bism/internal/atomicfile"
)

// FormatError reports malformed safetensors data.
type FormatError struct {
	File   string // the file's path; empty when reading from an io.Reader
	Reason string // what is wrong, e.g. `tensor "w": unknown dtype "F33"`
}

func (e *FormatError) Error() string {
	if e.File == "" {
		return "checkpoint: invalid safetensors data: " + e.Reason
	}
	return "checkpoint: " + e.File + ": invalid safetensors file: " + e.Reason
}

// chunkSize is the size of the buffer tensor data is converted through.
const chunkSize = 1 << 16

// Load reads the safetensors file at path and returns its tensors by name
// and its metadata (nil when the file has none). Malformed files produce a
// *FormatError naming the file and the cause.
func Load(path string) (map[string]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("checkpoint: %w", err)
	}
	defer f.Close()
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return read(f, size, path)
}

// Read reads safetensors data from r until EOF, like [Load]. Data after the
// byte buffer is an error.
func Read(r io.Reader) (map[string]Tensor, map[string]string, error) {
	return read(r, -1, "")
}

// read decodes a safetensors stream. size is the total length of the data
// when known (a regular file) and -1 otherwise; when it is known, the header
// is checked against it before anything else is read and tensors are
// allocated exactly, and when it is not, allocations grow with the data
// actually read so that a lying header cannot cause a huge allocation.
func read(r io.Reader, size int64, file string) (map[string]Tensor, map[string]string, error) {
	bad := func(format string, args ...any) error {
		return &FormatError{File: file, Reason: fmt.Sprintf(format, args...)}
	}
	ioErr := func(err error) error {
		if file == "" {
			return fmt.Errorf("checkpoint: reading safetensors data: %w", err)
		}
		return fmt.Errorf("checkpoint: reading %s: %w", file, err)
	}

	var prefix [8]byte
	if n, err := io.ReadFull(r, prefix[:]); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil, nil, bad("truncated: %d bytes, too short for the 8-byte header length", n)
		}
		return nil, nil, ioErr(err)
	}
	hlen := binary.LittleEndian.Uint64(prefix[:])
	if size >= 8 && hlen > uint64(size-8) {
		return nil, nil, bad("header length %d exceeds the file size (%d bytes)", hlen, size)
	}
	if hlen > MaxHeaderSize {
		return nil, nil, bad("header length %d exceeds the limit of %d bytes", hlen, MaxHeaderSize)
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(hlen)))
	if err != nil {
		return nil, nil, ioErr(err)
	}
	if uint64(len(header)) < hlen {
		return nil, nil, bad("header length %d exceeds the %d bytes that follow (truncated file?)", hlen, len(header))
	}
	entries, metadata, err := parseHeader(header)
	if err != nil {
		return nil, nil, bad("%v", err)
	}

	bufSize := int64(-1)
	if size >= 0 {
		bufSize = size - 8 - int64(hlen)
	}
	if err := checkLayout(entries, bufSize); err != nil {
		return nil, nil, bad("%v", err)
	}

	exact := size >= 0
	chunk := make([]byte, chunkSize)
	tensors := make(map[string]Tensor, len(entries))
	for _, e := range entries { // in offset order after checkLayout
		var t Tensor
		var err error
		switch e.dtype {
		case DTypeF32:
			var d []float32
			d, err = readElems(r, e.n, 4, exact, chunk, func(b []byte) float32 {
				return math.Float32frombits(binary.LittleEndian.Uint32(b))
			})
			t = Tensor{DType: e.dtype, Shape: e.shape, F32: d}
		case DTypeF64:
			var d []float64
			d, err = readElems(r, e.n, 8, exact, chunk, func(b []byte) float64 {
				return math.Float64frombits(binary.LittleEndian.Uint64(b))
			})
			t = Tensor{DType: e.dtype, Shape: e.shape, F64: d}
		case DTypeI64:
			var d []int64
			d, err = readElems(r, e.n, 8, exact, chunk, func(b []byte) int64 {
				return int64(binary.LittleEndian.Uint64(b))
			})
			t = Tensor{DType: e.dtype, Shape: e.shape, I64: d}
		}
		if err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil, nil, bad("tensor %q: data_offsets [%d, %d] out of range: the data ends inside them (truncated file?)", e.name, e.begin, e.end)
			}
			return nil, nil, ioErr(err)
		}
		tensors[e.name] = t
	}
	if n, err := io.ReadFull(r, chunk[:1]); n > 0 {
		total := int64(0)
		if len(entries) > 0 {
			total = entries[len(entries)-1].end
		}
		return nil, nil, bad("trailing bytes after the %d-byte buffer described by the header", total)
	} else if err != io.EOF {
		return nil, nil, ioErr(err)
	}
	return tensors, metadata, nil
}

// readElems reads n elements of the given byte size from r through chunk.
// With exact it allocates all n up front (the caller has checked the data is
// there); otherwise it grows the slice as data arrives.
func readElems[T any](r io.Reader, n, size int, exact bool, chunk []byte, conv func([]byte) T) ([]T, error) {
	perChunk := len(chunk) / size
	var out []T
	if exact {
		out = make([]T, 0, n)
	} else {
		out = make([]T, 0, min(n, perChunk))
	}
	for left := n; left > 0; {
		k := min(left, perChunk)
		b := chunk[:k*size]
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		for i := 0; i < k; i++ {
			out = append(out, conv(b[i*size:]))
		}
		left -= k
	}
	return out, nil
}

// checkLayout sorts entries by offset and checks that they tile the byte
// buffer [0, total) without gaps or overlaps. bufSize is the actual size of
// the buffer when known (else -1); it must equal total.
func checkLayout(entries []entry, bufSize int64) error {
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i], entries[j]
		if a.begin != b.begin {
			return a.begin < b.begin
		}
		return a.end < b.end
	})
	pos := int64(0)
	for i, e := range entries {
		switch {
		case e.begin > pos:
			return fmt.Errorf("gap in the byte buffer: bytes [%d, %d) belong to no tensor (tensor %q begins at %d)", pos, e.begin, e.name, e.begin)
		case e.begin < pos:
			p := entries[i-1]
			return fmt.Errorf("tensors %q (data_offsets [%d, %d]) and %q (data_offsets [%d, %d]) overlap", p.name, p.begin, p.end, e.name, e.begin, e.end)
		}
		if bufSize >= 0 && e.end > bufSize {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] out of range: the byte buffer has %d bytes (truncated file?)", e.name, e.begin, e.end, bufSize)
		}
		pos = e.end
	}
	if bufSize > pos {
		return fmt.Errorf("%d trailing bytes after the %d-byte buffer described by the header", bufSize-pos, pos)
	}
	return nil
}

// Write writes tensors and metadata to w in the safetensors format. Tensors
// are laid out in sorted name order; the output is deterministic. Nothing is
// written unless all tensors are valid (see [Tensor.Validate]).
func Write(w io.Writer, tensors map[string]Tensor, metadata map[string]string) error {
	header, entries, err := plan(tensors, metadata)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	bw := bufio.NewWriterSize(w, chunkSize)
	if err := write(bw, header, entries, tensors); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Save writes tensors and metadata to the file at path, atomically: the data
// goes to a temporary file in the same directory, which is synced, closed and
// renamed over path. On any error path is left untouched and the temporary
// file is removed. All tensors are validated before any file is created.
func Save(path string, tensors map[string]Tensor, metadata map[string]string) (err error) {
	header, entries, err := plan(tensors, metadata)
	if err != nil {
		return fmt.Errorf("checkpoint: saving %s: %w", path, err)
	}
	err = atomicfile.Write(path, func(w io.Writer) error { return write(w, header, entries, tensors) })
	if err != nil {
		return fmt.Errorf("checkpoint: saving %s: %w", path, err)
	}
	return nil
}

// plan validates the inputs and returns the padded header and the tensor
// entries in layout (sorted name) order.
func plan(tensors map[string]Tensor, metadata map[string]string) ([]byte, []entry, error) {
	for _, k := range sortedKeys(metadata) {
		if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
			return nil, nil, fmt.Errorf("metadata %q: key and value must be valid UTF-8", k)
		}
	}
	entries := make([]entry, 0, len(tensors))
	off := int64(0)
	for _, name := range sortedKeys(tensors) {
		t := tensors[name]
		if name == MetadataKey {
			return nil, nil, fmt.Errorf("tensor name %q is reserved", name)
		}
		if !utf8.ValidString(name) {
			return nil, nil, fmt.Errorf("tensor name %q is not valid UTF-8", name)
		}
		if err := t.Validate(); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		n := t.NumElements()
		nbytes := int64(n) * int64(t.DType.Size())
		if off > math.MaxInt64-nbytes {
			return nil, nil, errors.New("tensors too large")
		}
		entries = append(entries, entry{name: name, dtype: t.DType, shape: t.Shape, begin: off, end: off + nbytes, n: n})
		off += nbytes
	}
	header := appendHeader(make([]byte, 8, 256), entries, metadata)
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	binary.LittleEndian.PutUint64(header, uint64(len(header)-8))
	return header, entries, nil
}

// write writes the header (with its length prefix) and the tensor data.
func write(w io.Writer, header []byte, entries []entry, tensors map[string]Tensor) error {
	if _, err := w.Write(header); err != nil {
		return err
	}
	chunk := make([]byte, 0, chunkSize)
	flush := func(need int) error {
		if len(chunk)+need <= cap(chunk) {
			return nil
		}
		_, err := w.Write(chunk)
		chunk = chunk[:0]
		return err
	}
	for _, e := range entries {
		t := tensors[e.name]
		switch t.DType {
		case DTypeF32:
			for _, v := range t.F32 {
				if err := flush(4); err != nil {
					return err
				}
				chunk = binary.LittleEndian.AppendUint32(chunk, math.Float32bits(v))
			}
		case DTypeF64:
			for _, v := range t.F64 {
				if err := flush(8); err != nil {
					return err
				}
				chunk = binary.LittleEndian.AppendUint64(chunk, math.Float64bits(v))
			}
		case DTypeI64:
			for _, v := range t.I64 {
				if err := flush(8); err != nil {
					return err
				}
				chunk = binary.LittleEndian.AppendUint64(chunk, uint64(v))
			}
		}
	}
	_, err := w.Write(chunk)
	return err
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
