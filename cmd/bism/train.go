package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/internal/blas"
	"github.com/bism-ml/bism/internal/parallel"
	"github.com/bism-ml/bism/train"
)

const trainAbout = `
Trains the model a config describes and writes the run directory: config.yaml
(the resolved config), run.json (who started it, when, with which build),
metrics.jsonl (one record per train.eval_every iterations), checkpoint.safetensors,
snapshots under checkpoints/ and PNG figures.

A directory that already holds a run is never overwritten silently: -resume
continues it (only train.iterations, train.eval_every, train.checkpoint_every,
eval.* and data.dir may change), -force deletes what bism wrote there and starts
over. A second training of the same directory is refused while one runs.
Ctrl-C (or SIGTERM) saves a checkpoint at the next step and exits; -resume
continues exactly where it stopped.

Started by mpirun or srun as P processes (a bism built with -tags mpi), it
trains one data-parallel run: train.batch_size stays the global batch, each
rank trains its rows of it with the noise one process would draw for them,
gradients (those of the unrolled inner steps included) are averaged across
ranks, and rank 0 writes the run directory. The result agrees with one
process to float32 round-off:
  mpirun -np 4 bism train -config mnist/bimdsm-cpu -out runs/mnist4`

type trainArgs struct {
	config, out, data  string
	sets               setFlags
	resume             resumeFlag
	force, quiet, skip bool
}

func (a *trainArgs) declare(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "config", "", "config: a YAML file or a built-in name (bism configs lists them)")
	fs.StringVar(&a.out, "out", "", "run directory")
	fs.Var(&a.sets, "set", "override a config key, e.g. -set train.iterations=2000 (repeatable)")
	fs.Var(&a.resume, "resume", "continue the run in -out from its checkpoint; =auto also starts one that has none")
	fs.BoolVar(&a.force, "force", false, "delete the run already in -out and start over")
	fs.BoolVar(&a.quiet, "quiet", false, "no progress output")
	fs.StringVar(&a.data, "data", "", "data folder (default $BISM_DATA, else the user data folder)")
	fs.BoolVar(&a.skip, "skip-memory-check", false, "train even when the run's estimated memory exceeds what is available")
}

func trainFlags(fs *flag.FlagSet) { new(trainArgs).declare(fs) }

// resumeFlag is -resume (yes) or -resume=auto.
type resumeFlag struct{ mode experiment.Resume }

func (r *resumeFlag) IsBoolFlag() bool { return true }
func (r *resumeFlag) String() string {
	switch r.mode {
	case experiment.ResumeYes:
		return "true"
	case experiment.ResumeAuto:
		return "auto"
	}
	return "false"
}
func (r *resumeFlag) Set(v string) error {
	switch v {
	case "true", "yes", "1":
		r.mode = experiment.ResumeYes
	case "auto":
		r.mode = experiment.ResumeAuto
	case "false", "no", "0":
		r.mode = experiment.ResumeNo
	default:
		return fmt.Errorf("want -resume or -resume=auto, got %q", v)
	}
	return nil
}

func cmdTrain(args []string) error {
	var a trainArgs
	fs := newFlags("train")
	a.declare(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if a.out == "" {
		return usageError("-out is required (the run directory)")
	}
	if a.force && a.resume.mode != experiment.ResumeNo {
		return usageError("-force starts over and -resume continues: give one")
	}
	group, leave, err := launch()
	if err != nil {
		return err
	}
	var progress io.Writer = stderr
	if a.quiet || !group.Lead() {
		progress = nil
	}
	ctx, sig, stop := interruptible(group.Lead())
	defer stop()
	_, err = experiment.Train(ctx, experiment.TrainOptions{Config: a.config, Overrides: a.sets, Dir: a.out,
		Resume: a.resume.mode, Force: a.force, DataDir: a.data, Command: os.Args, SkipMemoryCheck: a.skip, Progress: progress,
		Group: group})
	err = leave(err)
	if errors.Is(err, train.ErrInterrupted) {
		return interrupted(sig, fmt.Errorf("%w\nresume with: bism train -resume -out %s", err, a.out))
	}
	if err == nil && progress != nil {
		fmt.Fprintf(progress, "done: evaluate with bism eval -run %s, sample with bism sample -run %s\n", a.out, a.out)
	}
	return err
}

// interrupted is the error of a command stopped by a signal: exit status
// 130 for SIGINT, 143 for SIGTERM.
func interrupted(sig func() os.Signal, err error) error {
	code := 130
	if sig() == syscall.SIGTERM {
		code = 143
	}
	return exitError{code, err}
}

// interruptible returns a context cancelled by the first SIGINT or SIGTERM
// (the training saves and stops at the next step); a second signal exits
// at once. sig reports the signal received.
func interruptible(say bool) (ctx context.Context, sig func() os.Signal, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	var got os.Signal
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if got != nil {
					fmt.Fprintln(stderr, "bism: second signal, exiting without saving")
					os.Exit(130)
				}
				got = s
				if say {
					fmt.Fprintln(stderr, "bism: stopping at the next step and saving a checkpoint (press Ctrl-C again to exit at once)")
				}
				cancel()
			case <-done:
				return
			}
		}
	}()
	return ctx, func() os.Signal { return got }, func() { signal.Stop(ch); close(done); cancel() }
}

const benchAbout = `
Times training iterations only (no evaluation, no files): -warmup untimed
iterations, then -iterations timed ones, on the config's data and model.
On more than one core the warm-up goes on until the run has timed steps
on one core against steps split over all and kept the faster, as
training does (-fixed-cores: every loop split, no timing).
It also reports the floating-point operations of the matrix products an
iteration makes (2mnk each; convolutions count where they run as
products) and their rate over the whole step: divided by the machine's
product speed, the fraction of the FLOP limit a step reaches; the heap
allocations an iteration makes; and the most memory the process has held
resident (on Linux: data, model, warm-up and timed iterations). Under
mpirun (a bism built with -tags mpi) it times data-parallel iterations,
counts rank 0's share of the products, and reports the sums across ranks
each iteration makes: how many, and the bytes each rank sends to them.`

type benchArgs struct {
	config, data, profile      string
	blockProfile, mutexProfile string
	memProfile                 string
	iters, warmup, copies      int
	json, fixedCores           bool
	sets                       setFlags
}

func (a *benchArgs) declare(fs *flag.FlagSet) {
	fs.StringVar(&a.config, "config", "", "config: a YAML file or a built-in name")
	fs.IntVar(&a.iters, "iterations", 50, "timed training iterations")
	fs.IntVar(&a.warmup, "warmup", 5, "untimed warm-up iterations")
	fs.BoolVar(&a.json, "json", false, "print one JSON object")
	fs.BoolVar(&a.fixedCores, "fixed-cores", false, "split the steps' loops over every core, without timing one core against them (a run keeps the faster)")
	fs.StringVar(&a.data, "data", "", "data folder")
	fs.IntVar(&a.copies, "copies", 0, "time `N` independent one-core copies of the run at once against one alone: the most N cores could give it here")
	fs.StringVar(&a.profile, "cpuprofile", "", "write a CPU profile of the timed iterations to this `file`")
	fs.StringVar(&a.blockProfile, "blockprofile", "", "write a profile of where the timed iterations' goroutines waited (blocking) to this `file`")
	fs.StringVar(&a.mutexProfile, "mutexprofile", "", "write a profile of the timed iterations' lock contention to this `file`")
	fs.StringVar(&a.memProfile, "memprofile", "", "write a profile of the timed iterations' heap allocations (every one sampled) to this `file`")
	fs.Var(&a.sets, "set", "override a config key (repeatable)")
}

func benchFlags(fs *flag.FlagSet) { new(benchArgs).declare(fs) }

func cmdBench(args []string) error {
	var a benchArgs
	fs := newFlags("bench")
	a.declare(fs)
	if err := parse(fs, args, false); err != nil {
		return err
	}
	if a.config == "" {
		return usageError("-config is required")
	}
	if a.iters < 1 || a.warmup < 0 || a.copies < 0 {
		return usageError("-iterations must be positive, -warmup and -copies non-negative")
	}
	cfg, err := config.Load(a.config, a.sets)
	if err != nil {
		return err
	}
	if a.data != "" {
		cfg.Data.Dir = a.data
	}
	cfg.Train.Iterations = a.warmup + a.iters
	group, leave, err := launch()
	if err != nil {
		return err
	}
	if a.copies > 0 {
		if group != nil {
			return leave(usageError("-copies runs in one process, not under mpirun"))
		}
		return benchCopies(a, cfg)
	}
	return leave(bench(a, cfg, group))
}

// warmedUp returns the experiment of cfg (a rank's, with group) after its
// untimed warm-up iterations, and those it took to choose its cores
// (train.Run.SettleCores).
func warmedUp(cfg config.Config, group *dist.Group, warmup int, fixedCores bool) (e *experiment.Experiment, settle int, err error) {
	e, err = experiment.New(cfg, "", experiment.Options{Group: group})
	if err != nil {
		return nil, 0, err
	}
	e.Run.FixedCores = fixedCores
	if err := experiment.CheckMemory(e); err != nil {
		return nil, 0, err
	}
	if err := e.Run.Steps(warmup); err != nil {
		return nil, 0, err
	}
	settle, err = e.Run.SettleCores()
	return e, settle, err
}

// bench times the iterations; in a data-parallel launch it also reports
// the sums across ranks each iteration makes.
func bench(a benchArgs, cfg config.Config, group *dist.Group) error {
	e, settle, err := warmedUp(cfg, group, a.warmup, a.fixedCores)
	if err != nil {
		return err
	}
	if a.profile != "" {
		f, err := os.Create(a.profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	profiles := map[string]*os.File{}
	for name, path := range map[string]string{"block": a.blockProfile, "mutex": a.mutexProfile, "allocs": a.memProfile} {
		if path == "" {
			continue
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		profiles[name] = f
	}
	if profiles["block"] != nil {
		runtime.SetBlockProfileRate(1)
		defer runtime.SetBlockProfileRate(0)
	}
	if profiles["mutex"] != nil {
		runtime.SetMutexProfileFraction(1)
		defer runtime.SetMutexProfileFraction(0)
	}
	if profiles["allocs"] != nil {
		// Every allocation from here on, so the profile's counts are exact.
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 1
	}
	calls0, bytes0 := group.Traffic()
	flops0 := blas.Flops()
	var mem0, mem1 runtime.MemStats
	runtime.ReadMemStats(&mem0)
	ms, err := e.Run.Bench(0, a.iters)
	if err != nil {
		return err
	}
	runtime.ReadMemStats(&mem1)
	if profiles["allocs"] != nil {
		runtime.GC() // the profile holds allocations up to the last collection
	}
	for name, f := range profiles {
		if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
			return fmt.Errorf("writing the %s profile: %w", name, err)
		}
	}
	calls, bytes := group.Traffic()
	perIter := func(n, n0 int64) float64 { return float64(n-n0) / float64(a.iters) }
	gflop := perIter(blas.Flops(), flops0) / 1e9
	allocs := perIter(int64(mem1.Mallocs), int64(mem0.Mallocs))
	allocBytes := perIter(int64(mem1.TotalAlloc), int64(mem0.TotalAlloc))
	gcs := perIter(int64(mem1.NumGC), int64(mem0.NumGC))
	rss := experiment.PeakRSS()
	if !group.Lead() {
		return nil
	}
	if a.json {
		out := map[string]any{"ms_per_iter": ms, "iterations": a.iters, "gemm_gflop_per_iter": gflop,
			"allocs_per_iter": allocs, "alloc_bytes_per_iter": allocBytes, "gc_per_iter": gcs,
			"method": cfg.Method.Name, "data": cfg.Data.Name, "model": cfg.Model.Kind, "ch": cfg.Model.Ch,
			"one_core": e.Run.OneCore(), "core_choice_steps": settle}
		if rss > 0 {
			out["peak_rss_mib"] = float64(rss) / (1 << 20)
		}
		if group != nil {
			out["ranks"], out["allreduce_calls_per_iter"], out["allreduce_bytes_per_iter"] = group.Size(), perIter(calls, calls0), perIter(bytes, bytes0)
		}
		return json.NewEncoder(stdout).Encode(out)
	}
	fmt.Fprintf(stdout, "%s: %.3f ms per iteration (batch %d, %d iterations after %d warm-up",
		cfg.Describe(), ms, cfg.Train.BatchSize, a.iters, a.warmup)
	if settle > 0 {
		fmt.Fprintf(stdout, " and %d choosing the cores", settle)
	}
	fmt.Fprintln(stdout, ")")
	if gflop > 0 {
		fmt.Fprintf(stdout, "matrix products: %.4g GFLOP per iteration, %.1f GFLOP/s over the whole step\n", gflop, gflop/ms*1e3)
	}
	gc := "no garbage collection"
	if gcs > 0 {
		gc = fmt.Sprintf("a garbage collection every %.3g iterations", 1/gcs)
	}
	fmt.Fprintf(stdout, "heap: %.0f allocations (%.0f bytes) per iteration, %s\n", allocs, allocBytes, gc)
	if rss > 0 {
		fmt.Fprintf(stdout, "memory: peak resident set %.0f MiB (the process so far: data, model, warm-up and timed iterations)\n", float64(rss)/(1<<20))
	}
	switch w := parallel.Workers; {
	case w <= 1:
	case a.fixedCores:
		fmt.Fprintf(stdout, "cores: every step's loops split over %d (-fixed-cores)\n", w)
	case e.Run.OneCore():
		fmt.Fprintf(stdout, "cores: the steps run on one core, which the last timing of one core against %d found faster\n", w)
	default:
		fmt.Fprintf(stdout, "cores: the steps' loops split over %d, which the last timing against one core found no slower\n", w)
	}
	if group != nil {
		fmt.Fprintf(stdout, "data-parallel over %d ranks: %.0f sums across ranks per iteration, %.0f bytes from each rank\n",
			group.Size(), perIter(calls, calls0), perIter(bytes, bytes0))
	}
	return nil
}
