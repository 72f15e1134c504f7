package data

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// dataRoot returns the data root (Dir("")) when it holds Frey face and
// MNIST. Without them the test is skipped with one line saying how to get
// them, or fails when $BISM_REQUIRE_DATA is set, as in CI. (It mirrors
// internal/datatest.Root, which this package's tests cannot import.)
func dataRoot(t *testing.T) string {
	t.Helper()
	root := Dir("")
	for _, n := range []string{NameFrey, NameMNIST} {
		if err := Missing(root, n); err != nil {
			if os.Getenv("BISM_REQUIRE_DATA") != "" {
				t.Fatalf("%v ($BISM_REQUIRE_DATA is set)", err)
			}
			t.Skip(err)
		}
	}
	return root
}

// matVar describes one variable for buildMat.
type matVar struct {
	name  string
	class uint32 // array class; flags go in the byte above
	flags uint32 // e.g. matFlagComplex
	dims  []int32
	typ   uint32 // data type of the real part
	data  []byte // raw real part, already in the file's byte order
}

// buildMat encodes a Level 5 MAT-file in the given byte order. Names of up
// to 4 bytes use the small data element form, as MATLAB does.
func buildMat(order binary.ByteOrder, vars ...matVar) []byte {
	var out bytes.Buffer
	hdr := make([]byte, 128)
	copy(hdr, "MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: bism tests")
	for i := len("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created by: bism tests"); i < 116; i++ {
		hdr[i] = ' '
	}
	order.PutUint16(hdr[124:], 0x0100)
	if order == binary.ByteOrder(binary.LittleEndian) {
		copy(hdr[126:], "IM")
	} else {
		copy(hdr[126:], "MI")
	}
	out.Write(hdr)
	u32 := func(b *bytes.Buffer, v uint32) {
		var w [4]byte
		order.PutUint32(w[:], v)
		b.Write(w[:])
	}
	elem := func(b *bytes.Buffer, typ uint32, data []byte) {
		u32(b, typ)
		u32(b, uint32(len(data)))
		b.Write(data)
		b.Write(make([]byte, padding8(uint64(len(data)))))
	}
	for _, v := range vars {
		var body bytes.Buffer
		flags := make([]byte, 8)
		order.PutUint32(flags, v.class|v.flags)
		elem(&body, miUINT32, flags)
		dims := make([]byte, 4*len(v.dims))
		for i, d := range v.dims {
			order.PutUint32(dims[4*i:], uint32(d))
		}
		elem(&body, miINT32, dims)
		if len(v.name) <= 4 && len(v.name) > 0 {
			u32(&body, uint32(len(v.name))<<16|miINT8)
			var w [4]byte
			copy(w[:], v.name)
			body.Write(w[:])
		} else {
			elem(&body, miINT8, []byte(v.name))
		}
		elem(&body, v.typ, v.data)
		elem(&out, miMATRIX, body.Bytes())
	}
	return out.Bytes()
}

// smallMat is a valid little-endian file with one uint8 2x3 variable "x"
// holding 1..6 in column-major order.
func smallMat() []byte {
	return buildMat(binary.LittleEndian, matVar{name: "x", class: 9, dims: []int32{2, 3}, typ: miUINT8, data: []byte{1, 2, 3, 4, 5, 6}})
}

// idxBytes encodes an IDX file of unsigned bytes, gzip'ed if gz.
func idxBytes(magic uint32, dims []uint32, data []byte, gz bool) []byte {
	var raw bytes.Buffer
	binary.Write(&raw, binary.BigEndian, magic)
	binary.Write(&raw, binary.BigEndian, dims)
	raw.Write(data)
	if !gz {
		return raw.Bytes()
	}
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(raw.Bytes())
	zw.Close()
	return out.Bytes()
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
