package train

import (
	"slices"
	"time"

	"github.com/bism-ml/bism/internal/parallel"
)

// coreChoice keeps a run on the faster of one core and all of them: it
// times a few steps with every loop on the step's own goroutine
// (parallel.SetSerial) against as many split over the workers, and keeps
// the faster until the next probe. Where handing a loop's halves to
// another core costs more than it saves (a small model; a virtual machine
// whose cores exchange data slowly for a while), the run then stays on
// one core. A step's results do not depend on how its loops are split, so
// the choice changes the speed only, never a bit of the run. The switch is
// process-wide: runs trained at once in one process (a sweep's cells)
// share it, and their timings and choices mix, at no cost to their bits.
type coreChoice struct {
	steps   int           // steps taken since the run started
	probing bool          // the steps are a probe's
	run     int           // steps per run of the probe (probeRun)
	k       int           // the probe's step, 0 to 2·probeRounds·run - 1
	onOne   bool          // the decision: every loop on one core
	chosen  bool          // a probe has decided
	last    time.Duration // the last step's time

	times [2][probeRounds * maxProbeRun]time.Duration // one core, all cores
	n     [2]int
	start time.Time
}

const (
	// A probe alternates runs of steps on one core and on all,
	// probeRounds times each; a run is maxProbeRun steps of under 10 ms,
	// two of under 100 ms, one of longer (whose times vary less).
	probeRounds, maxProbeRun = 3, 4
	// firstProbe is the step the first probe starts at (the first steps
	// size the arena); probeEvery the steps from one probe's start to the
	// next (the machine's state changes over minutes).
	firstProbe, probeEvery = 5, 1000
	// oneCoreMargin: one core is chosen only when its median step is this
	// much faster (the noise of a probe, within which all cores stay).
	oneCoreMargin = 0.97
)

// probeRun is the steps per run of a probe after a step that took d.
func probeRun(d time.Duration) int {
	switch {
	case d < 10*time.Millisecond:
		return maxProbeRun
	case d < 100*time.Millisecond:
		return 2
	}
	return 1
}

// before is called before each step: it sets how the step's loops split
// (after resets it, so that work between steps, an evaluation, splits as
// usual).
func (c *coreChoice) before() {
	c.start = time.Now()
	if parallel.Workers <= 1 {
		return
	}
	if !c.probing && c.steps >= firstProbe && (c.steps-firstProbe)%probeEvery == 0 {
		c.probing, c.k, c.n, c.run = true, 0, [2]int{}, probeRun(c.last)
	}
	if !c.probing {
		parallel.SetSerial(c.onOne)
		return
	}
	parallel.SetSerial(c.probeMode() == 0)
}

// after is called after each step.
func (c *coreChoice) after() { c.record(time.Since(c.start)) }

// record ends a step that took d.
func (c *coreChoice) record(d time.Duration) {
	c.steps, c.last = c.steps+1, d
	if parallel.Workers <= 1 {
		return
	}
	parallel.SetSerial(false)
	if !c.probing {
		return
	}
	m := c.probeMode()
	c.times[m][c.n[m]] = d
	c.n[m]++
	if c.k++; c.k < 2*probeRounds*c.run {
		return
	}
	one, all := median(c.times[0][:c.n[0]]), median(c.times[1][:c.n[1]])
	c.onOne, c.probing, c.chosen = float64(one) < oneCoreMargin*float64(all), false, true
}

// settled reports whether the run's first probe has decided (or there is
// nothing to decide: one worker).
func (c *coreChoice) settled() bool { return parallel.Workers <= 1 || c.chosen }

// probeMode is 0 (one core) or 1 (all) for the probe's current step.
func (c *coreChoice) probeMode() int { return (c.k / c.run) % 2 }

// median of ds (sorted in place).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
