package data

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeTransport answers HTTP requests from memory: no network is used.
type fakeTransport struct {
	files map[string][]byte // by URL
	calls atomic.Int32
}

func (f *fakeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls.Add(1)
	b, ok := f.files[r.URL.String()]
	if !ok {
		return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	}
	return &http.Response{StatusCode: http.StatusOK, Status: "200 OK", Body: io.NopCloser(bytes.NewReader(b)), Request: r}, nil
}

func noPartFiles(t *testing.T, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*.part"))
	if len(m) > 0 {
		t.Errorf("temporary files left behind: %v", m)
	}
}

func TestDownloadFrey(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(dataRoot(t), "frey", "frey_rawface.mat"))
	if err != nil {
		t.Fatal(err)
	}
	url := freyURLs[0] + "frey_rawface.mat"
	tmp := t.TempDir()
	dst := filepath.Join(tmp, "frey", "frey_rawface.mat")

	// Without Download, the network is never touched.
	never := &fakeTransport{}
	if _, err := (Loader{Dir: tmp, Client: &http.Client{Transport: never}}).Frey(); err == nil || never.calls.Load() != 0 {
		t.Fatalf("no Download: err %v, %d requests", err, never.calls.Load())
	}

	// A corrupted download is rejected and leaves nothing behind.
	bad := &fakeTransport{files: map[string][]byte{url: raw[:len(raw)-1]}}
	_, err = Loader{Dir: tmp, Download: true, Client: &http.Client{Transport: bad}}.Frey()
	if !errors.Is(err, ErrChecksum) || exists(dst) {
		t.Errorf("bad download: %v (file exists: %v)", err, exists(dst))
	}
	noPartFiles(t, filepath.Dir(dst))

	// A good download is written and loaded.
	good := &fakeTransport{files: map[string][]byte{url: raw}}
	sp, err := Loader{Dir: tmp, Download: true, Client: &http.Client{Transport: good}}.Frey()
	if err != nil || sp.Train.N != 1400 {
		t.Fatalf("download: %v", err)
	}
	noPartFiles(t, filepath.Dir(dst))
	// Present files are not fetched again.
	n := good.calls.Load()
	if _, err := (Loader{Dir: tmp, Download: true, Client: &http.Client{Transport: good}}).Frey(); err != nil || good.calls.Load() != n {
		t.Errorf("second load: %v, %d new requests", err, good.calls.Load()-n)
	}
}

func TestFetchMirrors(t *testing.T) {
	// The first mirror fails, the second serves files whose (decompressed)
	// contents are wrong: every file fails, and the error says why.
	ft := &fakeTransport{files: map[string][]byte{}}
	for _, f := range mnistFiles {
		ft.files[mnistURLs[1]+f] = idxBytes(IDXMagicLabels, []uint32{1}, []byte{1}, true)
	}
	tmp := t.TempDir()
	err := fetch(context.Background(), &http.Client{Transport: ft}, tmp, NameMNIST)
	if !errors.Is(err, ErrChecksum) || !strings.Contains(err.Error(), "404") {
		t.Errorf("fetch: %v", err)
	}
	noPartFiles(t, filepath.Join(tmp, "mnist"))
	if err := fetch(context.Background(), nil, tmp, "imagenet"); err == nil {
		t.Error("unknown data set: no error")
	}
}

func TestExtractCIFAR10(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	add := func(name string, b []byte) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg})
		tw.Write(b)
	}
	add("cifar-10-batches-bin/batches.meta.txt", []byte("airplane\n"))
	add("../evil/data_batch_1.bin", []byte("x"))
	for i, f := range cifar10Files {
		add("cifar-10-batches-bin/"+f, cifarRecords(2, i))
	}
	tw.Close()
	zw.Close()
	tmp := t.TempDir()
	tarball := filepath.Join(tmp, cifar10Tarball)
	writeFile(t, tarball, buf.Bytes())
	dir := filepath.Join(tmp, cifarDir)
	os.MkdirAll(dir, 0o755)
	if err := extractCIFAR10(tarball, dir, slices.Clone(cifar10Files[:])); err != nil {
		t.Fatal(err)
	}
	sp, err := LoadCIFAR10(tmp)
	if err != nil || sp.Train.N != 10 || sp.Test.N != 2 {
		t.Fatalf("after extraction: %v", err)
	}
	if exists(filepath.Join(tmp, "evil")) || exists(filepath.Join(dir, "batches.meta.txt")) {
		t.Error("extracted an unexpected entry")
	}
	if err := checkMD5(tarball, MD5CIFAR10Tarball); !errors.Is(err, ErrChecksum) {
		t.Errorf("MD5 of a fake tarball: %v", err)
	}
	if err := extractCIFAR10(tarball, dir, []string{"missing.bin"}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("missing member: %v", err)
	}
}
