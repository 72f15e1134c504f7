package train

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/bism-ml/bism/optim"
	"github.com/bism-ml/bism/tensor"
)

// stepStats is what one training step reports to the loop.
type stepStats struct {
	lr, loss, inner float64
	v               *tensor.Tensor // the clean batch
}

// loop is the training loop shared by Run (GRBMs) and DeepRun: it owns the
// run directory's resolved config and metrics.jsonl, the interval averages
// of the losses, the progress line, the training-time clock and when to log
// and save; the run supplies the step, what a metrics record adds, and how
// to save a checkpoint.
type loop struct {
	dir   string
	cfg   Config
	opts  Options   // Resume, Progress
	state *progress // the run's iteration (advanced by step) and training time

	step func() (stepStats, error)
	// hasInner: the method reports an inner (posterior) loss, averaged into
	// inner_loss and shown on the progress line.
	hasInner bool
	// record adds the run's own entries to a metrics record (evaluations,
	// the posterior Fisher divergence); last is the interval's last step.
	record      func(rec map[string]any, last stepStats) error
	summaryKeys []string // record entries shown on the progress line
	logLabel    string   // "eval" or "log"
	// saveAtLog couples logging and saving (GRBM runs): every logging point
	// saves the checkpoint and every snapshot point writes a record. Deep
	// runs, whose records are frequent and checkpoints large, save only at
	// snapshot points and at the end.
	saveAtLog bool
	save      func(path string) error
}

// run trains until cfg.Train.Iterations. Every train.eval_every iterations
// and at the end it appends a record to metrics.jsonl; every
// train.checkpoint_every iterations it saves checkpoint.safetensors and a
// snapshot under checkpoints/. On resume, records written after the
// checkpoint are dropped first.
func (l *loop) run() error {
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	b, err := MarshalConfig(l.cfg)
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(l.dir, ConfigFile), b); err != nil {
		return err
	}
	mpath := filepath.Join(l.dir, MetricsFile)
	flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if l.opts.Resume {
		if err := truncateMetrics(mpath, l.state.iter); err != nil {
			return err
		}
	} else {
		flags |= os.O_TRUNC
	}
	mf, err := os.OpenFile(mpath, flags, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer mf.Close()
	enc := json.NewEncoder(mf)

	t := l.cfg.Train
	var lossSum, innerSum float64
	var count int
	lastPrint := time.Now()
	startIter, startElapsed := l.state.iter, l.state.elapsed
	segment := time.Now()
	every := func(n int) bool { return n > 0 && l.state.iter%n == 0 }
	for l.state.iter < t.Iterations {
		st, err := l.step()
		if err != nil {
			return err
		}
		lossSum += st.loss
		innerSum += st.inner
		count++
		it := l.state.iter
		end := it == t.Iterations
		if l.opts.Progress != nil && (time.Since(lastPrint) > 2*time.Second || end) {
			el := l.state.elapsed + time.Since(segment).Seconds()
			rate := float64(it-startIter) / math.Max(el-startElapsed, 1e-9)
			inner := ""
			if l.hasInner {
				inner = fmt.Sprintf("  inner %.5g", innerSum/float64(count))
			}
			fmt.Fprintf(l.opts.Progress, "iter %d/%d  loss %.5g%s  %.2f it/s  ETA %s\n", it, t.Iterations,
				lossSum/float64(count), inner, rate, eta(t.Iterations-it, rate))
			lastPrint = time.Now()
		}
		logNow := end || every(t.EvalEvery)
		snapNow := every(t.CheckpointEvery) || (end && !l.saveAtLog)
		saveNow := snapNow
		if l.saveAtLog {
			logNow = logNow || snapNow
			saveNow = logNow
		}
		if !logNow && !saveNow {
			continue
		}
		l.state.elapsed += time.Since(segment).Seconds()
		if logNow {
			rec := map[string]any{"iter": it, "elapsed_s": round(l.state.elapsed, 3), "lr": st.lr,
				"train_loss": lossSum / float64(count)}
			if l.hasInner && !math.IsNaN(innerSum) {
				rec["inner_loss"] = innerSum / float64(count)
			}
			lossSum, innerSum, count = 0, 0, 0
			if l.record != nil {
				if err := l.record(rec, st); err != nil {
					return err
				}
			}
			if err := enc.Encode(rec); err != nil {
				return fmt.Errorf("train: writing metrics: %w", err)
			}
			if l.opts.Progress != nil {
				fmt.Fprintf(l.opts.Progress, "%s @ %d: %s\n", l.logLabel, it, summary(rec, l.summaryKeys))
			}
		}
		if saveNow {
			if err := l.save(filepath.Join(l.dir, CheckpointFile)); err != nil {
				return err
			}
			if snapNow {
				if err := l.save(filepath.Join(l.dir, SnapshotDir, fmt.Sprintf("iter_%08d.safetensors", it))); err != nil {
					return err
				}
			}
		}
		segment = time.Now()
	}
	return nil
}

// divergedAt is the error of a run in dir whose step after iteration iter
// went non-finite (ErrDiverged, naming the checkpoint that is left).
func divergedAt(dir string, iter int, err error) error {
	return fmt.Errorf("%w at iteration %d: %v; nothing was saved after it, the last good checkpoint is %s",
		ErrDiverged, iter+1, err, filepath.Join(dir, CheckpointFile))
}

// timeSteps runs warmup untimed steps, then iters timed ones, and returns
// milliseconds per timed step.
func timeSteps(step func() error, warmup, iters int) (float64, error) {
	for i := 0; i < warmup; i++ {
		if err := step(); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	for i := 0; i < iters; i++ {
		if err := step(); err != nil {
			return 0, err
		}
	}
	return float64(time.Since(start).Microseconds()) / 1000 / float64(iters), nil
}

// lrSchedules returns θ's learning rate and the inner (posterior) one as
// functions of the iteration. θ's follows train.schedule after the warm-up.
// The inner one is by default inner_lr/lr times θ's, so that q anneals with
// θ; with train.inner_schedule it follows that schedule from inner_lr (or lr)
// after the same warm-up, so that q's steps need not shrink while the energy
// is still moving.
func lrSchedules(t TrainConfig) (theta, inner func(it int) float64) {
	warmed := func(name string, base float64) func(it int) float64 {
		s, _ := optim.ScheduleByName(name) // Config.Validate rejected unknown names
		s = optim.WithWarmup(s, t.Warmup)
		return func(it int) float64 { return s(base, it, t.Iterations) }
	}
	theta = warmed(t.Schedule, t.LR)
	if t.InnerSchedule == "" {
		ratio := t.innerLR() / t.LR
		return theta, func(it int) float64 { return theta(it) * ratio }
	}
	return theta, warmed(t.InnerSchedule, t.innerLR())
}

func summary(rec map[string]any, keys []string) string {
	s := ""
	for _, k := range keys {
		if v, ok := rec[k]; ok {
			s += fmt.Sprintf("%s %.5g  ", k, v)
		}
	}
	return s
}

// truncateMetrics keeps the records of path with iter <= upTo (atomically).
func truncateMetrics(path string, upTo int) error {
	recs, err := ReadMetrics(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out []byte
	for _, rec := range recs {
		if int(rec["iter"]) > upTo {
			continue
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		out = append(append(out, b...), '\n')
	}
	return writeAtomic(path, out)
}
