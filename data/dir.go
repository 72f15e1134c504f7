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
//  3. the user data folder (UserDir), when it exists;
//  4. the first folder shared/datasets found in the working directory or
//     one of its ancestors (a checkout with the data beside it at
//     <repo>/../shared/datasets);
//  5. otherwise the user data folder, where `bism data fetch` puts them.
//
// Dir does not check that the data sets are there; loaders report a
// missing file with the way to get it (HowToGet).
func Dir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv(EnvDataDir); v != "" {
		return v
	}
	user := UserDir()
	if fi, err := os.Stat(user); err == nil && fi.IsDir() {
		return user
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
	return user
}

// UserDir is the per-user data folder: $XDG_DATA_HOME/bism, else
// ~/.local/share/bism (on every system, for one documented place).
func UserDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "bism")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "bism-data")
	}
	return filepath.Join(home, ".local", "share", "bism")
}
