package experiment

import (
	"runtime"
	"testing"

	"github.com/bism-ml/bism/config"
)

// TestEstimateMemory: the probe steps see a step's storage growing with
// the batch, and the estimate adds up its parts.
func TestEstimateMemory(t *testing.T) {
	small := quickConfig(config.BiDSM)
	small.Model.Hidden = 8
	big := small
	big.Train.BatchSize = 1000
	a, err := EstimateMemory(build(t, small, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	b, err := EstimateMemory(build(t, big, "", nil))
	if err != nil {
		t.Fatal(err)
	}
	if !(b.Step > 5*a.Step) || a.Step <= 0 || a.Data <= 0 || a.Params <= 0 {
		t.Fatalf("batch 100: %+v; batch 1000: %+v", a, b)
	}
	if a.Total < runtimeBase+a.Data+a.Params+a.Step {
		t.Fatalf("total %d below its parts %+v", a.Total, a)
	}
}

// TestPeakRSS: on Linux the peak resident set covers memory the process has
// just touched, in bytes.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		if got := PeakRSS(); got != 0 {
			t.Errorf("PeakRSS() = %d off Linux, want 0 (unknown)", got)
		}
		t.Skip("PeakRSS reads /proc/self/status, which only Linux has")
	}
	const n = 16 << 20
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	if got := PeakRSS(); got < n {
		t.Errorf("PeakRSS() = %d after touching %d bytes", got, n)
	}
	runtime.KeepAlive(b)
}
