package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sample() (map[string]Tensor, map[string]string) {
	tensors := map[string]Tensor{
		"layer1.weight": F32([]int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(1)), 0, -0.25}),
		"layer1.bias":   F32([]int{3}, []float32{0.1, 0.2, 0.3}),
		"log_z":         F64(nil, []float64{-1234.5678}),
		"step":          I64([]int{1}, []int64{math.MaxInt64}),
		"empty":         F32([]int{0, 4}, []float32{}),
		"moments.m":     F64([]int{2, 2}, []float64{1e-300, -1e300, math.SmallestNonzeroFloat64, 42}),
	}
	metadata := map[string]string{"format": "pt", "note": "é <&> \"quoted\"\n", "": "empty key"}
	return tensors, metadata
}

// equalTensors compares element bits, so NaNs and signed zeros must survive.
func equalTensors(t *testing.T, got, want map[string]Tensor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Fatalf("tensor %q missing", name)
		}
		if g.DType != w.DType || len(g.Shape) != len(w.Shape) {
			t.Fatalf("tensor %q: got %s %v, want %s %v", name, g.DType, g.Shape, w.DType, w.Shape)
		}
		for i := range w.Shape {
			if g.Shape[i] != w.Shape[i] {
				t.Fatalf("tensor %q: shape %v, want %v", name, g.Shape, w.Shape)
			}
		}
		if len(g.F32) != len(w.F32) || len(g.F64) != len(w.F64) || len(g.I64) != len(w.I64) {
			t.Fatalf("tensor %q: lengths differ", name)
		}
		for i := range w.F32 {
			if math.Float32bits(g.F32[i]) != math.Float32bits(w.F32[i]) {
				t.Fatalf("tensor %q[%d] = %v, want %v", name, i, g.F32[i], w.F32[i])
			}
		}
		for i := range w.F64 {
			if math.Float64bits(g.F64[i]) != math.Float64bits(w.F64[i]) {
				t.Fatalf("tensor %q[%d] = %v, want %v", name, i, g.F64[i], w.F64[i])
			}
		}
		for i := range w.I64 {
			if g.I64[i] != w.I64[i] {
				t.Fatalf("tensor %q[%d] = %v, want %v", name, i, g.I64[i], w.I64[i])
			}
		}
	}
}

func TestRoundTrip(t *testing.T) {
	tensors, metadata := sample()
	tensors["nan"] = F32([]int{2}, []float32{float32(math.NaN()), float32(math.Copysign(0, -1))})
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := Save(path, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	if !reflect.DeepEqual(gotMeta, metadata) {
		t.Fatalf("metadata = %q, want %q", gotMeta, metadata)
	}

	// Write/Read produce and accept the same bytes, and output is
	// deterministic.
	fileBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), fileBytes) {
		t.Fatal("Write and Save produced different bytes")
	}
	got, gotMeta, err = Read(&buf)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	if !reflect.DeepEqual(gotMeta, metadata) {
		t.Fatalf("metadata = %q, want %q", gotMeta, metadata)
	}
	if hlen := binary.LittleEndian.Uint64(fileBytes); (8+hlen)%8 != 0 {
		t.Errorf("byte buffer starts at %d, not 8-byte aligned", 8+hlen)
	}
}

func TestRoundTripLarge(t *testing.T) {
	// Several chunks' worth of data, to exercise the chunked conversion.
	n := 3*chunkSize/4 + 17
	a := make([]float32, n)
	b := make([]float64, n)
	for i := range a {
		a[i] = float32(i) * 0.5
		b[i] = -float64(i) / 3
	}
	tensors := map[string]Tensor{"a": F32([]int{n}, a), "b": F64([]int{1, n}, b)}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := Save(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	got, md, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if md != nil {
		t.Errorf("metadata = %v, want nil", md)
	}
	equalTensors(t, got, tensors)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _, err = Read(f) // size unknown: the growing path
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
}

func TestEmptyCheckpoint(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, "{}      "...)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("got %q, want %q", buf.Bytes(), want)
	}
	tensors, md, err := Read(&buf)
	if err != nil || len(tensors) != 0 || md != nil {
		t.Fatalf("Read = %v, %v, %v", tensors, md, err)
	}
}

// handBuilt is a file assembled byte by byte following the published format
// (https://github.com/huggingface/safetensors, "Format"): what Python's
// safetensors writes for {"a": float32 [1, -2.5], "step": int64 scalar 7}
// with metadata {"format": "pt"}, modulo tensor order.
var handBuilt = concat(
	// N = 144 (141 bytes of JSON + 3 spaces of padding), u64 little-endian.
	[]byte{0x90, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
	[]byte(`{"__metadata__":{"format":"pt"},`+
		`"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},`+
		`"step":{"dtype":"I64","shape":[],"data_offsets":[8,16]}}`+"   "),
	[]byte{0x00, 0x00, 0x80, 0x3f},                         // float32 1.0
	[]byte{0x00, 0x00, 0x20, 0xc0},                         // float32 -2.5
	[]byte{0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, // int64 7
)

func concat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func TestHandBuiltFile(t *testing.T) {
	tensors := map[string]Tensor{
		"a":    F32([]int{2}, []float32{1, -2.5}),
		"step": I64([]int{}, []int64{7}),
	}
	metadata := map[string]string{"format": "pt"}

	// Our writer produces exactly the published layout.
	var buf bytes.Buffer
	if err := Write(&buf, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), handBuilt) {
		t.Fatalf("Write output differs from the hand-built file:\n got %q\nwant %q", buf.Bytes(), handBuilt)
	}

	// And our reader accepts it.
	path := filepath.Join(t.TempDir(), "hand.safetensors")
	if err := os.WriteFile(path, handBuilt, 0o644); err != nil {
		t.Fatal(err)
	}
	got, md, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, tensors)
	if !reflect.DeepEqual(md, metadata) {
		t.Fatalf("metadata = %v", md)
	}
}

// TestForeignLayout reads a file laid out the way other writers may do it:
// no padding, whitespace in the JSON, keys in a different order from the
// data, metadata last.
func TestForeignLayout(t *testing.T) {
	header := "{ \"b\" : {\"shape\": [1, 1], \"data_offsets\": [8, 16], \"dtype\": \"F64\"},\n" +
		" \"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"__metadata__\": {} }"
	data := concat(
		[]byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40}, // float32 1, 2
		[]byte{0, 0, 0, 0, 0, 0, 0xf0, 0xbf},    // float64 -1
	)
	got, md, err := Read(bytes.NewReader(build(header, data)))
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, map[string]Tensor{
		"a": F32([]int{2}, []float32{1, 2}),
		"b": F64([]int{1, 1}, []float64{-1}),
	})
	if len(md) != 0 {
		t.Errorf("metadata = %v, want empty", md)
	}
}

// build assembles a file from a header (not padded) and a byte buffer.
func build(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func withLen(n uint64, rest string) []byte {
	return append(binary.LittleEndian.AppendUint64(nil, n), rest...)
}

const okEntry = `"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`

var corruptCases = []struct {
	name string
	data []byte
	want string // substring of the error, for both Load and Read
}{
	{"empty file", nil, "truncated: 0 bytes"},
	{"short length", []byte{1, 2, 3}, "truncated: 3 bytes"},
	{"header longer than file", withLen(100, `{}`), "header length 100"},
	{"absurd header length", withLen(1<<63, `{}`), "header length 9223372036854775808"},
	{"empty header", build("", nil), "invalid JSON in header"},
	{"not JSON", build("hello", nil), "invalid JSON in header"},
	{"JSON array", build("[]", nil), `invalid JSON in header: expected "{"`},
	{"unterminated", build(`{"a":{"dtype":"F32"`, nil), "invalid JSON"},
	{"JSON garbage after object", build(`{} {}`, nil), "after header object"},
	{"invalid UTF-8", build("{\"\xff\":1}", nil), "not valid UTF-8"},
	{"tensor not object", build(`{"a":[1]}`, nil), `tensor "a"`},
	{"unknown dtype", build(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), `tensor "a": unknown dtype "F33"`},
	{"unsupported dtype", build(`{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}}`, make([]byte, 8)), "unsupported dtype BF16"},
	{"dtype not string", build(`{"a":{"dtype":3,"shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "dtype must be a string"},
	{"missing dtype", build(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "missing field dtype"},
	{"missing shape", build(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, make([]byte, 8)), "missing field shape"},
	{"missing offsets", build(`{"a":{"dtype":"F32","shape":[2]}}`, make([]byte, 8)), "missing field data_offsets"},
	{"unknown field", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, make([]byte, 8)), `unknown field "x"`},
	{"duplicate field", build(`{"a":{"dtype":"F32","dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8)), "duplicate field dtype"},
	{"negative dim", build(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, make([]byte, 8)), "non-negative integers, found -2"},
	{"fractional dim", build(`{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}`, make([]byte, 8)), "non-negative integers, found 2.0"},
	{"huge shape", build(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, make([]byte, 8)), "too large"},
	{"three offsets", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, make([]byte, 8)), "must be [begin, end]"},
	{"offsets reversed", build(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, make([]byte, 8)), "end before they begin"},
	{"shape/bytes mismatch", build(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, make([]byte, 8)), "needs 12 bytes, but data_offsets [0, 8] span 8"},
	{"offsets out of range", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8)), `tensor "a": data_offsets [0, 16] out of range`},
	{"overlap", build(`{`+okEntry+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), `tensors "a" (data_offsets [0, 8]) and "b" (data_offsets [4, 8]) overlap`},
	{"gap", build(`{`+okEntry+`,"b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}`, make([]byte, 16)), "gap in the byte buffer: bytes [8, 12)"},
	{"gap at start", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, make([]byte, 8)), "gap in the byte buffer: bytes [0, 4)"},
	{"truncated data", build(`{`+okEntry+`}`, make([]byte, 5)), "truncated"},
	{"trailing bytes", build(`{`+okEntry+`}`, make([]byte, 9)), "trailing bytes"},
	{"duplicate name", build(`{`+okEntry+`,`+okEntry+`}`, make([]byte, 8)), `duplicate tensor name "a"`},
	{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), "duplicate __metadata__"},
	{"metadata not object", build(`{"__metadata__":[]}`, nil), "__metadata__ must be an object of strings"},
	{"metadata number", build(`{"__metadata__":{"epoch":3}}`, nil), `__metadata__["epoch"] must be a string, found 3`},
	{"metadata duplicate key", build(`{"__metadata__":{"k":"1","k":"2"}}`, nil), `duplicate key "k" in __metadata__`},
}

func TestCorrupt(t *testing.T) {
	dir := t.TempDir()
	for _, c := range corruptCases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.NewReplacer(" ", "_", "/", "_").Replace(c.name)+".safetensors")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := Load(path)
			checkFormatError(t, "Load", err, path, c.want)
			_, _, err = Read(bytes.NewReader(c.data))
			checkFormatError(t, "Read", err, "", c.want)
		})
	}
}

func checkFormatError(t *testing.T, fn string, err error, path, want string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: got error %v, want a *FormatError", fn, err)
	}
	if fe.File != path {
		t.Errorf("%s: FormatError.File = %q, want %q", fn, fe.File, path)
	}
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("%s: error %q does not mention %q and %q", fn, err, want, path)
	}
}

// TestLoadChecksFileSize checks that Load, which knows the file size, names
// the precise cause before reading any data.
func TestLoadChecksFileSize(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"out of range", build(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, make([]byte, 8)),
			`tensor "a": data_offsets [0, 16] out of range: the byte buffer has 8 bytes`},
		{"absurd", withLen(1<<63, "{}"), "header length 9223372036854775808 exceeds the file size (10 bytes)"},
		{"trailing", build(`{`+okEntry+`}`, make([]byte, 11)), "3 trailing bytes after the 8-byte buffer"},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_"))
		if err := os.WriteFile(path, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Load(path)
		checkFormatError(t, "Load", err, path, c.want)
	}
	// A stream with a header length over the limit is rejected before
	// anything is allocated for it.
	_, _, err := Read(bytes.NewReader(withLen(MaxHeaderSize+1, "{}")))
	checkFormatError(t, "Read", err, "", "exceeds the limit")
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.safetensors")
	_, _, err := Load(path)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		t    Tensor
		want string // "" for valid
	}{
		{F32([]int{2, 2}, make([]float32, 4)), ""},
		{F64(nil, []float64{1}), ""},
		{I64([]int{0}, nil), ""},
		{F32([]int{2, 2}, make([]float32, 3)), "needs 4 elements, but F32 holds 3"},
		{Tensor{DType: DTypeF64, Shape: []int{1}, F64: []float64{1}, F32: []float32{1}}, "F32 also holds 1"},
		{Tensor{DType: "F16", Shape: []int{1}}, "unsupported dtype F16"},
		{Tensor{DType: "float", Shape: []int{1}}, `unknown dtype "float"`},
		{F32([]int{-1}, nil), "negative dimension"},
		{F32([]int{1 << 40, 1 << 40}, nil), "too large"},
	} {
		err := c.t.Validate()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("Validate(%s %v) = %v, want %q", c.t.DType, c.t.Shape, err, c.want)
		}
	}
	if n := F32([]int{2, 3, 4}, nil).NumElements(); n != 24 {
		t.Errorf("NumElements = %d, want 24", n)
	}
	if n := F32([]int{-2}, nil).NumElements(); n != -1 {
		t.Errorf("NumElements of a negative shape = %d, want -1", n)
	}
}

// TestConstructorsCopyShape checks that a constructed tensor does not alias
// the caller's shape slice.
func TestConstructorsCopyShape(t *testing.T) {
	shape := []int{2, 3}
	x := F32(shape, make([]float32, 6))
	shape[0] = 7
	if x.Shape[0] != 2 {
		t.Fatal("F32 aliases its shape argument")
	}
}

func TestSaveRejectsInvalidInput(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.safetensors")
	for name, c := range map[string]struct {
		tensors  map[string]Tensor
		metadata map[string]string
		want     string
	}{
		"reserved name":  {map[string]Tensor{MetadataKey: F32(nil, []float32{1})}, nil, "reserved"},
		"bad UTF-8 name": {map[string]Tensor{"\xff": F32(nil, []float32{1})}, nil, "not valid UTF-8"},
		"bad metadata":   {nil, map[string]string{"k": "\xfe"}, "valid UTF-8"},
		"bad tensor":     {map[string]Tensor{"w": F32([]int{3}, []float32{1})}, nil, `tensor "w"`},
	} {
		err := Save(path, c.tensors, c.metadata)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: Save error = %v, want one mentioning %q and the path", name, err, c.want)
		}
		if err := Write(new(bytes.Buffer), c.tensors, c.metadata); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
	}
	assertDirEntries(t, dir)
}

// TestSaveAtomic checks that a failed Save leaves the previous file intact
// and no temporary files behind.
func TestSaveAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ckpt.safetensors")
	tensors, metadata := sample()
	if err := Save(path, tensors, metadata); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	// A tensor whose data does not match its shape fails before the target
	// (or even a temporary file) is touched.
	bad := map[string]Tensor{"w": F32([]int{2, 2}, []float32{1, 2, 3})}
	if err := Save(path, bad, nil); err == nil {
		t.Fatal("Save of a mismatched tensor succeeded")
	}
	cur, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(cur, old) {
		t.Fatal("failed Save modified the existing file")
	}
	assertDirEntries(t, dir, "ckpt.safetensors")

	// A failure after the data is written (rename over a directory) removes
	// the temporary file.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Save(sub, tensors, nil); err == nil {
		t.Fatal("Save over a non-empty directory succeeded")
	}
	assertDirEntries(t, dir, "ckpt.safetensors", "sub")

	// Saving into a missing directory fails cleanly.
	if err := Save(filepath.Join(dir, "missing", "x.safetensors"), tensors, nil); err == nil {
		t.Fatal("Save into a missing directory succeeded")
	}

	// A successful Save replaces the file completely.
	small := map[string]Tensor{"s": I64(nil, []int64{3})}
	if err := Save(path, small, nil); err != nil {
		t.Fatal(err)
	}
	got, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	equalTensors(t, got, small)
	assertDirEntries(t, dir, "ckpt.safetensors", "sub")
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("saved file mode = %v, %v; want 0644", fi.Mode(), err)
	}
}

func assertDirEntries(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("directory holds %v, want %v", got, want)
	}
}

func TestSaveRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := Save("rel.safetensors", map[string]Tensor{"x": F32(nil, []float32{2})}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load("rel.safetensors"); err != nil {
		t.Fatal(err)
	}
}

// FuzzLoad checks that no input makes Load or Read panic, that both agree,
// and that whatever they accept survives a write/read round trip.
func FuzzLoad(f *testing.F) {
	f.Add(handBuilt)
	tensors, metadata := sample()
	var buf bytes.Buffer
	if err := Write(&buf, tensors, metadata); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	for _, c := range corruptCases {
		f.Add(c.data)
	}
	path := filepath.Join(f.TempDir(), "fuzz.safetensors")
	f.Fuzz(func(t *testing.T, data []byte) {
		t1, m1, err1 := Read(bytes.NewReader(data))
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		t2, m2, err2 := Load(path)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Read error %v, Load error %v", err1, err2)
		}
		if err1 != nil {
			var fe *FormatError
			if !errors.As(err1, &fe) || !errors.As(err2, &fe) {
				t.Fatalf("not a FormatError: %v / %v", err1, err2)
			}
			return
		}
		equalTensors(t, t2, t1)
		if !reflect.DeepEqual(m1, m2) {
			t.Fatalf("metadata differs: %q vs %q", m1, m2)
		}
		var out bytes.Buffer
		if err := Write(&out, t1, m1); err != nil {
			t.Fatalf("re-writing accepted data: %v", err)
		}
		t3, m3, err := Read(&out)
		if err != nil {
			t.Fatalf("re-reading: %v", err)
		}
		equalTensors(t, t3, t1)
		if len(m3) != len(m1) {
			t.Fatalf("metadata differs after round trip: %q vs %q", m3, m1)
		}
	})
}
