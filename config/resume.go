package config

import (
	"fmt"
	"strings"
)

// resumable are the keys a resumed run may change: they decide how long
// it runs, how often it records and saves, how it is evaluated and where
// its data are, not what is learned. Every other key defines the
// experiment that the checkpoint belongs to.
func resumable(key string) bool {
	switch key {
	case "train.iterations", "train.eval_every", "train.checkpoint_every", "data.dir":
		return true
	}
	return strings.HasPrefix(key, "eval.")
}

// CheckResume returns nil when next may continue the run configured as
// prev, and otherwise an error listing each key that may not change as
// "key: old -> new". train.iterations may change only when no learning-rate
// schedule or warm-up depends on the run's length.
func CheckResume(prev, next Config) error {
	var changed []string
	for _, f := range fields {
		a, b := f.value(prev), f.value(next)
		if a == b {
			continue
		}
		if !resumable(f.Name) || (f.Name == "train.iterations" && lengthMatters(prev.Train, next.Train)) {
			changed = append(changed, fmt.Sprintf("%s: %s -> %s", f.Name, show(a), show(b)))
		}
	}
	if changed == nil {
		return nil
	}
	msg := "a resumed run must be the same experiment; these keys differ from the run's config:\n  " + strings.Join(changed, "\n  ")
	if len(changed) == 1 && strings.HasPrefix(changed[0], "train.iterations:") {
		msg += "\n(the learning-rate schedule or warm-up depends on train.iterations; start a new run to train longer)"
	} else {
		msg += "\n(only train.iterations, train.eval_every, train.checkpoint_every, eval.* and data.dir may change; start a new run with -out, or -force to replace this one)"
	}
	return fmt.Errorf("%s", msg)
}

// lengthMatters reports whether the learning rates depend on
// train.iterations: a cosine schedule, or a warm-up cut to the run's length.
func lengthMatters(a, b TrainConfig) bool {
	if a.Schedule == Cosine || a.InnerSchedule == Cosine || b.Schedule == Cosine || b.InnerSchedule == Cosine {
		return true
	}
	return a.Warmup > 1 && a.Warmup > min(a.Iterations, b.Iterations)
}

func show(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
