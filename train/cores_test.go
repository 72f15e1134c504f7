package train

import (
	"testing"
	"time"

	"github.com/bism-ml/bism/internal/parallel"
)

// TestCoreChoice: a run splits its steps' loops until the first probe,
// probes by alternating runs of steps on one core and on all, keeps one
// core only when its median step is faster by the margin, leaves loops
// outside steps split, probes again every probeEvery steps, and does
// nothing with one worker.
func TestCoreChoice(t *testing.T) {
	const probeSteps = 2 * probeRounds * maxProbeRun // steps of a few ms
	defer func(w int) { parallel.Workers = w; parallel.SetSerial(false) }(parallel.Workers)
	parallel.Workers = 2
	// run takes n steps, each lasting one(serial) or all(split), and
	// reports how many ran on one core.
	run := func(c *coreChoice, n int, one, all time.Duration) (onOne int) {
		for range n {
			c.before()
			d := all
			if parallel.Serial() {
				d, onOne = one, onOne+1
			}
			c.record(d)
			if parallel.Serial() {
				t.Fatal("loops stay serial after a step")
			}
		}
		return onOne
	}
	var c coreChoice
	if got := run(&c, firstProbe, time.Millisecond, 2*time.Millisecond); got != 0 {
		t.Fatalf("%d of the first %d steps on one core", got, firstProbe)
	}
	if got := run(&c, probeSteps, time.Millisecond, 2*time.Millisecond); got != probeSteps/2 || !c.onOne || !c.settled() {
		t.Fatalf("probe: %d of %d steps on one core, decision %v; want half and one core", got, probeSteps, c.onOne)
	}
	if got := run(&c, 100, time.Millisecond, 2*time.Millisecond); got != 100 {
		t.Fatalf("%d of 100 steps on one core after choosing it", got)
	}
	// The next probe finds both alike (within the margin): all cores.
	run(&c, probeEvery-probeSteps-100, time.Millisecond, 2*time.Millisecond)
	if got := run(&c, probeSteps, time.Millisecond, time.Millisecond); got != probeSteps/2 || c.onOne {
		t.Fatalf("second probe: %d steps on one core, decision %v; want half and all cores", got, c.onOne)
	}

	// Steps of 200 ms: runs of one step, a probe of 2·probeRounds steps.
	var slow coreChoice
	run(&slow, firstProbe, 200*time.Millisecond, 200*time.Millisecond)
	if got := run(&slow, 2*probeRounds, 100*time.Millisecond, 200*time.Millisecond); got != probeRounds || !slow.settled() || !slow.onOne {
		t.Fatalf("a probe of slow steps: %d on one core, settled %v, decision %v", got, slow.settled(), slow.onOne)
	}

	parallel.Workers = 1
	var d coreChoice
	if got := run(&d, 200, time.Millisecond, 2*time.Millisecond); got != 0 {
		t.Fatalf("one worker: %d steps set serial", got)
	}
}
