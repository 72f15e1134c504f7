package train

import (
	"math"
	"testing"

	"github.com/bism-ml/bism/config"
	"github.com/bism-ml/bism/optim"
)

// TestInnerLR checks q's learning rate: by default a fixed multiple of θ's
// (so it anneals with it), and with train.inner_schedule its own schedule
// from inner_lr after the same warm-up.
func TestInnerLR(t *testing.T) {
	base := config.TrainConfig{LR: 1e-3, Iterations: 100, Schedule: config.Cosine, Warmup: 10}
	sched := optim.WithWarmup(optim.Cosine, base.Warmup)
	cases := []struct {
		name     string
		inner    float64
		schedule config.Schedule
		it       int
		want     float64
	}{
		{"follows lr", 0, "", 50, sched(1e-3, 50, 100)},
		{"twice lr", 2e-3, "", 70, 2 * sched(1e-3, 70, 100)},
		{"constant after warm-up", 2e-3, config.Constant, 70, 2e-3},
		{"constant in warm-up", 2e-3, config.Constant, 4, 2e-3 * 5 / 10},
		{"constant from lr", 0, config.Constant, 99, 1e-3},
		{"own cosine", 2e-3, config.Cosine, 70, optim.Cosine(2e-3, 70, 100)},
	}
	for _, c := range cases {
		tc := base
		tc.InnerLR, tc.InnerSchedule = c.inner, c.schedule
		thetaLR, innerLR := lrSchedules(tc)
		if got := thetaLR(c.it); got != sched(tc.LR, c.it, tc.Iterations) {
			t.Errorf("%s: θ's lr = %g, want %g", c.name, got, sched(tc.LR, c.it, tc.Iterations))
		}
		if got := innerLR(c.it); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("%s: innerLR = %g, want %g", c.name, got, c.want)
		}
	}
}
