package data

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadIDX(t *testing.T) {
	data := []byte{1, 2, 3, 4, 5, 6}
	for _, gz := range []bool{false, true} {
		m, err := ReadIDX(bytes.NewReader(idxBytes(0x00000803, []uint32{1, 2, 3}, data, gz)))
		if err != nil {
			t.Fatalf("gz %v: %v", gz, err)
		}
		if m.Magic != IDXMagicImages || !slices.Equal(m.Dims, []int{1, 2, 3}) || !slices.Equal(m.Data, data) {
			t.Errorf("gz %v: got %+v", gz, m)
		}
	}
}

func TestReadIDXErrors(t *testing.T) {
	good := idxBytes(IDXMagicLabels, []uint32{4}, []byte{1, 2, 3, 4}, false)
	goodGz := idxBytes(IDXMagicLabels, []uint32{4000}, bytes.Repeat([]byte{1, 2, 3, 4}, 1000), true)
	badCRC := slices.Clone(goodGz)
	badCRC[len(badCRC)-6] ^= 0xff
	badDeflate := slices.Clone(goodGz)
	badDeflate[12] ^= 0xff
	badLen := slices.Clone(goodGz)
	badLen[len(badLen)-2] ^= 0xff
	for _, c := range []struct {
		name string
		file []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrTruncated, "magic"},
		{"wrong magic", idxBytes(0x08030000, []uint32{4}, []byte{1, 2, 3, 4}, false), ErrFormat, "0x08030000"},
		{"zero dims", idxBytes(0x00000800, nil, nil, false), ErrFormat, "magic"},
		{"float data", idxBytes(0x00000d01, []uint32{1}, []byte{1, 2, 3, 4}, false), ErrUnsupported, "0x0d"},
		{"short dims", good[:6], ErrTruncated, "dimensions"},
		{"short data", good[:10], ErrTruncated, "need 4"},
		{"trailing data", append(slices.Clone(good), 9), ErrCorrupt, "trailing"},
		{"huge dims", idxBytes(0x00000803, []uint32{1 << 31, 1 << 31, 1 << 31}, nil, false), ErrCorrupt, "too large"},
		{"gzip truncated", goodGz[:len(goodGz)/2], ErrTruncated, ""},
		{"gzip header only", goodGz[:5], ErrCorrupt, "gzip"},
		{"gzip bad CRC", badCRC, ErrCorrupt, "gzip"},
		{"gzip bad length", badLen, ErrCorrupt, "gzip"},
		{"gzip bad deflate", badDeflate, ErrCorrupt, "gzip"},
	} {
		m, err := ReadIDX(bytes.NewReader(c.file))
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, %v; want %v mentioning %q", c.name, m, err, c.want, c.msg)
		}
	}
	// Any cut of a gzip'ed file is an error.
	for cut := range len(goodGz) {
		if _, err := ReadIDX(bytes.NewReader(goodGz[:cut])); err == nil {
			t.Fatalf("gzip cut at %d: no error", cut)
		}
	}
}

func TestMNISTSet(t *testing.T) {
	img := make([]byte, 2*28*28)
	for i := range img {
		img[i] = byte(i)
	}
	images := &IDX{Magic: IDXMagicImages, Dims: []int{2, 28, 28}, Data: img}
	labels := &IDX{Magic: IDXMagicLabels, Dims: []int{2}, Data: []byte{3, 9}}
	s, err := MNISTSet(images, labels)
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.Shape, []int{1, 32, 32}) || !slices.Equal(s.Labels, []int{3, 9}) {
		t.Fatalf("got %+v", s)
	}
	r := s.Row(1)
	for i := range 32 {
		for j := range 32 {
			want := float32(0)
			if i >= 2 && i < 30 && j >= 2 && j < 30 {
				want = float32(img[28*28+(i-2)*28+j-2]) / 255
			}
			if r[32*i+j] != want {
				t.Fatalf("pixel (%d, %d) = %v, want %v", i, j, r[32*i+j], want)
			}
		}
	}

	for _, c := range []struct {
		name           string
		images, labels *IDX
	}{
		{"count mismatch", images, &IDX{Magic: IDXMagicLabels, Dims: []int{3}, Data: []byte{1, 2, 3}}},
		{"label 10", images, &IDX{Magic: IDXMagicLabels, Dims: []int{2}, Data: []byte{1, 10}}},
		{"labels as images", images, images},
		{"images as labels", labels, labels},
		{"27x27", &IDX{Magic: IDXMagicImages, Dims: []int{1, 27, 27}, Data: make([]byte, 27*27)}, nil},
	} {
		if _, err := MNISTSet(c.images, c.labels); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// writeMNIST writes a small MNIST-style data set under root/sub.
func writeMNIST(t *testing.T, root, sub string, nTrain, nTest int, gz bool) {
	for k, n := range []int{nTrain, nTest} {
		img := make([]byte, n*28*28)
		lab := make([]byte, n)
		for i := range img {
			img[i] = byte(i * 7)
		}
		for i := range lab {
			lab[i] = byte(i % 10)
		}
		names := mnistFiles[2*k : 2*k+2]
		for j, b := range [][]byte{
			idxBytes(IDXMagicImages, []uint32{uint32(n), 28, 28}, img, gz),
			idxBytes(IDXMagicLabels, []uint32{uint32(n)}, lab, gz),
		} {
			name := names[j]
			if !gz {
				name = trimGz(name)
			}
			writeFile(t, filepath.Join(root, sub, name), b)
		}
	}
}

func TestLoadMNISTSynthetic(t *testing.T) {
	for _, gz := range []bool{true, false} {
		tmp := t.TempDir()
		writeMNIST(t, tmp, "fashion-mnist", 5, 3, gz)
		if _, err := LoadFashionMNIST(tmp); !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "train-images") {
			t.Errorf("gz %v: unknown copy: %v, want a checksum error", gz, err)
		}
		sp, err := Loader{Dir: tmp, SkipVerify: true}.FashionMNIST()
		if err != nil {
			t.Fatalf("gz %v: %v", gz, err)
		}
		if sp.Train.N != 5 || sp.Test.N != 3 || sp.Val != nil || !slices.Equal(sp.Test.Labels, []int{0, 1, 2}) {
			t.Errorf("gz %v: got train %d test %d labels %v", gz, sp.Train.N, sp.Test.N, sp.Test.Labels)
		}
	}

	// Mismatched counts and wrong magic, each naming the file or set.
	tmp := t.TempDir()
	writeMNIST(t, tmp, "mnist", 5, 3, true)
	writeFile(t, filepath.Join(tmp, "mnist", "t10k-labels-idx1-ubyte.gz"), idxBytes(IDXMagicLabels, []uint32{2}, []byte{1, 2}, true))
	l := Loader{Dir: tmp, SkipVerify: true}
	if _, err := l.MNIST(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "3 images but 2 labels") {
		t.Errorf("count mismatch: %v", err)
	}
	writeFile(t, filepath.Join(tmp, "mnist", "t10k-labels-idx1-ubyte.gz"), idxBytes(IDXMagicImages, []uint32{3, 28, 28}, make([]byte, 3*28*28), true))
	if _, err := l.MNIST(); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz") {
		t.Errorf("wrong magic: %v", err)
	}
	os.Remove(filepath.Join(tmp, "mnist", "t10k-labels-idx1-ubyte.gz"))
	if _, err := l.MNIST(); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte.gz") {
		t.Errorf("missing file: %v", err)
	}
}

func TestLoadMNIST(t *testing.T) {
	sp, err := LoadMNIST(dataRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTLike(t, sp)
	// Well-known first labels of MNIST.
	if sp.Train.Labels[0] != 5 || sp.Test.Labels[0] != 7 {
		t.Errorf("first labels %d, %d; want 5, 7", sp.Train.Labels[0], sp.Test.Labels[0])
	}
}

// TestLoadFashionMNIST runs on the Debian package's copy when installed
// (or on $BISM_FASHION_DATA, a data root with fashion-mnist/ in it).
func TestLoadFashionMNIST(t *testing.T) {
	root := os.Getenv("BISM_FASHION_DATA")
	if root == "" {
		root = "/usr/share/datasets"
	}
	if _, err := os.Stat(filepath.Join(root, "fashion-mnist")); err != nil {
		t.Skip("Fashion-MNIST not installed (apt-get install dataset-fashion-mnist, or set BISM_FASHION_DATA)")
	}
	sp, err := LoadFashionMNIST(root)
	if err != nil {
		t.Fatal(err)
	}
	checkMNISTLike(t, sp)
}

func checkMNISTLike(t *testing.T, sp *Split) {
	t.Helper()
	if sp.Train.N != 60000 || sp.Test.N != 10000 || sp.Val != nil {
		t.Fatalf("sizes %d, %d, val %v", sp.Train.N, sp.Test.N, sp.Val)
	}
	for _, s := range []*Set{sp.Train, sp.Test} {
		if !slices.Equal(s.Shape, []int{1, 32, 32}) || len(s.X) != s.N*1024 || len(s.Labels) != s.N {
			t.Fatalf("shape %v, %d values, %d labels", s.Shape, len(s.X), len(s.Labels))
		}
		var counts [10]int
		for _, l := range s.Labels {
			if l < 0 || l > 9 {
				t.Fatalf("label %d out of range", l)
			}
			counts[l]++
		}
		if slices.Min(counts[:]) < s.N/20 {
			t.Errorf("label counts %v", counts)
		}
		if lo, hi := slices.Min(s.X), slices.Max(s.X); lo != 0 || hi != 1 {
			t.Errorf("values in [%v, %v], want [0, 1]", lo, hi)
		}
		for k := range s.N {
			r := s.Row(k)
			for i := range 32 {
				for j := range 32 {
					if (i < 2 || i >= 30 || j < 2 || j >= 30) && r[32*i+j] != 0 {
						t.Fatalf("example %d: padding pixel (%d, %d) = %v", k, i, j, r[32*i+j])
					}
				}
			}
		}
	}
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxBytes(IDXMagicImages, []uint32{1, 2, 2}, []byte{1, 2, 3, 4}, false))
	f.Add(idxBytes(IDXMagicLabels, []uint32{3}, []byte{1, 2, 3}, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadIDX(bytes.NewReader(b))
		if err != nil {
			return
		}
		n := 1
		for _, d := range m.Dims {
			n *= d
		}
		if n != len(m.Data) {
			t.Fatalf("dims %v but %d bytes", m.Dims, len(m.Data))
		}
		if m.Magic == IDXMagicImages {
			MNISTSet(m, nil) // must not panic
		}
	})
}
