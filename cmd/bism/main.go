// Command bism trains, evaluates and samples energy-based latent variable
// models with bi-level score matching and its baselines.
//
//	bism train   -config NAME|FILE -out DIR [-set key=value ...] [-resume] [-force]
//	bism eval    -run DIR [-json] [-select]
//	bism sample  -run DIR [-n 64] [-steps N]
//	bism denoise -run DIR -sigma S
//	bism bench   -config NAME|FILE [-iterations 50]
//	bism sweep   -file FILE -out DIR [-j N] | -status DIR | -summarize DIR
//	bism study   fig1|gradsplit|scorevar|latentnorm ...
//	bism data    fetch NAME ... | path
//	bism keys | configs | version | help [COMMAND]
//
// `bism help COMMAND` describes each command and its flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bism-ml/bism/config"
)

// stdout receives the commands' results (tables, JSON, key lists) and
// stderr their progress; tests replace them to read what a command printed.
var (
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// command is one subcommand.
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string // one line
	about   string // a paragraph for bism help NAME
	run     func(args []string) error
	flags   func(fs *flag.FlagSet) // declares the flags, for help (nil: none)
}

var commands []command

func init() {
	commands = []command{
		{"train", "-config NAME|FILE -out DIR [-set key=value ...] [-resume[=auto]] [-force]", "train a model (a built-in config by name, or a YAML file)", trainAbout, cmdTrain, trainFlags},
		{"eval", "-run DIR [-json] [-select] [-checkpoint FILE]", "evaluate a run: log-likelihood (GRBM) or sample scores (deep models)", evalAbout, cmdEval, evalFlags},
		{"sample", "-run DIR [-n 64] [-steps N] [-out FILE]", "draw samples of a trained model", sampleAbout, cmdSample, sampleFlags},
		{"denoise", "-run DIR -sigma S [-n 64] [-steps N]", "diagnostic: Langevin chains from noisy test images (deep models)", denoiseAbout, cmdDenoise, denoiseFlags},
		{"bench", "-config NAME|FILE [-iterations 50] [-json]", "time training iterations", benchAbout + copiesAbout, cmdBench, benchFlags},
		{"compare", "-a DIR -b DIR [-tol T] [-json]", "compare two runs' checkpoints and metrics (reproducibility, data-parallel runs)", compareAbout, cmdCompare, compareFlags},
		{"sweep", "-file FILE -out DIR [-j N] [-slurm] [-set key=value ...] | -status DIR | -summarize DIR | -cancel DIR", "run a grid of experiments (variants x keys x seeds) and summarise it", sweepAbout, cmdSweep, sweepFlags},
		{"study", "NAME -run DIR [flags]", "research studies of trained runs: " + strings.Join(studyNames(), ", "), studyAbout, cmdStudy, nil},
		{"data", "fetch NAME ... | path", "download data sets, or show where they are read from", dataAbout, cmdData, dataFlags},
		{"keys", "[-json]", "list every config key with its type, default and meaning", keysAbout, cmdKeys, keysFlags},
		{"configs", "", "list the built-in configs", configsAbout, cmdConfigs, nil},
		{"version", "", "print bism's version, revision and build", versionAbout, cmdVersion, nil},
		{"help", "[COMMAND]", "describe a command and its flags", "", cmdHelp, nil},
	}
}

func usage(w io.Writer) {
	fmt.Fprint(w, "bism: bi-level score matching for energy-based latent variable models\n\nUsage:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  bism %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, "\nQuick start:  bism train -config quickstart -out runs/quickstart\n")
	fmt.Fprint(w, "'bism help COMMAND' describes a command and its flags.\n")
}

func findCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func commandNames() []string {
	var out []string
	for _, c := range commands {
		out = append(out, c.name)
	}
	return out
}

// exitError carries a process exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// errUsage marks a mistake in the command line (exit status 2).
var errUsage = errors.New("usage")

func usageError(format string, args ...any) error {
	return exitError{2, fmt.Errorf(format, args...)}
}

func main() { os.Exit(run(os.Args[1:])) }

// run executes a command line and returns the exit status.
func run(args []string) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "-help", "--help":
		usage(stdout)
		return 0
	case "-version", "--version":
		name = "version"
	}
	c, ok := findCommand(name)
	if !ok {
		msg := fmt.Sprintf("bism: unknown command %q", name)
		if m := config.Nearest(name, commandNames()); m != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", m)
		}
		fmt.Fprintf(stderr, "%s\n\n", msg)
		usage(stderr)
		return 2
	}
	err := c.run(args[1:])
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if !errors.Is(err, errQuiet) {
		fmt.Fprintf(stderr, "bism %s: %v\n", c.name, err)
	}
	return exitCode(err)
}

// newFlags returns the flag set of command c: errors are returned, not
// printed, so that parse can add a suggestion.
func newFlags(c string) *flag.FlagSet {
	fs := flag.NewFlagSet(c, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses args into fs; an unknown flag gets a "did you mean", -h
// prints the command's help, and positional arguments are refused unless
// positional is set.
func parse(fs *flag.FlagSet, args []string, positional bool) error {
	var rest []string
	err := fs.Parse(args)
	for err == nil && positional && fs.NArg() > 0 { // flags may follow the positional arguments
		rest = append(rest, fs.Arg(0))
		err = fs.Parse(fs.Args()[1:])
	}
	if errors.Is(err, flag.ErrHelp) {
		help(stdout, fs.Name())
		return flag.ErrHelp
	}
	if err != nil {
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "flag provided but not defined: -"); ok {
			if moved, ok := movedFlags[fs.Name()+" -"+name]; ok {
				return usageError("-%s is gone: %s", name, moved)
			}
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			msg = fmt.Sprintf("unknown flag -%s", name)
			if m := config.Nearest(name, names); m != "" {
				msg += fmt.Sprintf(" (did you mean -%s?)", m)
			}
		}
		return usageError("%s; bism help %s lists the flags", msg, fs.Name())
	}
	if !positional && fs.NArg() > 0 {
		return usageError("unexpected argument %q; bism help %s lists the flags", fs.Arg(0), fs.Name())
	}
	if positional {
		fs.Parse(append([]string{"--"}, rest...)) // leaves the positional arguments in fs.Args()
	}
	return nil
}

// movedFlags explain the flags of earlier versions that moved or were
// renamed, by "command -flag".
var movedFlags = map[string]string{
	"sample -fid":              "FID, KID and the probe are computed by bism eval -run DIR [-n N] [-steps N]",
	"sample -probe-n":          "the probe is part of bism eval -run DIR -probe-n N",
	"sample -inception":        "Inception FID is part of bism eval -run DIR -inception FILE",
	"sample -langevin-scale":   "give the chain length as -steps N (the full anneal is 2,700 steps; -langevin-scale 0.3 is -steps 810)",
	"eval -langevin-scale":     "give the chain length as -steps N (the full anneal is 2,700 steps; -langevin-scale 0.3 is -steps 810)",
	"sample -marginal-sampler": "it is called -sampler",
	"sample -denoise":          "denoising is its own command: bism denoise -run DIR -sigma S",
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

// given reports which flags of fs were set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}

// refuse returns an error naming the first of the flags that was given:
// flags that do not apply to the run's model.
func refuse(fs *flag.FlagSet, why string, names ...string) error {
	g := given(fs)
	for _, n := range names {
		if g[n] {
			return usageError("-%s does not apply: %s", n, why)
		}
	}
	return nil
}

func cmdHelp(args []string) error {
	if len(args) == 0 {
		usage(stdout)
		return nil
	}
	if _, ok := findCommand(args[0]); !ok {
		msg := fmt.Sprintf("no command %q", args[0])
		if m := config.Nearest(args[0], commandNames()); m != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", m)
		}
		return usageError("%s", msg)
	}
	help(stdout, args[0])
	return nil
}

// help prints a command's synopsis, description and flags.
func help(w io.Writer, name string) {
	c, _ := findCommand(name)
	fmt.Fprintf(w, "bism %s %s\n\n%s\n", c.name, c.args, c.summary)
	if c.about != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.about))
	}
	if c.flags == nil {
		return
	}
	fs := newFlags(name)
	c.flags(fs)
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		left := "-" + f.Name
		if arg != "" {
			left += " " + arg
		}
		def := ""
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, fmt.Sprintf("  %-24s %s%s", left, usage, def))
	})
	sort.Strings(lines)
	fmt.Fprintf(w, "\nFlags:\n%s\n", strings.Join(lines, "\n"))
}
