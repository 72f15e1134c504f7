package data

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyContents: a copy recompressed by another tool or stored
// uncompressed passes through the content checksum.
func TestVerifyContents(t *testing.T) {
	const rel = "mnist/t10k-labels-idx1-ubyte.gz"
	raw, err := os.ReadFile(filepath.Join(dataRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	if err := verify("orig", rel, raw); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := verify("plain", trimGz(rel), plain); err != nil {
		t.Errorf("uncompressed copy: %v", err)
	}
	var re bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&re, gzip.BestSpeed)
	zw.Write(plain)
	zw.Close()
	if err := verify("recompressed", rel, re.Bytes()); err != nil {
		t.Errorf("recompressed copy: %v", err)
	}
	plain[100]++
	err = verify("modified", trimGz(rel), plain)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "modified") || !strings.Contains(err.Error(), sha256Hex(plain)) ||
		!strings.Contains(err.Error(), knownContentSHA256[trimGz(rel)]) {
		t.Errorf("modified copy: %v", err)
	}
	if err := verify("x", "unknown/file", []byte("anything")); err != nil {
		t.Errorf("file without known checksum: %v", err)
	}
}
