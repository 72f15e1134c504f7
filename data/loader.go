package data

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Data set names understood by Loader.Load and Fetch.
const (
	NameCheckerboard = "checkerboard"
	NameFrey         = "frey"
	NameMNIST        = "mnist"
	NameFashionMNIST = "fashion-mnist"
	NameCIFAR10      = "cifar10"
)

// Loader loads the data sets from a data root folder. The zero value
// loads from Dir(""), verifies checksums and never touches the network.
type Loader struct {
	// Dir is the data root; empty means Dir("").
	Dir string
	// Download, when true, fetches missing files from their usual public
	// locations (checksum-verified, written atomically) before loading.
	// It is never done unless asked for.
	Download bool
	// SkipVerify disables the SHA-256 checks of files with a known
	// checksum (for deliberately modified copies).
	SkipVerify bool
	// Client is the HTTP client used by Download; nil means
	// http.DefaultClient.
	Client *http.Client
}

// LoadFrey loads the Frey faces from dir/frey/frey_rawface.mat; see
// Loader.Frey.
func LoadFrey(dir string) (*Split, error) { return Loader{Dir: dir}.Frey() }

// LoadMNIST loads MNIST from dir/mnist/; see Loader.MNIST.
func LoadMNIST(dir string) (*Split, error) { return Loader{Dir: dir}.MNIST() }

// LoadFashionMNIST loads Fashion-MNIST from dir/fashion-mnist/ (the same
// file names as MNIST); see Loader.FashionMNIST. With the Debian package
// dataset-fashion-mnist installed, dir is /usr/share/datasets.
func LoadFashionMNIST(dir string) (*Split, error) { return Loader{Dir: dir}.FashionMNIST() }

// LoadCIFAR10 loads CIFAR-10 from dir/cifar-10-batches-bin/; see
// Loader.CIFAR10.
func LoadCIFAR10(dir string) (*Split, error) { return Loader{Dir: dir}.CIFAR10() }

// Load loads the data set called name (NameCheckerboard, NameFrey,
// NameMNIST, NameFashionMNIST or NameCIFAR10). seed is used only by the
// checkerboard, which is generated rather than read.
func (l Loader) Load(name string, seed uint64) (*Split, error) {
	switch strings.ToLower(name) {
	case NameCheckerboard:
		return CheckerboardSplit(seed), nil
	case NameFrey:
		return l.Frey()
	case NameMNIST:
		return l.MNIST()
	case NameFashionMNIST, "fashion_mnist", "fashionmnist":
		return l.FashionMNIST()
	case NameCIFAR10, "cifar-10", "cifar":
		return l.CIFAR10()
	}
	return nil, fmt.Errorf("data: unknown data set %q (want %s, %s, %s, %s or %s)",
		name, NameCheckerboard, NameFrey, NameMNIST, NameFashionMNIST, NameCIFAR10)
}

func (l Loader) root() string { return Dir(l.Dir) }

// readFile reads rel (relative to the data root), fetching the data set
// name first when the file is missing and Download is set, and verifies
// its checksum. alt lists alternative names (e.g. without .gz) tried
// before giving up.
func (l Loader) readFile(name, rel string, alt ...string) (path string, raw []byte, err error) {
	root := l.root()
	tryAll := func() (string, []byte, error) {
		var firstErr error
		for _, r := range append([]string{rel}, alt...) {
			p := filepath.Join(root, filepath.FromSlash(r))
			b, err := os.ReadFile(p)
			if err == nil {
				if !l.SkipVerify {
					if err := verify(p, r, b); err != nil {
						return p, nil, err
					}
				}
				return p, b, nil
			}
			if firstErr == nil {
				firstErr = err
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return p, nil, fmt.Errorf("data: %w", err)
			}
		}
		return "", nil, firstErr
	}
	path, raw, err = tryAll()
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return path, raw, err
	}
	if !l.Download {
		return "", nil, fmt.Errorf("data: %s data set: %w (data root %q); %s", name, err, root, HowToGet(name))
	}
	if ferr := fetch(context.Background(), l.Client, root, name); ferr != nil {
		return "", nil, fmt.Errorf("data: %s data set: %w; download failed: %w", name, err, ferr)
	}
	return tryAll()
}

// files lists the files of the data set called name, relative to the
// data root (MNIST-like sets also accept their names without .gz).
func files(name string) []string {
	var out []string
	switch name {
	case NameFrey:
		out = []string{"frey/frey_rawface.mat"}
	case NameMNIST, NameFashionMNIST:
		for _, f := range mnistFiles {
			out = append(out, name+"/"+f)
		}
	case NameCIFAR10:
		for _, f := range cifar10Files {
			out = append(out, cifarDir+"/"+f)
		}
	}
	return out
}

// HowToGet is the one-line advice printed when the data set called name
// is not under the data root.
func HowToGet(name string) string {
	return fmt.Sprintf("get it with `bism data fetch %s`, or point -data or $%s at a folder holding it", name, EnvDataDir)
}

// Missing reports whether the files of the data set called name are
// under root (resolved with Dir). It returns nil when they all exist, and
// otherwise an error naming the first missing file and how to get the
// data set. It does not read or verify the files.
func Missing(root, name string) error {
	root = Dir(root)
	fs := files(name)
	if fs == nil {
		if name == NameCheckerboard {
			return nil
		}
		return fmt.Errorf("data: unknown data set %q", name)
	}
	for _, rel := range fs {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if !exists(p) && !exists(trimGz(p)) {
			return fmt.Errorf("data: %s data set not found: %s is missing; %s", name, p, HowToGet(name))
		}
	}
	return nil
}
