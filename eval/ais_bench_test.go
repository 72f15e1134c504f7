package eval_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/model"
	"github.com/bism-ml/bism/tensor"
)

// BenchmarkAISFrey times AIS with 2000 chains on a random Frey-face-sized
// GRBM (D = 560, H = 400) at 200 temperatures and at the paper's 2000
// (which takes tens of seconds), and reports the process's peak resident
// memory:
//
//	go test ./eval -run XXX -bench 'AISFrey/betas=2000$' -benchtime 1x
func BenchmarkAISFrey(b *testing.B) {
	m := model.NewGRBM(560, 400, false, tensor.NewRNG(1), tensor.Float32)
	for _, betas := range []int{200, 2000} {
		b.Run(fmt.Sprintf("betas=%d", betas), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				start := time.Now()
				r, err := eval.AIS(m, eval.AISOptions{Betas: betas, Seed: uint64(i)})
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("2000x%d AIS: log Z %.3f ± %.3f in %v", betas, r.LogZ, r.StdErr, time.Since(start))
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/run")
			if rss := experiment.PeakRSS(); rss > 0 {
				b.ReportMetric(float64(rss)/(1<<20), "MiB-peak-RSS")
			}
		})
	}
}
