package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/internal/atomicfile"
	"github.com/bism-ml/bism/sweep"
	"github.com/bism-ml/bism/train"
)

const sweepAbout = `
Runs a grid of experiments described by a sweep file (configs/sweeps/ has
examples): a base config, named variants, a grid of config keys and seeds.
Each cell is a run directory under -out named after its variant, grid values
and seed (e.g. n0,lr=0.001,seed1), trained as 'bism train -resume=auto' would:
finished cells are skipped, unfinished ones resumed, so the same command
continues an interrupted sweep. -j cells train at once, each in a process of
its own with GOMAXPROCS = cores / j; results do not depend on it. -set
applies to every cell (e.g. a short smoke sweep: -set train.iterations=200).
A value written {train.iterations/10} is computed from the cell's config.

A sweep file may add an evaluation step (eval: [-select], the flags of 'bism
eval -json'), run after each cell's training into its eval.json, or named
steps (eval: {fid: [...], grid: [...]}) into eval-NAME.json each; a variant
may add named steps of its own. A cell is finished when it has trained to
train.iterations and written every evaluation's file; a failed cell is tried
again -retries times, resuming from its checkpoint (and its evaluations
from the first missing one), and -status shows why it failed.

At the end (and with -summarize DIR alone) it writes DIR/summary.csv (one
row per cell, with the evaluations' numbers as eval.KEY or eval.NAME.KEY), DIR/summary.md
(mean ± sd over seeds per cell of each final metric) and DIR/curves.png.
-status DIR lists each cell's state. The sweep file and -set overrides are
kept in DIR/sweep.json, so -status, -summarize and a rerun need only DIR.

-slurm submits the cells to Slurm instead: DIR/slurm/cells.sh is an sbatch
array script, one task per cell running 'bism sweep -out DIR -cell I' (a
requeued task resumes from its checkpoint), and DIR/slurm/summary.sh runs
after the array has ended (--dependency=afterany) and writes the summary.
-slurm-args adds sbatch options (partition, time, CPUs) to both; -cancel DIR
cancels them (scancel). -ranks P trains each cell as one data-parallel run
of P processes: the array tasks ask for P tasks each (--ntasks) and start
the training with 'srun --mpi=pmix', so bism must be built with the mpi tag
(README, "Running on a cluster").`

type sweepArgs struct {
	file, out, data, status, summarize string
	jobs, cell, retries, ranks         int
	cancel                             string
	sets                               setFlags
	slurm                              bool
	slurmArgs                          string
}

func (a *sweepArgs) declare(fs *flag.FlagSet) {
	fs.StringVar(&a.file, "file", "", "sweep file (YAML; configs/sweeps/ has examples)")
	fs.StringVar(&a.out, "out", "", "the sweep's folder: one run directory per cell")
	fs.IntVar(&a.jobs, "j", 1, "cells trained at once")
	fs.Var(&a.sets, "set", "override a config key in every cell (repeatable)")
	fs.StringVar(&a.data, "data", "", "data folder (default $BISM_DATA, else the user data folder)")
	fs.StringVar(&a.status, "status", "", "print the state of each cell of the sweep in this folder")
	fs.StringVar(&a.summarize, "summarize", "", "write the summary of the sweep in this folder")
	fs.BoolVar(&a.slurm, "slurm", false, "submit the cells to Slurm as a job array (sbatch), and the summary as a job that runs after it")
	fs.StringVar(&a.slurmArgs, "slurm-args", "", "extra sbatch options for every job, e.g. \"--partition=cpu --time=2:00:00 --cpus-per-task=2\"")
	fs.IntVar(&a.cell, "cell", -1, "train only the cell of this index (what each array task of -slurm runs)")
	fs.IntVar(&a.retries, "retries", 1, "further attempts of a failed cell, each resuming from its checkpoint")
	fs.StringVar(&a.cancel, "cancel", "", "cancel the Slurm jobs of the sweep in this folder (scancel)")
	fs.IntVar(&a.ranks, "ranks", 1, "with -slurm: processes per cell, one data-parallel run each (srun; a bism built with -tags mpi)")
}

func sweepFlags(fs *flag.FlagSet) { new(sweepArgs).declare(fs) }

// sweepRecord is DIR/sweep.json: what a later -status, -summarize or rerun
// needs to rebuild the cells.
type sweepRecord struct {
	File   string   `json:"file"`
	Source string   `json:"source"`
	Set    []string `json:"set"`
}

func cmdSweep(args []string) error {
	var a sweepArgs
	fs := newFlags("sweep")
	a.declare(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	switch {
	case a.status != "":
		cells, err := recordedCells(a.status)
		if err != nil {
			return err
		}
		counts := map[sweep.State]int{}
		for _, c := range cells {
			st, it, err := sweep.CellState(a.status, c)
			if err != nil {
				return err
			}
			counts[st]++
			fmt.Fprintf(stdout, "%-9s %8d  %s\n", st, it, c.Name)
			if st == sweep.Failed {
				fmt.Fprintf(stdout, "%18s%s\n", "", sweep.FailedReason(a.status, c))
			}
		}
		fmt.Fprintf(stdout, "%d cells: %d finished, %d partial, %d pending", len(cells), counts[sweep.Finished], counts[sweep.Partial], counts[sweep.Pending])
		if counts[sweep.Failed] > 0 {
			fmt.Fprintf(stdout, ", %d failed", counts[sweep.Failed])
		}
		fmt.Fprintln(stdout)
		if jobs := slurmJobs(a.status); jobs != "" {
			arr, sum, _ := strings.Cut(jobs, " ")
			fmt.Fprintf(stdout, "Slurm: cells in array job %s, summary in job %s (squeue -j %s,%s; sacct -j %s)\n", arr, sum, arr, sum, arr)
		}
		return nil
	case a.cancel != "":
		return cancelSlurm(a.cancel)
	case a.summarize != "":
		cells, err := recordedCells(a.summarize)
		if err != nil {
			return err
		}
		return summarize(a.summarize, cells)
	}
	if a.out == "" {
		return usageError("-out is required (the sweep's folder), or -status DIR / -summarize DIR")
	}
	if a.jobs < 1 || a.retries < 0 {
		return usageError("-j must be at least 1 and -retries non-negative")
	}
	rec := sweepRecord{File: a.file, Set: a.sets}
	if a.file == "" {
		prev, err := readRecord(a.out)
		if err != nil {
			return usageError("-file is required (the sweep file), unless -out holds a sweep to continue: %v", err)
		}
		rec = prev
		if len(a.sets) > 0 {
			rec.Set = a.sets
		}
	} else {
		b, err := os.ReadFile(a.file)
		if err != nil {
			return err
		}
		rec.Source = string(b)
	}
	cells, err := cellsOf(rec)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(a.out, 0o755); err != nil {
		return err
	}
	if a.cell < 0 { // array tasks read the record, never write it
		if err := writeRecord(a.out, rec); err != nil {
			return err
		}
	}
	if a.ranks < 1 || (a.ranks > 1 && !a.slurm && a.cell < 0) {
		return usageError("-ranks P (P >= 1) goes with -slurm: each cell is a data-parallel run started by srun")
	}
	if a.slurm {
		return submitSlurm(a, cells)
	}
	if a.cell >= 0 {
		if a.cell >= len(cells) {
			return usageError("-cell %d: the sweep has %d cells (0 to %d)", a.cell, len(cells), len(cells)-1)
		}
		cells = cells[a.cell : a.cell+1]
	}
	fmt.Fprintf(stderr, "bism sweep: %d cells in %s, %d at a time\n", len(cells), a.out, a.jobs)
	ctx, sig, stop := interruptible(true)
	defer stop()
	runErr := sweep.Run(ctx, a.out, cells, sweep.Options{Jobs: a.jobs, Retries: a.retries, DataDir: a.data,
		Progress: stderr, Command: os.Args, Eval: evalStep(a.data), Train: trainStep(a.data, a.jobs, a.ranks)})
	if errors.Is(runErr, train.ErrInterrupted) || ctx.Err() != nil {
		return interrupted(sig, fmt.Errorf("interrupted; the same command continues the sweep: bism sweep -out %s", a.out))
	}
	if a.cell >= 0 {
		return runErr // the summary is the dependent job's
	}
	if err := summarize(a.out, cells); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

func summarize(dir string, cells []sweep.Cell) error {
	files, err := sweep.Summarize(dir, cells)
	for _, f := range files {
		fmt.Fprintf(stderr, "wrote %s\n", f)
	}
	return err
}

func cellsOf(rec sweepRecord) ([]sweep.Cell, error) {
	f, err := sweep.Parse([]byte(rec.Source), rec.File)
	if err != nil {
		return nil, err
	}
	return f.Cells(rec.Set)
}

const sweepRecordFile = "sweep.json"

func readRecord(dir string) (sweepRecord, error) {
	var rec sweepRecord
	b, err := os.ReadFile(filepath.Join(dir, sweepRecordFile))
	if err != nil {
		return rec, fmt.Errorf("%s holds no sweep (no %s)", dir, sweepRecordFile)
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return rec, fmt.Errorf("%s: %v", filepath.Join(dir, sweepRecordFile), err)
	}
	return rec, nil
}

func writeRecord(dir string, rec sweepRecord) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dir, sweepRecordFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

func recordedCells(dir string) ([]sweep.Cell, error) {
	rec, err := readRecord(dir)
	if err != nil {
		return nil, err
	}
	return cellsOf(rec)
}

// trainStep trains a cell as `bism train -resume=auto` in a process of its
// own (a failing cell cannot take the sweep down), with GOMAXPROCS set to
// the machine's cores divided among the jobs; its results do not depend on
// that number.
//
// With ranks > 1 (an array task of -slurm -ranks) the training is started by
// srun as one data-parallel run over the task's ranks, each with the CPUs
// Slurm gave a task.
func trainStep(data string, jobs, ranks int) func(ctx context.Context, dir string, c sweep.Cell) error {
	return func(ctx context.Context, dir string, c sweep.Cell) error {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		args := []string{exe, "train", "-config", c.Config, "-out", dir, "-resume=auto", "-quiet"}
		procs := max(1, runtime.NumCPU()/jobs)
		if ranks > 1 {
			args = append([]string{"srun", "--ntasks=" + strconv.Itoa(ranks), "--mpi=pmix", "--kill-on-bad-exit=1"}, args...)
			procs = 1
			if n, err := strconv.Atoi(os.Getenv("SLURM_CPUS_PER_TASK")); err == nil && n > 0 {
				procs = n
			}
		}
		for _, o := range c.Overrides {
			args = append(args, "-set", o)
		}
		if data != "" {
			args = append(args, "-data", data)
		}
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		// Interrupted, the child saves its checkpoint (SIGINT) before it stops.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMAXPROCS=%d", procs))
		var e bytes.Buffer
		cmd.Stderr = &e
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(e.String())
			if ctx.Err() != nil {
				return fmt.Errorf("%w: %s", ctx.Err(), msg)
			}
			return fmt.Errorf("%s", strings.TrimPrefix(msg, "bism train: "))
		}
		return nil
	}
}

// evalStep runs a cell's evaluation step as `bism eval -run DIR -json
// FLAGS...` in a process of its own (its output is the cell's eval.json).
func evalStep(data string) func(ctx context.Context, dir string, flags []string) ([]byte, error) {
	return func(ctx context.Context, dir string, flags []string) ([]byte, error) {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		args := append([]string{"eval", "-run", dir, "-json", "-quiet"}, flags...)
		if data != "" {
			args = append(args, "-data", data)
		}
		cmd := exec.CommandContext(ctx, exe, args...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("bism %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(e.String()))
		}
		return o.Bytes(), nil
	}
}
