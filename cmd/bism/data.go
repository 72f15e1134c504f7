package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"

	"github.com/bism-ml/bism/data"
)

const dataAbout = `
bism data fetch NAME ... downloads the data sets (frey, mnist, fashion-mnist,
cifar10, or all) into the data folder, from their original sources and then
mirrors, verifying every file's checksum and writing it atomically; files
already there are kept. $BISM_DATA_SOURCES (comma-separated base URLs of
folders laid out like the data folder) replaces the sources.

bism data path prints the data folder and which data sets it holds. The data
folder is -data, else $BISM_DATA, else the user data folder
(~/.local/share/bism or $XDG_DATA_HOME/bism) when it exists, else a
shared/datasets folder beside a checkout, else the user data folder.`

var fetchable = []string{data.NameFrey, data.NameMNIST, data.NameFashionMNIST, data.NameCIFAR10}

type dataArgs struct{ dir string }

func (a *dataArgs) declare(fs *flag.FlagSet) {
	fs.StringVar(&a.dir, "data", "", "data folder (default $BISM_DATA, else the user data folder)")
}

func dataFlags(fs *flag.FlagSet) { new(dataArgs).declare(fs) }

func cmdData(args []string) error {
	if len(args) == 0 || (args[0] != "fetch" && args[0] != "path") {
		return usageError("want bism data fetch NAME ... or bism data path")
	}
	var a dataArgs
	fs := newFlags("data")
	a.declare(fs)
	if err := parse(fs, args[1:], args[0] == "fetch"); err != nil {
		return err
	}
	root := data.Dir(a.dir)
	if args[0] == "path" {
		fmt.Fprintln(stdout, root)
		for _, n := range fetchable {
			state := "present"
			if err := data.Missing(root, n); err != nil {
				state = "missing (bism data fetch " + n + ")"
			}
			fmt.Fprintf(stdout, "  %-14s %s\n", n, state)
		}
		return nil
	}
	names := fs.Args()
	if len(names) == 0 {
		return usageError("name the data sets to fetch: %v or all", fetchable)
	}
	if len(names) == 1 && names[0] == "all" {
		names = fetchable
	}
	for _, n := range names {
		if !slices.Contains(fetchable, n) {
			return usageError("no data set %q to fetch (want %v or all)", n, fetchable)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	for _, n := range names {
		if data.Missing(root, n) == nil {
			fmt.Fprintf(stderr, "%s: already in %s\n", n, root)
			continue
		}
		fmt.Fprintf(stderr, "%s: downloading into %s\n", n, root)
		if err := data.Fetch(ctx, root, n); err != nil {
			return fmt.Errorf("%s: %w", n, err)
		}
		fmt.Fprintf(stderr, "%s: done, checksums verified\n", n)
	}
	return nil
}
