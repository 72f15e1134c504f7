package train

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/bism-ml/bism/data"
	"github.com/bism-ml/bism/eval"
	"github.com/bism-ml/bism/objective"
	"github.com/bism-ml/bism/tensor"
)

// EvalOptions selects what Evaluate computes.
type EvalOptions struct {
	LL       bool      // log-likelihood (exact or AIS, per the config)
	Progress io.Writer // AIS progress (nil: none)
}

// evalChunk bounds the rows evaluated at once.
const evalChunk = 1000

// Evaluate measures the current model: test_ll and val_ll (when asked),
// test_fisher and val_fisher (the SSM metric of spec section 6), and
// val_loss, the model-selection criterion (the method's own objective on the
// validation set; the Fisher metric for CD, PCD, NCE and VNCE).
func Evaluate(r *Run, opts EvalOptions) (map[string]float64, error) {
	res := map[string]float64{}
	cfg := r.Cfg.Eval
	seed := r.Cfg.Seed + 7
	if opts.LL {
		var logZ float64
		switch cfg.LL {
		case "exact":
			z, err := eval.ExactLogZ(r.Model)
			if err != nil {
				return nil, err
			}
			logZ = z
		case "ais":
			o := eval.AISOptions{Chains: cfg.AISChains, Betas: cfg.AISBetas, Seed: seed}
			if opts.Progress != nil {
				o.Progress = aisProgress(opts.Progress)
			}
			a, err := eval.AIS(r.Model, o)
			if err != nil {
				return nil, err
			}
			logZ = a.LogZ
			res["log_z_stderr"] = a.StdErr
		}
		if cfg.LL != "none" {
			res["log_z"] = logZ
			res["test_ll"] = eval.LogLikelihood(r.Model, setTensor(r.Split.Test), logZ)
			if r.Split.Val != nil {
				res["val_ll"] = eval.LogLikelihood(r.Model, setTensor(r.Split.Val), logZ)
			}
		}
	}
	if cfg.Fisher {
		res["test_fisher"] = eval.FisherSSM(r.Model, setTensor(r.Split.Test), seed)
		if r.Split.Val != nil {
			res["val_fisher"] = eval.FisherSSM(r.Model, setTensor(r.Split.Val), seed)
		}
	}
	if r.Split.Val != nil {
		if v, ok := res["val_fisher"]; ok && r.usesFisherCriterion() {
			res["val_loss"] = v // the same quantity, already computed
		} else {
			res["val_loss"] = r.criterion(setTensor(r.Split.Val), seed)
		}
	}
	for k, v := range res {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return res, fmt.Errorf("evaluation: %s is %v (the model has diverged)", k, v)
		}
	}
	return res, nil
}

// usesFisherCriterion reports whether the method has no score-matching
// objective of its own (CD, PCD, NCE, VNCE), so model selection uses the
// Fisher metric.
func (r *Run) usesFisherCriterion() bool {
	_, err := r.Cfg.Method.Outer()
	return err != nil
}

// criterion is the loss used for model selection, averaged over x in chunks.
func (r *Run) criterion(x *tensor.Tensor, seed uint64) float64 {
	m := r.Cfg.Method
	if r.usesFisherCriterion() {
		return eval.FisherSSM(r.Model, x, seed)
	}
	outer, _ := m.Outer()
	rng := tensor.NewRNG(seed)
	theta := r.Model.Params().Consts()
	var sum float64
	n := x.Dim(0)
	for lo := 0; lo < n; lo += evalChunk {
		hi := min(lo+evalChunk, n)
		chunk := tensor.Slice(x, 0, lo, hi)
		p := outer.Perturb(chunk, rng)
		var e objective.EnergyFn
		if m.Bilevel() {
			e = objective.BiEnergy(r.Model, r.Post, theta, r.Post.Params().Consts(), rng)
		} else {
			e = objective.MarginalEnergy(r.Model, theta)
		}
		sum += outer.Loss(e, p).Item() * float64(hi-lo)
	}
	return sum / float64(n)
}

func setTensor(s *data.Set) *tensor.Tensor { return tensor.FromFloat32(s.X, s.N, s.Dim()) }

func aisProgress(w io.Writer) func(done, total int) {
	last := -1
	return func(done, total int) {
		pct := done * 100 / total
		if pct/10 != last/10 || done == total {
			fmt.Fprintf(w, "AIS %d/%d temperatures\n", done, total)
			last = pct
		}
	}
}

// SelectSnapshot returns the snapshot in dir/checkpoints with the lowest
// val_loss recorded in metrics.jsonl (Table 1's model selection).
func SelectSnapshot(dir string) (string, error) {
	recs, err := ReadMetrics(filepath.Join(dir, MetricsFile))
	if err != nil {
		return "", err
	}
	best, bestLoss := "", math.Inf(1)
	for _, rec := range recs {
		l, ok := rec["val_loss"]
		it, ok2 := rec["iter"]
		if !ok || !ok2 {
			continue
		}
		p := filepath.Join(dir, SnapshotDir, fmt.Sprintf("iter_%08d.safetensors", int(it)))
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if l < bestLoss {
			best, bestLoss = p, l
		}
	}
	if best == "" {
		return "", fmt.Errorf("no snapshot in %s has a recorded val_loss (train with train.checkpoint_every > 0 on a data set with a validation split)", dir)
	}
	return best, nil
}

// ReadMetrics reads a metrics.jsonl file.
func ReadMetrics(path string) ([]map[string]float64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []map[string]float64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec map[string]float64
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %v", path, line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}
