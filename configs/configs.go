// Package configs holds the experiment configs shipped with bism, embedded
// in the binary so that an installed bism can run them by name
// (bism train -config checkerboard/bissm).
package configs

import (
	"embed"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed quickstart.yaml checkerboard/*.yaml frey/*.yaml mnist/*.yaml cifar10/*.yaml
var files embed.FS

// FS is the tree of built-in configs (paths like "frey/bidsm.yaml").
func FS() fs.FS { return files }

// Trim turns a config path or name into its built-in name:
// "configs/frey/bidsm.yaml" and "frey/bidsm" both become "frey/bidsm".
func Trim(name string) string {
	name = strings.TrimPrefix(path.Clean(strings.ReplaceAll(name, "\\", "/")), "./")
	if i := strings.LastIndex(name, "configs/"); i == 0 || (i > 0 && name[i-1] == '/') {
		name = name[i+len("configs/"):]
	}
	return strings.TrimSuffix(name, ".yaml")
}

// Read returns the built-in config called name (see Trim) and its path
// relative to the repository root.
func Read(name string) ([]byte, string, error) {
	n := Trim(name)
	b, err := files.ReadFile(n + ".yaml")
	return b, "configs/" + n + ".yaml", err
}

// Names lists the built-in configs, sorted ("checkerboard/bissm", ...).
func Names() []string {
	var out []string
	fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			out = append(out, strings.TrimSuffix(p, ".yaml"))
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// Summary returns the first comment line of the built-in config called
// name, without the "# ".
func Summary(name string) string {
	b, _, err := Read(name)
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(b), "\n")
	if !strings.HasPrefix(line, "#") {
		return ""
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "#"))
}
