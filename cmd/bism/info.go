package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"strings"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/configs"
	"github.com/bism-ml/bism/internal/buildinfo"
)

const keysAbout = `
Every key a config file or -set accepts, with its type (or the names it
accepts), its default and its meaning. A text key whose empty value means
"not set" says what unset means; -set key= restores that.`

type keysArgs struct{ json bool }

func (a *keysArgs) declare(fs *flag.FlagSet) { fs.BoolVar(&a.json, "json", false, "print a JSON list") }
func keysFlags(fs *flag.FlagSet)             { new(keysArgs).declare(fs) }

func cmdKeys(args []string) error {
	var a keysArgs
	fs := newFlags("keys")
	a.declare(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if a.json {
		return json.NewEncoder(stdout).Encode(config.Keys())
	}
	for _, k := range config.Keys() {
		doc := k.Doc
		if k.Unset != "" {
			doc += fmt.Sprintf(" (empty: %s)", k.Unset)
		}
		fmt.Fprintf(stdout, "%-26s %-28s %-10s %s\n", k.Name, k.Type, k.Default, doc)
	}
	return nil
}

const configsAbout = `
The configs built into the binary, runnable by name from anywhere
(bism train -config checkerboard/bissm): the paper's checkerboard and Frey face
experiments (Sec. 5.1), the MNIST and CIFAR-10 deep models (Sec. 5.2) and the
quick start.`

func cmdConfigs(args []string) error {
	if err := parse(newFlags("configs"), args, false); err != nil {
		return err
	}
	for _, n := range configs.Names() {
		fmt.Fprintf(stdout, "%-24s %s\n", n, configs.Summary(n))
	}
	return nil
}

const versionAbout = `
The module version, the VCS revision and whether the checkout had changes
(when built from one), the Go version, and the CPU and matrix-multiply kernel
in use. Runs record the same in run.json.`

func cmdVersion(args []string) error {
	if err := parse(newFlags("version"), args, false); err != nil {
		return err
	}
	i := buildinfo.Get()
	rev := i.Revision
	if rev == "" {
		rev = "unknown"
	}
	if i.Dirty {
		rev += " (with uncommitted changes)"
	}
	fmt.Fprintf(stdout, "bism %s\nrevision  %s\ngo        %s %s/%s\ncpu       %s\nkernel    %s, GOMAXPROCS %d\n",
		i.Version, rev, i.Go, i.OS, i.Arch, strings.TrimSpace(i.CPU+" "), i.Kernel, i.GOMAXPROCS)
	return nil
}
