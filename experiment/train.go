package experiment

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/dist"
	"github.com/bism-ml/bism/train"
)

// Resume says what Train does with a run directory that already holds a
// run.
type Resume int

const (
	// ResumeNo starts a new run; a directory holding a run with a
	// checkpoint is refused unless Force is set.
	ResumeNo Resume = iota
	// ResumeYes continues the run in the directory from its checkpoint
	// (or restarts it when it was stopped before its first save).
	ResumeYes
	// ResumeAuto resumes when there is a checkpoint and starts otherwise:
	// the same command for a first attempt and a restart (schedulers).
	ResumeAuto
)

// TrainOptions control Train.
type TrainOptions struct {
	Config    string   // config file or built-in name; "" with Resume: the run's own config.yaml
	Overrides []string // -set key=value
	Dir       string   // the run directory
	Resume    Resume
	// Force starts over in a directory that holds a run: the files bism
	// wrote there are deleted first (and nothing else is touched: a
	// directory holding other files is refused).
	Force bool
	// DataDir, when set, is the data root (data.dir).
	DataDir string
	// Command is recorded in run.json (os.Args).
	Command []string
	// SkipMemoryCheck builds the run even when its estimated memory does
	// not fit this machine.
	SkipMemoryCheck bool
	Progress        io.Writer
	// Data replaces the config's data set (tests, subsets).
	Data *data.Split
	// Group, with several ranks, trains one data-parallel run: rank 0
	// applies the directory rules and writes the run, the other ranks train
	// their rows of each minibatch alongside it.
	Group *dist.Group
}

// ErrLeadRefused is what the ranks other than 0 return when rank 0
// refused to start the run (rank 0 reports why).
var ErrLeadRefused = errors.New("rank 0 did not start the run")

// Train trains the run in o.Dir to its end: it resolves the config,
// applies the directory rules (refusing to overwrite or to resume a
// different experiment), takes the directory's lock, records the start in
// run.json, trains, and draws the figures. When ctx is cancelled it saves
// the checkpoint at the next step boundary and returns an error wrapping
// train.ErrInterrupted.
func Train(ctx context.Context, o TrainOptions) (*Experiment, error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("train: a run directory is required (-out)")
	}
	if !o.Group.Lead() {
		return follow(ctx, o)
	}
	// Rank 0 tells the other ranks of a data-parallel run whether it
	// started, and whether from the checkpoint, once the directory is ready.
	announced := o.Group.Size() == 1
	announce := func(start, resume bool) {
		if !announced {
			o.Group.Agree([]bool{start, resume})
			announced = true
		}
	}
	defer announce(false, false)
	cfg, err := trainConfig(o)
	if err != nil {
		return nil, err
	}
	existed := dirExists(o.Dir)
	lock, err := train.Lock(o.Dir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		lock.Unlock()
		if !started && !existed {
			train.Unmake(o.Dir) // refused before it began: leave no trace
		}
	}()
	train.RemoveTemp(o.Dir)

	resume := false
	switch {
	case train.HasCheckpoint(o.Dir) && o.Resume != ResumeNo:
		prev, err := ReadConfig(o.Dir)
		if err != nil {
			return nil, err
		}
		if err := config.CheckResume(prev, cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Dir, err)
		}
		resume = true
	case train.HasCheckpoint(o.Dir) && !o.Force:
		return nil, fmt.Errorf("%s already holds a run (%s); -resume continues it, -force deletes it and starts over, or choose another -out",
			o.Dir, describeRun(o.Dir))
	case train.HoldsRun(o.Dir) || o.Force:
		// Force, or a run stopped before its first checkpoint: start over.
		if err := train.Clear(o.Dir); err != nil {
			return nil, err
		}
	case o.Resume == ResumeYes:
		return nil, fmt.Errorf("%s holds no run to resume; drop -resume to start one (or use -resume=auto)", o.Dir)
	}

	e, err := New(cfg, o.Dir, Options{Data: o.Data, Progress: o.Progress, Group: o.Group})
	if err != nil {
		return nil, err
	}
	if !o.SkipMemoryCheck {
		if err := CheckMemory(e); err != nil {
			return nil, err
		}
	}
	announce(true, resume)
	event := "start"
	if resume {
		event = "resume"
		if err := e.Run.Restore(e.path(train.CheckpointFile)); err != nil {
			return nil, err
		}
	}
	started = true
	if err := train.RecordStart(o.Dir, event, e.Run.Iter(), o.Command, o.Group.Size()); err != nil {
		return nil, err
	}
	if o.Progress != nil {
		fmt.Fprintf(o.Progress, "bism: %s, run dir %s", cfg.Describe(), o.Dir)
		if n := o.Group.Size(); n > 1 {
			fmt.Fprintf(o.Progress, ", data-parallel over %d ranks", n)
		}
		if resume {
			fmt.Fprintf(o.Progress, ", resumed at iteration %d", e.Run.Iter())
		}
		fmt.Fprintln(o.Progress)
	}
	if err := e.Run.Train(ctx); err != nil {
		return e, err
	}
	files, err := e.Figures()
	if o.Progress != nil {
		for _, f := range files {
			fmt.Fprintf(o.Progress, "wrote %s\n", f)
		}
	}
	return e, err
}

// follow is Train on a rank other than 0: it waits for rank 0 to prepare
// the directory, builds the same run, resumes from the same checkpoint
// and trains its rows of each minibatch.
func follow(ctx context.Context, o TrainOptions) (*Experiment, error) {
	started := []bool{false, false} // rank 0's: started, from the checkpoint
	o.Group.Agree(started)
	if !started[0] {
		return nil, ErrLeadRefused
	}
	cfg, err := trainConfig(o)
	if err != nil {
		return nil, err
	}
	e, err := New(cfg, o.Dir, Options{Data: o.Data, Group: o.Group})
	if err != nil {
		return nil, err
	}
	if started[1] {
		if err := e.Run.Restore(e.path(train.CheckpointFile)); err != nil {
			return nil, err
		}
	}
	return e, e.Run.Train(ctx)
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}

// trainConfig resolves the config a training starts from: the named config
// (or, when resuming without one, the run's own), the overrides and the
// data root.
func trainConfig(o TrainOptions) (config.Config, error) {
	var cfg config.Config
	var err error
	switch {
	case o.Config != "":
		// The overrides are resolved with the file (keys they leave unset
		// take the values that go with the keys they set).
		cfg, err = config.Load(o.Config, o.Overrides)
	case o.Resume != ResumeNo && train.HoldsRun(o.Dir):
		if cfg, err = ReadConfig(o.Dir); err == nil {
			err = config.Override(&cfg, o.Overrides)
		}
	case o.Resume != ResumeNo:
		return cfg, fmt.Errorf("%s holds no run to resume; give -config to start one", o.Dir)
	default:
		return cfg, errors.New("a config is required (-config FILE or a built-in name such as checkerboard/bissm; bism configs lists them)")
	}
	if err != nil {
		return cfg, err
	}
	if o.DataDir != "" {
		cfg.Data.Dir = o.DataDir
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// describeRun says how far the run in dir got.
func describeRun(dir string) string {
	cfg, err := ReadConfig(dir)
	if err != nil {
		return "unreadable config"
	}
	it := "?"
	if recs, err := train.ReadMetrics(filepath.Join(dir, train.MetricsFile)); err == nil && len(recs) > 0 {
		it = strconv.Itoa(int(recs[len(recs)-1]["iter"]))
	}
	return fmt.Sprintf("%s %s on %s, last record at iteration %s of %d", cfg.Model.Kind, cfg.Method.Name, cfg.Data.Name, it, cfg.Train.Iterations)
}
