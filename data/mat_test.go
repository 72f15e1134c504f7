package data

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadMatSmall(t *testing.T) {
	vars, err := ReadMat(bytes.NewReader(smallMat()))
	if err != nil {
		t.Fatal(err)
	}
	m := vars["x"]
	if len(vars) != 1 || m == nil {
		t.Fatalf("variables %v", vars)
	}
	if m.Rows != 2 || m.Cols != 3 || m.Class != "uint8" || !slices.Equal(m.Data, []float64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("got %+v", m)
	}
	if m.At(1, 0) != 2 || m.At(0, 2) != 5 {
		t.Errorf("At is not column-major: At(1,0)=%v At(0,2)=%v", m.At(1, 0), m.At(0, 2))
	}
}

// TestReadMatTypes covers every numeric storage type, both byte orders and
// long (non-packed) names.
func TestReadMatTypes(t *testing.T) {
	want := []float64{-1.5, 0, 2, 100}
	enc := func(bo binary.ByteOrder, typ uint32, vals []float64) []byte {
		order := bo.(binary.AppendByteOrder)
		var b []byte
		for _, v := range vals {
			switch typ {
			case miINT8:
				b = append(b, byte(int8(v)))
			case miUINT8:
				b = append(b, byte(v))
			case miINT16, miUINT16:
				b = order.AppendUint16(b, uint16(int16(v)))
			case miINT32, miUINT32:
				b = order.AppendUint32(b, uint32(int32(v)))
			case miSINGLE:
				b = order.AppendUint32(b, math.Float32bits(float32(v)))
			case miDOUBLE:
				b = order.AppendUint64(b, math.Float64bits(v))
			case miINT64, miUINT64:
				b = order.AppendUint64(b, uint64(int64(v)))
			}
		}
		return b
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, c := range []struct {
			typ, class uint32
			signed     bool
			frac       bool
		}{
			{miDOUBLE, 6, true, true}, {miSINGLE, 7, true, true},
			{miINT8, 6, true, false}, {miUINT8, 9, false, false},
			{miINT16, 10, true, false}, {miUINT16, 11, false, false},
			{miINT32, 12, true, false}, {miUINT32, 13, false, false},
			{miINT64, 14, true, false}, {miUINT64, 15, false, false},
		} {
			vals := slices.Clone(want)
			if !c.frac {
				vals[0] = -1
			}
			if !c.signed {
				vals[0] = 1
			}
			file := buildMat(order,
				matVar{name: "a_long_variable_name", class: c.class, dims: []int32{2, 2}, typ: c.typ, data: enc(order, c.typ, vals)},
				matVar{name: "b", class: 6, dims: []int32{1, 1}, typ: miDOUBLE, data: enc(order, miDOUBLE, []float64{7})})
			vars, err := ReadMat(bytes.NewReader(file))
			if err != nil {
				t.Fatalf("%v type %d: %v", order, c.typ, err)
			}
			if got := vars["a_long_variable_name"]; got == nil || !slices.Equal(got.Data, vals) {
				t.Errorf("%v type %d: got %+v, want %v", order, c.typ, got, vals)
			}
			if b := vars["b"]; b == nil || b.Data[0] != 7 || b.Class != "double" {
				t.Errorf("%v type %d: second variable %+v", order, c.typ, b)
			}
		}
	}
}

func TestReadMatVar(t *testing.T) {
	cell := matVar{name: "c", class: 1, dims: []int32{1, 1}, typ: miUINT8, data: []byte{0}}
	x := matVar{name: "x", class: 9, dims: []int32{1, 2}, typ: miUINT8, data: []byte{3, 4}}
	file := buildMat(binary.LittleEndian, cell, x)
	m, err := ReadMatVar(bytes.NewReader(file), "x")
	if err != nil || !slices.Equal(m.Data, []float64{3, 4}) {
		t.Fatalf("ReadMatVar skipping a cell array: %+v, %v", m, err)
	}
	if _, err := ReadMat(bytes.NewReader(file)); !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "cell") {
		t.Errorf("ReadMat with a cell array: %v, want ErrUnsupported naming the class", err)
	}
	if _, err := ReadMatVar(bytes.NewReader(file), "nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing variable: %v, want ErrNotFound naming it", err)
	}
	dup := buildMat(binary.LittleEndian, x, x)
	if _, err := ReadMat(bytes.NewReader(dup)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("duplicate variable: %v, want ErrCorrupt", err)
	}
}

func TestReadMatErrors(t *testing.T) {
	le := binary.LittleEndian
	good := smallMat()
	patch := func(off int, b ...byte) []byte {
		c := slices.Clone(good)
		copy(c[off:], b)
		return c
	}
	v73 := slices.Clone(good)
	copy(v73, "MATLAB 7.3 MAT-file")
	cases := []struct {
		name string
		file []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrFormat, "not a MAT v5"},
		{"text", []byte(strings.Repeat("hello world ", 20)), ErrFormat, "endian indicator"},
		{"short header", good[:60], ErrTruncated, "header"},
		{"bad endian indicator", patch(126, 'X', 'Y'), ErrFormat, "endian"},
		{"bad version", patch(124, 0, 2), ErrFormat, "version"},
		{"v7.3", v73, ErrUnsupported, "HDF5"},
		{"compressed", patch(128, miCOMPRESSED), ErrCompressed, "-v6"},
		{"unknown top-level type", patch(128, miDOUBLE), ErrCorrupt, "top-level"},
		{"packed top-level", patch(130, 4), ErrCorrupt, "small"},
		{"body too long", patch(132, 0xff, 0xff, 0, 0), ErrTruncated, "announces"},
		{"flags wrong type", patch(136, miINT8), ErrCorrupt, "array flags"},
		{"complex", buildMat(le, matVar{name: "x", class: 6, flags: matFlagComplex, dims: []int32{1, 1}, typ: miDOUBLE, data: make([]byte, 8)}), ErrUnsupported, "complex"},
		{"struct", buildMat(le, matVar{name: "x", class: 2, dims: []int32{1, 1}, typ: miUINT8, data: []byte{0}}), ErrUnsupported, "struct"},
		{"char", buildMat(le, matVar{name: "x", class: 4, dims: []int32{1, 1}, typ: miUINT8, data: []byte{0}}), ErrUnsupported, "char"},
		{"sparse", buildMat(le, matVar{name: "x", class: 5, dims: []int32{1, 1}, typ: miUINT8, data: []byte{0}}), ErrUnsupported, "sparse"},
		{"3-D", buildMat(le, matVar{name: "x", class: 9, dims: []int32{1, 1, 2}, typ: miUINT8, data: []byte{0, 1}}), ErrUnsupported, "2-D"},
		{"negative dim", buildMat(le, matVar{name: "x", class: 9, dims: []int32{-1, 1}, typ: miUINT8, data: []byte{0}}), ErrCorrupt, "negative"},
		{"count mismatch", buildMat(le, matVar{name: "x", class: 9, dims: []int32{2, 2}, typ: miUINT8, data: []byte{0, 1, 2}}), ErrCorrupt, "need 4 values"},
		{"partial value", buildMat(le, matVar{name: "x", class: 6, dims: []int32{1, 1}, typ: miDOUBLE, data: make([]byte, 7)}), ErrCorrupt, "need 1 values"},
		{"non-numeric data", buildMat(le, matVar{name: "x", class: 6, dims: []int32{1, 1}, typ: miMATRIX, data: make([]byte, 8)}), ErrCorrupt, "non-numeric"},
	}
	for _, c := range cases {
		m, err := ReadMat(bytes.NewReader(c.file))
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, %v; want %v mentioning %q", c.name, m, err, c.want, c.msg)
		}
	}
	if !errors.Is(ErrCompressed, ErrUnsupported) {
		t.Error("ErrCompressed should wrap ErrUnsupported")
	}
}

// TestReadMatTruncated cuts a valid file at every offset: the result is
// an error, except at the clean end of the header (no variables).
func TestReadMatTruncated(t *testing.T) {
	good := buildMat(binary.BigEndian,
		matVar{name: "x", class: 9, dims: []int32{2, 3}, typ: miUINT8, data: []byte{1, 2, 3, 4, 5, 6}},
		matVar{name: "longer_name", class: 6, dims: []int32{1, 1}, typ: miDOUBLE, data: make([]byte, 8)})
	first := 128 + 8 + int(binary.BigEndian.Uint32(good[132:]))
	for cut := range len(good) {
		vars, err := ReadMat(bytes.NewReader(good[:cut]))
		switch {
		case cut == 128 || cut == first:
			if err != nil {
				t.Errorf("cut at element boundary %d: %v", cut, err)
			}
		case err == nil:
			t.Errorf("cut at %d of %d: no error, %d variables", cut, len(good), len(vars))
		case !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrFormat):
			t.Errorf("cut at %d: %v, want ErrTruncated", cut, err)
		}
		if _, err := ReadMatVar(bytes.NewReader(good[:cut]), "longer_name"); err == nil {
			t.Errorf("ReadMatVar cut at %d: no error", cut)
		}
	}
}

// TestReadMatFrey reads the real file and corrupt copies of it.
func TestReadMatFrey(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataRoot(t), "frey", "frey_rawface.mat"))
	if err != nil {
		t.Fatal(err)
	}
	vars, err := ReadMat(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	ff := vars["ff"]
	if len(vars) != 1 || ff == nil || ff.Rows != 560 || ff.Cols != 1965 || ff.Class != "uint8" {
		t.Fatalf("got %d variables, ff = %v x %v", len(vars), ff.Rows, ff.Cols)
	}
	lo, hi := slices.Min(ff.Data), slices.Max(ff.Data)
	if lo < 0 || hi > 255 || hi < 200 {
		t.Errorf("values in [%v, %v]", lo, hi)
	}

	for _, cut := range []int{0, 1, 19, 127, 129, 131, 135, 136, 150, 176, 184, 1000, len(raw) / 2, len(raw) - 1} {
		if _, err := ReadMat(bytes.NewReader(raw[:cut])); err == nil {
			t.Errorf("cut at %d: no error", cut)
		}
	}
	patch := func(off int, b ...byte) []byte {
		c := slices.Clone(raw)
		copy(c[off:], b)
		return c
	}
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"magic", patch(0, []byte("MATLAB 7.3 MAT-file")...), ErrUnsupported},
		{"endian", patch(126, 'M', 'M'), ErrFormat},
		{"compressed", patch(128, miCOMPRESSED), ErrCompressed},
		{"cell class", patch(0x90, 1), ErrUnsupported},
		{"complex", patch(0x91, 0x08), ErrUnsupported},
		{"dims", patch(0xa0, 0x31), ErrCorrupt},
		{"data size", patch(0xb4, 0x60), ErrCorrupt},
	} {
		if _, err := ReadMatVar(bytes.NewReader(c.file), "ff"); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzReadMat(f *testing.F) {
	f.Add(smallMat())
	f.Add(buildMat(binary.BigEndian, matVar{name: "longname", class: 6, dims: []int32{1, 2}, typ: miDOUBLE, data: make([]byte, 16)}))
	f.Add(buildMat(binary.LittleEndian, matVar{name: "c", class: 1, dims: []int32{1, 1}, typ: miUINT8, data: []byte{0}},
		matVar{name: "s", class: 7, dims: []int32{1, 1}, typ: miSINGLE, data: make([]byte, 4)}))
	c := smallMat()
	c[128] = miCOMPRESSED
	f.Add(c)
	f.Fuzz(func(t *testing.T, b []byte) {
		vars, err := ReadMat(bytes.NewReader(b))
		if err == nil {
			for name, m := range vars {
				if m.Name != name || m.Rows < 0 || m.Cols < 0 || len(m.Data) != m.Rows*m.Cols {
					t.Fatalf("inconsistent matrix %q: %d x %d with %d values", name, m.Rows, m.Cols, len(m.Data))
				}
			}
		}
		if m, err := ReadMatVar(bytes.NewReader(b), "x"); err == nil && len(m.Data) != m.Rows*m.Cols {
			t.Fatalf("inconsistent matrix: %d x %d with %d values", m.Rows, m.Cols, len(m.Data))
		}
	})
}
