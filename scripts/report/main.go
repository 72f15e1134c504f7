// Command report turns the runs made by scripts/checkerboard.sh,
// scripts/frey.sh, scripts/fig1.sh and scripts/mnist.sh into the tables and figures of
// docs/RESULTS.md. It only reads runs/ and writes docs/; numbers come from
// the runs' metrics.jsonl and eval.json files.
//
//	go run ./scripts/report [-runs runs] [-out docs] [-template scripts/report/RESULTS.tmpl.md]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/train"
)

// Paper-facing names and display order of the checkerboard methods.
var cbOrder = []struct{ dir, label string }{
	{"bissm", "BiSSM (K=5, N=5)"}, {"bidsm-n0", "BiDSM (N=0)"}, {"bidsm-n5", "BiDSM (N=5)"}, {"bidsm-n10", "BiDSM (N=10)"},
	{"ssm", "SSM"}, {"dsm", "DSM"}, {"cd1", "CD-1"}, {"cd5", "CD-5"}, {"pcd", "PCD-1"}, {"nce", "NCE"}, {"vnce", "VNCE"},
}

var freyOrder = []struct{ dir, label string }{
	{"dsm", "DSM"}, {"bidsm-n0", "BiDSM (N=0)"}, {"bidsm-n1", "BiDSM (N=1)"}, {"bidsm-n5", "BiDSM (N=5)"}, {"bidsm-n10", "BiDSM (N=10)"},
}

// Published Table 1 (test LL / Fisher).
var freyPaper = map[string][2]float64{
	"dsm": {129.23, -5885.09}, "bidsm-n0": {107.59, -5474.52}, "bidsm-n1": {110.65, -5516.07},
	"bidsm-n5": {124.00, -5780.18}, "bidsm-n10": {125.72, -5800.17},
}

func main() {
	runs := flag.String("runs", "runs", "runs folder")
	out := flag.String("out", "docs", "docs folder")
	template := flag.String("template", "scripts/report/RESULTS.tmpl.md", "the prose of RESULTS.md, with {{checkerboard}}, {{frey}}, {{fig1}}, {{gradsplit}} and {{mnist}} where the tables go")
	mnistDir := flag.String("mnist", "mnist", "the MNIST runs (scripts/mnist.sh's OUT), relative to -runs")
	flag.Parse()
	figs := filepath.Join(*out, "figures")
	if err := os.MkdirAll(figs, 0o755); err != nil {
		log.Fatal(err)
	}
	tmpl, err := os.ReadFile(*template)
	if err != nil {
		log.Fatal(err)
	}
	doc := string(tmpl)
	sections := []struct {
		key string
		fn  func(*strings.Builder) error
	}{
		{"{{checkerboard}}", func(md *strings.Builder) error { return checkerboard(md, filepath.Join(*runs, "checkerboard"), figs) }},
		{"{{frey}}", func(md *strings.Builder) error { return frey(md, filepath.Join(*runs, "frey")) }},
		{"{{fig1}}", func(md *strings.Builder) error { return fig1(md, filepath.Join(*runs, "fig1"), figs) }},
		{"{{mnist}}", func(md *strings.Builder) error { return mnist(md, filepath.Join(*runs, *mnistDir), figs) }},
		{"{{gradsplit}}", func(md *strings.Builder) error {
			b, err := os.ReadFile(filepath.Join(*runs, "gradsplit.md"))
			md.Write(b)
			return err
		}},
	}
	for _, sec := range sections {
		var md strings.Builder
		if err := sec.fn(&md); err != nil {
			log.Printf("%s: %v", sec.key, err)
			md.WriteString("_(not run: " + err.Error() + ")_\n")
		}
		doc = strings.ReplaceAll(doc, sec.key, md.String())
	}
	dst := filepath.Join(*out, "RESULTS.md")
	if err := os.WriteFile(dst, []byte(doc), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", dst)
}

func meanStd(xs []float64) (float64, float64) {
	var m, s float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	if len(xs) > 1 {
		s = math.Sqrt(s / float64(len(xs)-1))
	}
	return m, s
}

func checkerboard(md *strings.Builder, dir, figs string) error {
	fmt.Fprintf(md, "### Checkerboard: test log-likelihood (exact)\n\n")
	fmt.Fprintf(md, "| method | seeds | iterations | test LL (mean ± sd) | test Fisher | train time (s) |\n|---|---|---|---|---|---|\n")
	var curves []plot.Series
	var panels []plot.Panel
	for _, m := range cbOrder {
		seeds, _ := filepath.Glob(filepath.Join(dir, m.dir, "seed*"))
		sort.Strings(seeds)
		var ll, fisher, secs []float64
		var iters int
		curveSum := map[float64][]float64{}
		for _, s := range seeds {
			recs, err := train.ReadMetrics(filepath.Join(s, train.MetricsFile))
			if err != nil || len(recs) == 0 {
				continue
			}
			last := recs[len(recs)-1]
			ll = append(ll, last["test_ll"])
			fisher = append(fisher, last["test_fisher"])
			secs = append(secs, last["elapsed_s"])
			iters = int(last["iter"])
			for _, r := range recs {
				curveSum[r["iter"]] = append(curveSum[r["iter"]], r["test_ll"])
			}
		}
		if len(ll) == 0 {
			continue
		}
		mll, sll := meanStd(ll)
		mf, _ := meanStd(fisher)
		ms, _ := meanStd(secs)
		fmt.Fprintf(md, "| %s | %d | %d | %.3f ± %.3f | %.3f | %.0f |\n", m.label, len(ll), iters, mll, sll, mf, ms)
		var xs, ys []float64
		for it, v := range curveSum {
			if len(v) == len(ll) {
				mv, _ := meanStd(v)
				xs, ys = append(xs, it), append(ys, mv)
			}
		}
		sortXY(xs, ys)
		curves = append(curves, plot.Series{Name: m.label, X: xs, Y: ys, Dashed: !strings.HasPrefix(m.dir, "bi")})
		if p, err := densityPanel(seeds[0], m.label); err == nil {
			panels = append(panels, p)
		} else {
			log.Printf("%s: %v", seeds[0], err)
		}
	}
	lp := &plot.LinePlot{Title: "Checkerboard: test log-likelihood (mean over seeds)", XLabel: "iteration", YLabel: "test LL", Series: curves}
	if err := plot.SavePNG(filepath.Join(figs, "checkerboard_ll.png"), lp.Render(900, 560)); err != nil {
		return err
	}
	if err := plot.SavePNG(filepath.Join(figs, "checkerboard_density.png"), plot.Panels(panels, 4, 300, 300)); err != nil {
		return err
	}
	fmt.Fprintf(md, "\n![learned densities](figures/checkerboard_density.png)\n\n![test log-likelihood curves](figures/checkerboard_ll.png)\n\n")
	return nil
}

func sortXY(xs, ys []float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return xs[idx[a]] < xs[idx[b]] })
	x2, y2 := make([]float64, len(xs)), make([]float64, len(xs))
	for i, j := range idx {
		x2[i], y2[i] = xs[j], ys[j]
	}
	copy(xs, x2)
	copy(ys, y2)
}

func densityPanel(runDir, label string) (plot.Panel, error) {
	e, _, err := experiment.Open(runDir, "", nil, experiment.Options{})
	if err != nil {
		return nil, err
	}
	const n = 120
	z, err := e.DensityGrid(n, -0.25, 1.25)
	if err != nil {
		return nil, err
	}
	return &plot.Heatmap{Title: label, Z: z, NX: n, NY: n, XMin: -0.25, XMax: 1.25, YMin: -0.25, YMax: 1.25, HideAxes: true}, nil
}

// readEval reads an eval.json-style file (name -> number); a missing file
// is an os.IsNotExist error.
func readEval(path string) (map[string]float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ev := map[string]float64{}
	if err := json.Unmarshal(b, &ev); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return ev, nil
}

func frey(md *strings.Builder, dir string) error {
	fmt.Fprintf(md, "### Frey face (Table 1)\n\n| method | iterations | selected snapshot | test LL (AIS) | ± AIS s.e. | test Fisher | paper LL | paper Fisher | train time (s) |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, m := range freyOrder {
		ev, err := readEval(filepath.Join(dir, m.dir, "eval.json"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return err
		}
		recs, _ := train.ReadMetrics(filepath.Join(dir, m.dir, train.MetricsFile))
		var iters int
		var secs float64
		if len(recs) > 0 {
			iters, secs = int(recs[len(recs)-1]["iter"]), recs[len(recs)-1]["elapsed_s"]
		}
		p := freyPaper[m.dir]
		fmt.Fprintf(md, "| %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f |\n", m.label, iters, int(ev["iter"]), ev["test_ll"], ev["log_z_stderr"], ev["test_fisher"], p[0], p[1], secs)
	}
	fmt.Fprintln(md)
	return nil
}

// fig1 reads runs/fig1/bias.json: a list of {"k","n","rel_bias","phi_dist"} points.
func fig1(md *strings.Builder, dir, figs string) error {
	b, err := os.ReadFile(filepath.Join(dir, "bias.json"))
	if err != nil {
		return err
	}
	var pts []map[string]float64
	if err := json.Unmarshal(b, &pts); err != nil {
		return err
	}
	byK := map[float64]*plot.Series{}
	var ks []float64
	fmt.Fprintf(md, "### Gradient bias (Fig. 1)\n\n| K | N | relative bias of the θ-gradient | ‖φ⁰ − φ*‖ |\n|---|---|---|---|\n")
	for _, p := range pts {
		fmt.Fprintf(md, "| %d | %d | %.4f | %.4f |\n", int(p["k"]), int(p["n"]), p["rel_bias"], p["phi_dist"])
		s, ok := byK[p["k"]]
		if !ok {
			s = &plot.Series{Name: fmt.Sprintf("K = %d", int(p["k"])), Markers: true}
			byK[p["k"]] = s
			ks = append(ks, p["k"])
		}
		s.X, s.Y = append(s.X, p["n"]), append(s.Y, p["rel_bias"])
	}
	sort.Float64s(ks)
	var series []plot.Series
	for _, k := range ks {
		series = append(series, *byK[k])
	}
	lp := &plot.LinePlot{Title: "Bias of the unrolled θ-gradient (GRBM, Frey face)", XLabel: "N (unrolled steps)", YLabel: "relative bias", Series: series, LogY: true}
	if err := plot.SavePNG(filepath.Join(figs, "fig1_bias.png"), lp.Render(720, 460)); err != nil {
		return err
	}
	fmt.Fprintf(md, "\n![gradient bias](figures/fig1_bias.png)\n\n")
	return nil
}

// mnistOrder lists the runs tabulated when present: scripts/mnist.sh's two,
// BiMDSM with another seed, and MDSM trained for BiMDSM's iteration count
// with the config's seed and another (the equal-iteration comparison of
// the ch = 8 configs: bism train -config configs/mnist/mdsm-cpu.yaml
// -out DIR/mdsm-4000 -set model.ch=8 -set train.warmup=0 -set train.iterations=4000
// [-set seed=2]).
// The labels describe the ch = 8 configs these tables were made with; the
// session-5 ch = 16 runs are described by hand in the template.
// Only the first two have their figures copied.
var mnistOrder = []struct {
	dir, label string
	figures    bool
}{
	{"bimdsm", "BiMDSM (deep EBLVM)", true}, {"bimdsm-seed2", "BiMDSM, seed 2", false},
	{"bimdsm-k1", "BiMDSM, K = 1 (bimdsm-cpu-k1.yaml)", false}, // BIMDSM_CONFIG=bimdsm-cpu-k1 scripts/mnist.sh
	{"mdsm", "MDSM (fully visible EBM)", true},
	{"mdsm-4000", "MDSM, 4,000 iterations", false}, {"mdsm-4000-seed2", "MDSM, 4,000 iterations, seed 2", false},
}

// mnist tabulates the deep runs of scripts/mnist.sh (metrics.jsonl and the
// eval.json of bism sample -fid) and copies their sample grids and the
// posterior-accuracy plot into the figures folder.
func mnist(md *strings.Builder, dir, figs string) error {
	fmt.Fprintf(md, "| model | iterations | train time (s) | FID | KID | FID via q | KID via q | probe test acc. | test D_F(q‖p) | samples × Langevin steps |\n|---|---|---|---|---|---|---|---|---|---|\n")
	var floor map[string]float64
	found := 0
	for _, m := range mnistOrder {
		run := filepath.Join(dir, m.dir)
		recs, err := train.ReadMetrics(filepath.Join(run, train.MetricsFile))
		if err != nil || len(recs) == 0 {
			continue
		}
		found++
		last := recs[len(recs)-1]
		ev, err := readEval(filepath.Join(run, "eval.json"))
		switch {
		case err == nil:
			floor = ev
		case os.IsNotExist(err):
			ev = map[string]float64{}
		default:
			return err
		}
		num := func(key, format string, scale float64) string {
			v, ok := ev[key]
			if !ok {
				return "—"
			}
			return fmt.Sprintf(format, v*scale)
		}
		kid := func(key string) string { // mean ± spread over subsets
			if _, ok := ev[key]; !ok {
				return "—"
			}
			return num(key, "%.1f", 1) + " ± " + num(key+"_std", "%.1f", 1)
		}
		fmt.Fprintf(md, "| %s | %d | %.0f | %s | %s | %s | %s | %s | %s | %s × %s |\n", m.label, int(last["iter"]), last["elapsed_s"],
			num("fid_marginal", "%.1f", 1), kid("kid_marginal"), num("fid_via_q", "%.1f", 1), kid("kid_via_q"),
			num("probe_test_acc", "%.1f%%", 100), num("test_posterior_fisher", "%.3g", 1),
			num("fid_samples", "%.0f", 1), num("langevin_steps", "%.0f", 1))
		if !m.figures {
			continue
		}
		for _, f := range []string{"samples", "samples_via_q", "samples_s03", "samples_s03_via_q", "posterior", "loss", "denoise_s0.5", "denoise_s1"} {
			if err := copyFile(filepath.Join(run, f+".png"), filepath.Join(figs, "mnist_cpu_"+m.dir+"_"+f+".png")); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	if found == 0 {
		return fmt.Errorf("no runs under %s", dir)
	}

	if floor != nil {
		if v, ok := floor["fid_train_data"]; ok {
			fmt.Fprintf(md, "| %.0f real training digits (floor) | | | %.1f | %.1f ± %.1f | | | | | |\n", floor["fid_samples"], v, floor["kid_train_data"], floor["kid_train_data_std"])
		}
	}
	fmt.Fprintln(md)
	return mnistSweep(md, dir, figs)
}

// mnistSweep tabulates and plots the checkpoint sweeps of
// scripts/fid_sweep.sh (DIR/<run>/eval_iter_*.json): FID against training
// iterations, one column per run swept.
func mnistSweep(md *strings.Builder, dir, figs string) error {
	byIter := map[int]map[string]map[string]float64{} // iteration -> run -> eval record
	var runs []string
	var series []plot.Series
	var n, steps float64
	for _, m := range mnistOrder {
		// Glob sorts, and checkpoint names are zero-padded: iteration order.
		files, _ := filepath.Glob(filepath.Join(dir, m.dir, "eval_iter_*.json"))
		if len(files) == 0 {
			continue
		}
		runs = append(runs, m.dir)
		sr := plot.Series{Name: m.label}
		for _, f := range files {
			ev, err := readEval(f)
			if err != nil {
				return err
			}
			it := int(ev["iter"])
			if byIter[it] == nil {
				byIter[it] = map[string]map[string]float64{}
			}
			byIter[it][m.dir] = ev
			n, steps = ev["fid_samples"], ev["langevin_steps"]
			sr.X = append(sr.X, float64(it))
			sr.Y = append(sr.Y, ev["fid_marginal"])
		}
		series = append(series, sr)
	}
	if len(runs) == 0 {
		return nil
	}
	fmt.Fprintf(md, "FID of the marginal samples at each saved checkpoint (`scripts/fid_sweep.sh`; %.0f samples × %.0f Langevin steps each):\n\n| iteration |", n, steps)
	for _, r := range runs {
		fmt.Fprintf(md, " %s |", r)
	}
	fmt.Fprintf(md, "\n|---|%s\n", strings.Repeat("---|", len(runs)))
	iters := make([]int, 0, len(byIter))
	for it := range byIter {
		iters = append(iters, it)
	}
	sort.Ints(iters)
	for _, it := range iters {
		fmt.Fprintf(md, "| %d |", it)
		for _, r := range runs {
			ev, ok := byIter[it][r]
			viaQ, hasViaQ := ev["fid_via_q"]
			switch {
			case !ok:
				fmt.Fprintf(md, " |")
			case !hasViaQ:
				fmt.Fprintf(md, " %.1f |", ev["fid_marginal"])
			default:
				fmt.Fprintf(md, " %.1f (via q %.1f) |", ev["fid_marginal"], viaQ)
			}
		}
		fmt.Fprintln(md)
	}
	lp := &plot.LinePlot{Title: "MNIST, CPU scale: FID by checkpoint", XLabel: "iteration", YLabel: "FID (bism MNIST features)", Series: series}
	if err := plot.SavePNG(filepath.Join(figs, "mnist_cpu_fid_sweep.png"), lp.Render(720, 460)); err != nil {
		return err
	}
	fmt.Fprintf(md, "\n![FID by checkpoint](figures/mnist_cpu_fid_sweep.png)\n\n")
	return nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
