// Command bism trains, evaluates and samples energy-based latent variable
// models with bi-level score matching and its baselines.
//
//	bism train  -config FILE -out DIR [-set key=value ...] [-resume] [-quiet]
//	bism eval   -run DIR [-json] [-select] [-checkpoint FILE]
//	bism sample -run DIR [-n 64] [-steps 1000] [-out FILE]
//	bism bench  -config FILE [-iterations N] [-json] [-set key=value ...]
//	bism keys
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// stdout receives the commands' results (tables, JSON, key lists); progress
// goes to stderr. Tests replace it to read what a command printed.
var stdout io.Writer = os.Stdout

const usage = `bism: bi-level score matching for energy-based latent variable models

Usage:
  bism train  -config FILE -out DIR [-set key=value ...] [-resume] [-quiet] [-data DIR]
  bism eval   -run DIR [-json] [-select] [-checkpoint FILE] [-data DIR]
  bism sample -run DIR [-n 64] [-steps 1000] [-out FILE] [-data DIR]
  bism bench  -config FILE [-iterations N] [-warmup N] [-json] [-set key=value ...]
  bism keys   (lists the config keys -set accepts)

Data sets are read from -data, else $BISM_DATA, else ../shared/datasets.
Run 'bism COMMAND -h' for a command's flags.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmds := map[string]func([]string) error{
		"train": cmdTrain, "eval": cmdEval, "sample": cmdSample, "bench": cmdBench, "keys": cmdKeys,
	}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		if a := os.Args[1]; a == "-h" || a == "--help" || a == "help" {
			fmt.Print(usage)
			return
		}
		fmt.Fprintf(os.Stderr, "bism: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err := cmd(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "bism %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// setFlags collects repeated -set key=value flags.
type setFlags []string

func (s *setFlags) String() string { return strings.Join(*s, ",") }

func (s *setFlags) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want key=value, got %q", v)
	}
	*s = append(*s, v)
	return nil
}
