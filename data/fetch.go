package data

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// EnvSources names the environment variable that replaces the download
// locations: comma-separated base URLs of folders laid out like the data
// root (BASE/frey/frey_rawface.mat, BASE/mnist/..., BASE/cifar-10-binary.tar.gz),
// tried in order. For private mirrors and machines without the internet.
const EnvSources = "BISM_DATA_SOURCES"

// Public download locations, tried in order: the originals, then mirrors.
var (
	freyURLs         = []string{"https://cs.nyu.edu/~roweis/data/"}
	mnistURLs        = []string{"https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/", "http://yann.lecun.com/exdb/mnist/"}
	fashionMNISTURLs = []string{"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"}
	cifar10URLs      = []string{"https://www.cs.toronto.edu/~kriz/"}
)

const (
	cifar10Tarball = "cifar-10-binary.tar.gz"
	// MD5CIFAR10Tarball is the published MD5 of cifar-10-binary.tar.gz
	// (the only checksum its authors publish).
	MD5CIFAR10Tarball = "c32a1d4ab5d03f1284b67883e8d87530"
)

// Fetch downloads the files of the data set called name (NameFrey,
// NameMNIST, NameFashionMNIST or NameCIFAR10) that are missing under the
// data root dir, from their usual public locations. Every file is
// checksum-verified and written atomically (a temporary file in the
// target folder, renamed into place), so an interrupted download leaves
// no partial file behind. Files already present are left alone. The
// loaders call it only when Loader.Download is set.
func Fetch(ctx context.Context, dir, name string) error {
	return fetch(ctx, nil, dir, name)
}

func fetch(ctx context.Context, client *http.Client, root, name string) error {
	if client == nil {
		client = defaultClient
	}
	switch name {
	case NameFrey:
		return fetchFiles(ctx, client, root, NameFrey, []string{"frey_rawface.mat"}, sources(name, freyURLs))
	case NameMNIST:
		return fetchFiles(ctx, client, root, NameMNIST, mnistFiles[:], sources(name, mnistURLs))
	case NameFashionMNIST:
		return fetchFiles(ctx, client, root, NameFashionMNIST, mnistFiles[:], sources(name, fashionMNISTURLs))
	case NameCIFAR10:
		return fetchCIFAR10(ctx, client, root)
	}
	return fmt.Errorf("data: no download location for data set %q", name)
}

// defaultClient gives up on a source that does not answer, so that a
// machine without the network gets an error, not a hang.
var defaultClient = &http.Client{Transport: &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 20 * time.Second}).DialContext,
	TLSHandshakeTimeout:   20 * time.Second,
	ResponseHeaderTimeout: 60 * time.Second,
}}

// sources returns the base URLs of the files of data set sub: those of
// $BISM_DATA_SOURCES (each joined with sub), else the built-in list.
func sources(sub string, builtIn []string) []string {
	env := os.Getenv(EnvSources)
	if env == "" {
		return builtIn
	}
	var out []string
	for _, b := range strings.Split(env, ",") {
		if b = strings.TrimSpace(b); b != "" {
			if sub != "" {
				b = strings.TrimSuffix(b, "/") + "/" + sub
			}
			out = append(out, strings.TrimSuffix(b, "/")+"/")
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// fetchFiles downloads each missing file of root/sub from the first base
// URL that serves it with the right checksum.
func fetchFiles(ctx context.Context, client *http.Client, root, sub string, files, bases []string) error {
	dir := filepath.Join(root, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		dst := filepath.Join(dir, f)
		if exists(dst) || exists(trimGz(dst)) {
			continue
		}
		rel := sub + "/" + f
		check := func(tmp string) error {
			b, err := os.ReadFile(tmp)
			if err != nil {
				return err
			}
			return verify(dst, rel, b)
		}
		var errs []error
		for _, base := range bases {
			err := download(ctx, client, base+f, dst, check)
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	return nil
}

// download fetches url into dst atomically: the body goes to a temporary
// file beside dst, check vets it, and only then is it renamed to dst.
func download(ctx context.Context, client *http.Client, url, dst string, check func(tmp string) error) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("data: download %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("data: download %s: %s", url, resp.Status)
	}
	if err := writeAtomic(dst, resp.Body, check); err != nil {
		return fmt.Errorf("data: download %s: %w", url, err)
	}
	return nil
}

// fetchCIFAR10 downloads the binary tarball (unless a copy is already
// there), checks its MD5 and extracts the missing batch files, each
// atomically. The tarball is removed once everything is in place.
func fetchCIFAR10(ctx context.Context, client *http.Client, root string) error {
	dir := filepath.Join(root, cifarDir)
	missing := slices.DeleteFunc(slices.Clone(cifar10Files[:]), func(f string) bool { return exists(filepath.Join(dir, f)) })
	if len(missing) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tarball := filepath.Join(root, cifar10Tarball)
	if err := checkMD5(tarball, MD5CIFAR10Tarball); err != nil {
		var errs []error
		for _, base := range sources("", cifar10URLs) {
			err := download(ctx, client, base+cifar10Tarball, tarball, func(tmp string) error {
				return checkMD5(tmp, MD5CIFAR10Tarball)
			})
			if err == nil {
				errs = nil
				break
			}
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	if err := extractCIFAR10(tarball, dir, missing); err != nil {
		return err
	}
	return os.Remove(tarball)
}

// checkMD5 checks the MD5 of the file at path.
func checkMD5(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("data: %s: MD5 is %s, want %s: %w", path, got, want, ErrChecksum)
	}
	return nil
}

// extractCIFAR10 writes the batch files named in want from the tarball
// into dir. Only those exact names are extracted.
func extractCIFAR10(tarball, dir string, want []string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("data: %s: %w", tarball, gzipErr(err))
	}
	tr := tar.NewReader(zr)
	for len(want) > 0 {
		h, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("data: %s lacks %v: %w", tarball, want, ErrCorrupt)
		}
		if err != nil {
			return fmt.Errorf("data: %s: %w: %w", tarball, ErrCorrupt, err)
		}
		name := filepath.Base(h.Name)
		i := slices.Index(want, name)
		if h.Typeflag != tar.TypeReg || i < 0 || h.Name != cifarDir+"/"+name {
			continue
		}
		if err := writeAtomic(filepath.Join(dir, name), tr, nil); err != nil {
			return err
		}
		want = slices.Delete(want, i, i+1)
	}
	return nil
}

// writeAtomic copies r into a temporary file beside dst, lets check (if
// not nil) vet the complete temporary file, and renames it to dst. On any
// failure the temporary file is removed and dst is untouched.
func writeAtomic(dst string, r io.Reader, check func(tmp string) error) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.part")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, r); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if check != nil {
		if err = check(tmp.Name()); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), dst)
}
