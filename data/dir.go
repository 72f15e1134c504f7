package data

import (
	"os"
	"path/filepath"
)

// EnvDataDir is the environment variable that Dir consults when no
// explicit location is given.
const EnvDataDir = "BISM_DATA"

// Dir resolves the root folder of the data sets (the folder holding
// frey/, mnist/, fashion-mnist/, cifar-10-batches-bin/). In order:
//
//  1. flagValue, when not empty (typically a command-line flag);
//  2. the environment variable BISM_DATA, when set and not empty;
//  3. the first folder shared/datasets found in the working directory or
//     one of its ancestors; for a checkout at <repo> with the data beside
//     it at <repo>/../shared/datasets this is found from <repo> and from
//     any folder inside it;
//  4. otherwise "../shared/datasets", relative to the working directory.
//
// Dir does not check that the result exists; loaders report a missing
// file (or fetch it when asked to, see Loader.Download).
func Dir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(EnvDataDir); v != "" {
		return v
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; {
			c := filepath.Join(d, "shared", "datasets")
			if fi, err := os.Stat(c); err == nil && fi.IsDir() {
				return c
			}
			parent := filepath.Dir(d)
			if parent == d {
				break
			}
			d = parent
		}
	}
	return filepath.Join("..", "shared", "datasets")
}
