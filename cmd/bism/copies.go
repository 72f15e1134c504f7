package main

import (
	"encoding/json"
	"fmt"
	"runtime"
	"sync"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/internal/parallel"
)

const copiesAbout = `
With -copies N (N >= 2) it instead times N independent copies of the run
at once, each on one core (no loop split), after one copy alone. Cores
that share caches, memory or, in a virtual machine, a host may run each
copy slower than one alone; N times one copy's time over the slowest
copy's is the most any way of splitting one run over N cores could give
it on that machine.`

// benchCopies times one copy of the run alone and then n copies at once,
// every copy on one core, and reports their throughput against one copy's:
// the ceiling for splitting this workload over n cores on this machine.
func benchCopies(a benchArgs, cfg config.Config) error {
	n := a.copies
	if n < 2 {
		return usageError("-copies %d: N copies at once against one alone needs N >= 2", n)
	}
	if p := runtime.GOMAXPROCS(0); p < n {
		return usageError("-copies %d needs %d cores, and GOMAXPROCS is %d", n, n, p)
	}
	if a.profile != "" || a.blockProfile != "" || a.mutexProfile != "" || a.memProfile != "" {
		return usageError("-copies does not combine with profiles")
	}
	defer func(w int) { parallel.Workers = w }(parallel.Workers)
	parallel.Workers = 1
	exps := make([]*experiment.Experiment, n)
	for i := range exps {
		var err error
		if exps[i], _, err = warmedUp(cfg, nil, a.warmup, true); err != nil {
			return err
		}
	}
	alone, err := exps[0].Run.Bench(0, a.iters)
	if err != nil {
		return err
	}
	together := make([]float64, n)
	errs := make([]error, n)
	var done sync.WaitGroup
	start := make(chan struct{})
	for i, e := range exps {
		done.Add(1)
		go func() {
			defer done.Done()
			<-start
			together[i], errs[i] = e.Run.Bench(0, a.iters)
		}()
	}
	close(start)
	done.Wait()
	slowest := 0.0
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("copy %d: %w", i, err)
		}
		slowest = max(slowest, together[i])
	}
	ratio := float64(n) * alone / slowest
	if a.json {
		return json.NewEncoder(stdout).Encode(map[string]any{"copies": n, "iterations": a.iters,
			"ms_per_iter_alone": alone, "ms_per_iter_copies": together, "throughput_ratio": ratio,
			"method": cfg.Method.Name, "data": cfg.Data.Name, "model": cfg.Model.Kind, "ch": cfg.Model.Ch})
	}
	fmt.Fprintf(stdout, "%s, one core per copy (batch %d, %d iterations after %d warm-up):\n",
		cfg.Describe(), cfg.Train.BatchSize, a.iters, a.warmup)
	fmt.Fprintf(stdout, "one copy alone: %.3f ms per iteration\n%d copies at once:", alone, n)
	for _, ms := range together {
		fmt.Fprintf(stdout, " %.3f", ms)
	}
	fmt.Fprintf(stdout, " ms per iteration\n%d cores give at most %.2fx one core's speed here\n", n, ratio)
	return nil
}
