package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/internal/atomicfile"
	"github.com/bism-ml/bism/train"
)

// State is where a cell stands.
type State string

const (
	Pending  State = "pending"  // no run yet
	Partial  State = "partial"  // a run with a checkpoint short of its last iteration, or not evaluated yet
	Failed   State = "failed"   // its last attempt failed (the error is in FailedFile)
	Finished State = "finished" // trained to its last iteration (and evaluated, with an evaluation step)
)

// Files a sweep writes in a cell's run directory.
const (
	EvalFile   = "eval.json"    // the unnamed evaluation step's output
	FailedFile = "sweep.failed" // why the cell's last attempt failed
)

// CellState reads the state of a cell's run under dir, with the iteration
// of its last metrics record.
func CellState(dir string, c Cell) (State, int, error) {
	d := filepath.Join(dir, c.Name)
	failed := fileExists(filepath.Join(d, FailedFile))
	if !train.HasCheckpoint(d) {
		if failed {
			return Failed, 0, nil
		}
		return Pending, 0, nil
	}
	cfg, err := c.Resolve()
	if err != nil {
		return Pending, 0, err
	}
	recs, err := train.ReadMetrics(filepath.Join(d, train.MetricsFile))
	if err != nil || len(recs) == 0 {
		return Partial, 0, nil
	}
	it := int(recs[len(recs)-1]["iter"])
	switch {
	case it >= cfg.Train.Iterations && evaluated(d, c):
		return Finished, it, nil
	case failed:
		return Failed, it, nil
	}
	return Partial, it, nil
}

// evaluated reports whether every evaluation step of the cell in d has
// written its file.
func evaluated(d string, c Cell) bool {
	for _, s := range c.Evals {
		if !fileExists(filepath.Join(d, s.File())) {
			return false
		}
	}
	return true
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Options control Run.
type Options struct {
	Jobs     int       // cells trained at once (default 1)
	Retries  int       // further attempts of a failed cell (each resumes from its checkpoint)
	DataDir  string    // data root (data.dir), when set
	Progress io.Writer // one line per cell started and ended, with an ETA
	Command  []string  // recorded in each run's run.json
	// Eval runs a cell's evaluation step (`bism eval -run DIR -json
	// FLAGS...`) and returns its JSON; required when the cells have one.
	Eval func(ctx context.Context, runDir string, flags []string) ([]byte, error)
	// Train, when set, trains a cell in runDir to its end, resuming its
	// checkpoint (the command line runs `bism train -resume=auto` in a
	// process of its own); nil trains in this process.
	Train func(ctx context.Context, runDir string, c Cell) error
}

// Run trains the cells under dir, Jobs at a time: finished cells are
// skipped, partial ones resumed from their checkpoints, pending ones
// started. Each run is the same as `bism train -config C -set ... -out
// DIR/NAME -resume=auto` (then the evaluation step, when the sweep has
// one), so its results do not depend on Jobs. A failed cell is tried
// Retries more times, each resuming from its checkpoint, and does not stop
// the others; Run returns the failed cells' errors joined.
// When ctx is cancelled the running cells save their checkpoints and Run
// returns.
func Run(ctx context.Context, dir string, cells []Cell, o Options) error {
	jobs := max(o.Jobs, 1)
	var todo []Cell
	skipped := 0
	for _, c := range cells {
		st, _, err := CellState(dir, c)
		if err != nil {
			return err
		}
		if st == Finished {
			skipped++
			continue
		}
		todo = append(todo, c)
	}
	var mu sync.Mutex
	say := func(format string, args ...any) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(o.Progress, format+"\n", args...)
	}
	if skipped > 0 {
		say("sweep: %d of %d cells already finished", skipped, len(cells))
	}
	start := time.Now()
	var errs []error
	done := 0
	queue := make(chan Cell)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range queue {
				say("sweep: start %s", c.Name)
				t0 := time.Now()
				var err error
				for attempt := 0; attempt <= o.Retries; attempt++ {
					if attempt > 0 {
						say("sweep: %s failed (%v); attempt %d of %d", c.Name, err, attempt+1, o.Retries+1)
					}
					if err = runCell(ctx, dir, c, o); err == nil || ctx.Err() != nil {
						break
					}
				}
				mu.Lock()
				done++
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
				}
				n := done
				mu.Unlock()
				left := time.Duration(float64(time.Since(start)) / float64(n) * float64(len(todo)-n))
				status := "done"
				if err != nil {
					status = "FAILED: " + err.Error()
				}
				say("sweep: %s %s in %s (%d/%d, about %s left)", c.Name, status, time.Since(t0).Round(time.Second), n, len(todo), left.Round(time.Second))
			}
		}()
	}
	for _, c := range todo {
		if ctx.Err() != nil {
			break
		}
		queue <- c
	}
	close(queue)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return ctx.Err()
}

// runCell trains one cell to its end (resuming its checkpoint) and runs its
// evaluation step; a failure is recorded in the cell's FailedFile, which a
// success removes.
func runCell(ctx context.Context, dir string, c Cell, o Options) error {
	d := filepath.Join(dir, c.Name)
	err := trainAndEval(ctx, d, c, o)
	failed := filepath.Join(d, FailedFile)
	if err != nil && ctx.Err() == nil {
		if os.MkdirAll(d, 0o755) == nil {
			os.WriteFile(failed, []byte(err.Error()+"\n"), 0o644)
		}
		return err
	}
	os.Remove(failed)
	return err
}

func trainAndEval(ctx context.Context, d string, c Cell, o Options) error {
	var err error
	if o.Train != nil {
		err = o.Train(ctx, d, c)
	} else {
		_, err = experiment.Train(ctx, experiment.TrainOptions{
			Config: c.Config, Overrides: c.Overrides, Dir: d,
			Resume: experiment.ResumeAuto, DataDir: o.DataDir, Command: o.Command,
		})
	}
	if err != nil || len(c.Evals) == 0 {
		return err
	}
	if o.Eval == nil {
		return fmt.Errorf("the sweep has an evaluation step and no evaluator was given")
	}
	for _, s := range c.Evals {
		p := filepath.Join(d, s.File())
		if fileExists(p) {
			continue // evaluated before an interruption
		}
		out, err := o.Eval(ctx, d, s.Flags)
		if err != nil {
			if s.Name != "" {
				return fmt.Errorf("evaluation %s: %w", s.Name, err)
			}
			return fmt.Errorf("evaluation: %w", err)
		}
		if err := atomicfile.Write(p, func(w io.Writer) error {
			_, err := w.Write(out)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// FailedReason returns why a failed cell's last attempt failed.
func FailedReason(dir string, c Cell) string {
	b, _ := os.ReadFile(filepath.Join(dir, c.Name, FailedFile))
	return strings.TrimSpace(string(b))
}
