package sweep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/train"
)

// State is where a cell stands.
type State string

const (
	Pending  State = "pending"  // no run yet
	Partial  State = "partial"  // a run with a checkpoint short of its last iteration
	Finished State = "finished" // trained to its last iteration
)

// CellState reads the state of a cell's run under dir, with the iteration
// of its last metrics record.
func CellState(dir string, c Cell) (State, int, error) {
	d := filepath.Join(dir, c.Name)
	if !train.HasCheckpoint(d) {
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
	if it >= cfg.Train.Iterations {
		return Finished, it, nil
	}
	return Partial, it, nil
}

// Options control Run.
type Options struct {
	Jobs     int       // cells trained at once (default 1)
	DataDir  string    // data root (data.dir), when set
	Progress io.Writer // one line per cell started and ended, with an ETA
	Command  []string  // recorded in each run's run.json
}

// Run trains the cells under dir, Jobs at a time: finished cells are
// skipped, partial ones resumed from their checkpoints, pending ones
// started. Each run is the same as `bism train -config C -set ... -out
// DIR/NAME -resume=auto`, so its results do not depend on Jobs. A failed
// cell does not stop the others; Run returns the cells' errors joined.
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
				_, err := experiment.Train(ctx, experiment.TrainOptions{
					Config: c.Config, Overrides: c.Overrides, Dir: filepath.Join(dir, c.Name),
					Resume: experiment.ResumeAuto, DataDir: o.DataDir, Command: o.Command,
				})
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
