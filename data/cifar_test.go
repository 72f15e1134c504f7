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

// cifarRecords returns n records with labels (first+i)%10 and pixel
// bytes derived from the record and position.
func cifarRecords(n, first int) []byte {
	b := make([]byte, n*CIFARRecordSize)
	for k := range n {
		rec := b[k*CIFARRecordSize:]
		rec[0] = byte((first + k) % 10)
		for i := 1; i < CIFARRecordSize; i++ {
			rec[i] = byte(first + k + i)
		}
	}
	return b
}

func writeCIFAR(t *testing.T, root string, perFile int) {
	for f, name := range cifar10Files {
		writeFile(t, filepath.Join(root, "cifar-10-batches-bin", name), cifarRecords(perFile, f*perFile))
	}
}

func TestReadCIFAR10(t *testing.T) {
	s, err := ReadCIFAR10(bytes.NewReader(cifarRecords(2, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 2 || !slices.Equal(s.Shape, []int{3, 32, 32}) || !slices.Equal(s.Labels, []int{0, 1}) {
		t.Fatalf("got N %d shape %v labels %v", s.N, s.Shape, s.Labels)
	}
	// Channel-major: value c*1024 + i*32 + j of a record is byte 1 + that.
	r := s.Row(1)
	for _, p := range []int{0, 1023, 1024, 2048 + 5*32 + 7, 3071} {
		if want := float32(byte(1+p+1)) / 255; r[p] != want {
			t.Errorf("value %d = %v, want %v", p, r[p], want)
		}
	}
	for _, c := range []struct {
		name string
		b    []byte
		msg  string
	}{
		{"empty", nil, "multiple"},
		{"partial record", cifarRecords(2, 0)[:CIFARRecordSize+100], "multiple"},
		{"label 10", append(cifarRecords(1, 0), append([]byte{10}, make([]byte, CIFARRecordSize-1)...)...), "label 10"},
	} {
		if _, err := ReadCIFAR10(bytes.NewReader(c.b)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestLoadCIFAR10(t *testing.T) {
	tmp := t.TempDir()
	writeCIFAR(t, tmp, 3)
	sp, err := LoadCIFAR10(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Train.N != 15 || sp.Test.N != 3 || sp.Val != nil || len(sp.Train.X) != 15*3072 {
		t.Fatalf("sizes %d, %d", sp.Train.N, sp.Test.N)
	}
	if !slices.Equal(sp.Train.Labels, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4}) || !slices.Equal(sp.Test.Labels, []int{5, 6, 7}) {
		t.Errorf("labels %v / %v", sp.Train.Labels, sp.Test.Labels)
	}
	if got, want := sp.Train.Row(4)[0], float32(byte(4+1))/255; got != want {
		t.Errorf("train[4][0] = %v, want %v", got, want)
	}
	if lo, hi := slices.Min(sp.Train.X), slices.Max(sp.Train.X); lo < 0 || hi > 1 {
		t.Errorf("values in [%v, %v]", lo, hi)
	}

	bad := filepath.Join(tmp, "cifar-10-batches-bin", "data_batch_3.bin")
	writeFile(t, bad, cifarRecords(3, 0)[:3*CIFARRecordSize-1])
	if _, err := LoadCIFAR10(tmp); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "3073") {
		t.Errorf("size not a multiple of 3073: %v", err)
	}
	rec := cifarRecords(3, 0)
	rec[2*CIFARRecordSize] = 200
	writeFile(t, bad, rec)
	if _, err := LoadCIFAR10(tmp); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "label 200") || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("label > 9: %v", err)
	}
	os.Remove(bad)
	if _, err := LoadCIFAR10(tmp); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "data_batch_3.bin") {
		t.Errorf("missing file: %v", err)
	}
}
