package data

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadFrey(t *testing.T) {
	root := dataRoot(t)
	sp, err := LoadFrey(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		s *Set
		n int
	}{{sp.Train, 1400}, {sp.Val, 300}, {sp.Test, 265}} {
		if c.s == nil || c.s.N != c.n || len(c.s.X) != c.n*560 || !slices.Equal(c.s.Shape, []int{1, 28, 20}) || c.s.Labels != nil {
			t.Fatalf("set: want %d examples of shape [1 28 20], got %+v", c.n, c.s)
		}
		if lo, hi := slices.Min(c.s.X), slices.Max(c.s.X); lo < 0 || hi > 1 {
			t.Errorf("values in [%v, %v], want within [0, 1]", lo, hi)
		}
	}
	// The first pixels of image 1 in the file: 0x51 0x88 0xa7 0xb9 ...
	want := []float32{0x51, 0x88, 0xa7, 0xb9, 0xbb, 0xc1, 0xcb, 0xde}
	for i := range want {
		want[i] /= 255
	}
	if got := sp.Train.Row(0)[:8]; !slices.Equal(got, want) {
		t.Errorf("first values %v, want %v", got, want)
	}
	// The last image is the last 560 bytes of the file; the split is
	// unshuffled, so the test set ends with it.
	raw, err := os.ReadFile(filepath.Join(root, "frey", "frey_rawface.mat"))
	if err != nil {
		t.Fatal(err)
	}
	last := sp.Test.Row(264)
	for i, b := range raw[len(raw)-560:] {
		if last[i] != float32(b)/255 {
			t.Fatalf("last image pixel %d = %v, want %v", i, last[i], float32(b)/255)
		}
	}
	// The parts are consecutive columns: the first validation image
	// follows the last training image in the file.
	off := len(raw) - 1965*560 + 1400*560
	if got := sp.Val.Row(0)[0]; got != float32(raw[off])/255 {
		t.Errorf("first validation pixel %v, want %v", got, float32(raw[off])/255)
	}
}

// TestLoadFreyCorrupt checks the checksum and the reader's errors on
// modified copies.
func TestLoadFreyCorrupt(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataRoot(t), "frey", "frey_rawface.mat"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	path := filepath.Join(tmp, "frey", "frey_rawface.mat")
	for _, c := range []struct {
		name string
		file []byte
		want error // with SkipVerify
	}{
		{"truncated", raw[:len(raw)-100], ErrTruncated},
		{"compressed", append(slices.Clone(raw[:128]), append([]byte{miCOMPRESSED}, raw[129:]...)...), ErrCompressed},
		{"renamed variable", append(slices.Clone(raw[:0xac]), append([]byte("gg"), raw[0xae:]...)...), ErrNotFound},
		{"transposed", append(slices.Clone(raw[:0xa0]), append([]byte{0xad, 0x07, 0, 0, 0x30, 0x02, 0, 0}, raw[0xa8:]...)...), ErrCorrupt},
	} {
		writeFile(t, path, c.file)
		_, err := LoadFrey(tmp)
		if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), path) ||
			!strings.Contains(err.Error(), SHA256Frey) || !strings.Contains(err.Error(), sha256Hex(c.file)) {
			t.Errorf("%s: %v, want a checksum error naming the file and both hashes", c.name, err)
		}
		if _, err := (Loader{Dir: tmp, SkipVerify: true}).Frey(); !errors.Is(err, c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s, unverified: %v, want %v naming the file", c.name, err, c.want)
		}
	}
}

func TestLoadFreyMissing(t *testing.T) {
	tmp := t.TempDir()
	_, err := LoadFrey(tmp)
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "frey_rawface.mat") || !strings.Contains(err.Error(), "bism data fetch frey") {
		t.Errorf("missing file: %v", err)
	}
}
