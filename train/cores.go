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
// the choice changes the speed only, never a bit of the run.
type coreChoice struct {
	steps   int  // steps taken since the run started
	probing bool // the steps are a probe's
	k       int  // the probe's step, 0 to probeSteps-1
	onOne   bool // the decision: every loop on one core

	times [2][probeRounds * probeRun]time.Duration // one core, all cores
	n     [2]int
	start time.Time
}

const (
	// probeRounds and probeRun: a probe alternates runs of probeRun steps
	// on one core and on all, probeRounds times each.
	probeRounds, probeRun = 3, 4
	probeSteps            = 2 * probeRounds * probeRun
	// firstProbe is the step the first probe starts at (the first steps
	// size the arena); probeEvery the steps from one probe's start to the
	// next (the machine's state changes over minutes).
	firstProbe, probeEvery = 5, 1000
	// oneCoreMargin: one core is chosen only when its median step is this
	// much faster (the noise of a probe, within which all cores stay).
	oneCoreMargin = 0.97
)

// before is called before each step: it sets how the step's loops split
// (after resets it, so that work between steps, an evaluation, splits as
// usual).
func (c *coreChoice) before() {
	if parallel.Workers <= 1 {
		return
	}
	if !c.probing && c.steps >= firstProbe && (c.steps-firstProbe)%probeEvery == 0 {
		c.probing, c.k, c.n = true, 0, [2]int{}
	}
	if !c.probing {
		parallel.SetSerial(c.onOne)
		return
	}
	parallel.SetSerial(c.probeMode() == 0)
	c.start = time.Now()
}

// after is called after each step.
func (c *coreChoice) after() { c.record(time.Since(c.start)) }

// record ends a step that took d (when probing).
func (c *coreChoice) record(d time.Duration) {
	c.steps++
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
	if c.k++; c.k < probeSteps {
		return
	}
	one, all := median(c.times[0][:c.n[0]]), median(c.times[1][:c.n[1]])
	c.onOne, c.probing = float64(one) < oneCoreMargin*float64(all), false
}

// probeMode is 0 (one core) or 1 (all) for the probe's current step.
func (c *coreChoice) probeMode() int { return (c.k / probeRun) % 2 }

// median of ds (sorted in place).
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
