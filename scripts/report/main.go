// Command report turns the GRBM runs of the checkerboard sweep
// (configs/sweeps/checkerboard.yaml, cells runs/checkerboard/NAME,seedS)
// and the Frey face sweep (configs/sweeps/frey.yaml, runs/frey/NAME,seed1234),
// and the studies run on them, into the tables and
// figures of docs/RESULTS.md. It only reads runs/ and writes docs/;
// numbers come from the runs' metrics.jsonl and eval.json files and the
// studies' JSON:
//
//	bism study fig1 -run "runs/frey/bidsm-n5,seed1234" -implicit -json > runs/fig1.json
//	bism study gradsplit -run RUN -json > runs/gradsplit/NAME.json   # for each run to split
//	go run ./scripts/report [-runs runs] [-out docs] [-template scripts/report/RESULTS.tmpl.md]
//
// The MNIST section of RESULTS.md is written by hand from the deep runs'
// evaluation files (configs/sweeps/mnist.yaml).
package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bism-ml/bism/experiment"
	"github.com/bism-ml/bism/plot"
	"github.com/bism-ml/bism/study"
	"github.com/bism-ml/bism/sweep"
	"github.com/bism-ml/bism/train"
)

// Paper-facing names and display order of the checkerboard methods.
var cbOrder = []struct{ dir, label string }{
	{"bissm", "BiSSM (K=5, N=5)"}, {"bidsm-n0", "BiDSM (N=0)"}, {"bidsm-n5", "BiDSM (N=5)"}, {"bidsm-n10", "BiDSM (N=10)"},
	{"bidsm-implicit", "BiDSM (implicit)"}, {"ssm", "SSM"}, {"dsm", "DSM"}, {"cd1", "CD-1"}, {"cd5", "CD-5"}, {"pcd", "PCD-1"}, {"nce", "NCE"}, {"vnce", "VNCE"},
}

var freyOrder = []struct{ dir, label string }{
	{"dsm", "DSM"}, {"bidsm-n0", "BiDSM (N=0)"}, {"bidsm-n1", "BiDSM (N=1)"}, {"bidsm-n5", "BiDSM (N=5)"}, {"bidsm-n10", "BiDSM (N=10)"},
	{"bidsm-implicit", "BiDSM (implicit)"},
}

// Published Table 1 (test LL / Fisher).
var freyPaper = map[string][2]float64{
	"dsm": {129.23, -5885.09}, "bidsm-n0": {107.59, -5474.52}, "bidsm-n1": {110.65, -5516.07},
	"bidsm-n5": {124.00, -5780.18}, "bidsm-n10": {125.72, -5800.17},
}

func main() {
	runs := flag.String("runs", "runs", "runs folder")
	out := flag.String("out", "docs", "docs folder")
	template := flag.String("template", "scripts/report/RESULTS.tmpl.md", "the prose of RESULTS.md, with {{checkerboard}}, {{frey}}, {{fig1}} and {{gradsplit}} where the tables go")
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
		{"{{fig1}}", func(md *strings.Builder) error { return fig1(md, filepath.Join(*runs, "fig1.json"), figs) }},
		{"{{gradsplit}}", func(md *strings.Builder) error { return gradsplit(md, filepath.Join(*runs, "gradsplit")) }},
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

// readSummary reads a sweep's summary.csv as one map per row, by column.
func readSummary(path string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%v (write it with bism sweep -summarize %s)", err, filepath.Dir(path))
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("%s: not a sweep summary: %v", path, err)
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, k := range recs[0] {
			m[k] = r[i]
		}
		out = append(out, m)
	}
	return out, nil
}

func checkerboard(md *strings.Builder, dir, figs string) error {
	fmt.Fprintf(md, "### Checkerboard: test log-likelihood (exact)\n\n")
	fmt.Fprintf(md, "| method | seeds | iterations | test LL (mean ± sd) | test Fisher | train time (s) |\n|---|---|---|---|---|---|\n")
	summary, err := readSummary(filepath.Join(dir, sweep.SummaryCSV))
	if err != nil {
		return err
	}
	var curves []plot.Series
	var panels []plot.Panel
	for _, m := range cbOrder {
		var seeds []string
		var ll, fisher, secs []float64
		var iters int
		curveSum := map[float64][]float64{}
		for _, row := range summary { // the sweep's finished cells of this variant
			if row["group"] != m.dir || row["state"] != string(sweep.Finished) {
				continue
			}
			num := func(k string) float64 { v, _ := strconv.ParseFloat(row[k], 64); return v }
			s := filepath.Join(dir, row["cell"])
			seeds = append(seeds, s)
			ll = append(ll, num("test_ll"))
			fisher = append(fisher, num("test_fisher"))
			secs = append(secs, num("elapsed_s"))
			iters = int(num("iter"))
			recs, err := train.ReadMetrics(filepath.Join(s, train.MetricsFile))
			if err != nil {
				return err
			}
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
		cell := filepath.Join(dir, m.dir+",seed1234") // the sweep's cell
		ev, err := readEval(filepath.Join(cell, "eval.json"))
		if os.IsNotExist(err) {
			continue
		} else if err != nil {
			return err
		}
		recs, _ := train.ReadMetrics(filepath.Join(cell, train.MetricsFile))
		var iters int
		var secs float64
		if len(recs) > 0 {
			iters, secs = int(recs[len(recs)-1]["iter"]), recs[len(recs)-1]["elapsed_s"]
		}
		paper := "— | —" // the paper has no implicit gradient
		if p, ok := freyPaper[m.dir]; ok {
			paper = fmt.Sprintf("%.2f | %.2f", p[0], p[1])
		}
		fmt.Fprintf(md, "| %s | %d | %d | %.2f | %.2f | %.2f | %s | %.0f |\n", m.label, iters, int(ev["iter"]), ev["test_ll"], ev["log_z_stderr"], ev["test_fisher"], paper, secs)
	}
	fmt.Fprintln(md)
	return nil
}

// fig1 reads bism study fig1 -json: the distance of φ⁰ to the minimisers
// by K, and the absolute bias with gradient-descent and Adam unrolling by K
// and N (and the implicit gradient's by K, when measured), as a table (a few
// N) and two figures (every N).
func fig1(md *strings.Builder, path, figs string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r study.Fig1Result
	if err := json.Unmarshal(b, &r); err != nil {
		return err
	}
	if len(r.K) == 0 || len(r.BiasGD) != len(r.K) {
		return fmt.Errorf("%s: not the output of bism study fig1 -json", path)
	}
	fmt.Fprintf(md, "Run %s at iteration %d, minibatch %d; M = %d draws of q's noise in the inner loss, R = %d repeats; α = 1/λ_max = %.4g; g* by %s. ",
		filepath.Base(r.Run), r.Iter, r.Batch, r.MDraws, r.Repeats, r.Alpha, r.Reference)
	fmt.Fprintf(md, "‖g*‖ = %.4g; ‖g* − g_SM‖/‖g_SM‖ = %.3g; the exact posterior (A = W, a = c) lies %.4g from the noise-averaged minimisers.\n\n",
		r.GStarNorm, r.GStarVsMarginal, r.DistanceClosedForm)
	show := []int{}
	for ni, n := range r.N {
		if slices.Contains([]int{0, 1, 2, 5, 10, 20}, n) {
			show = append(show, ni)
		}
	}
	fmt.Fprintf(md, "| K | ‖φ⁰ − φ̂*‖ | to noise-averaged | implicit gradient | unroll |")
	for _, ni := range show {
		fmt.Fprintf(md, " N = %d |", r.N[ni])
	}
	fmt.Fprintf(md, "\n|---|---|---|---|---|%s\n", strings.Repeat("---|", len(show)))
	for ki, k := range r.K {
		exact := "-"
		if r.DistanceExact != nil {
			exact = fmt.Sprintf("%.3f", r.DistanceExact[ki])
		}
		for v, name := range []string{"GD", "Adam"} {
			bias, se := r.BiasGD, r.BiasGDStderr
			if v == 1 {
				bias, se = r.BiasAdam, r.BiasAdamStderr
			}
			if v == 0 {
				implicit := "-"
				if r.BiasImplicit != nil {
					implicit = fmt.Sprintf("%.4g ± %.2g", r.BiasImplicit[ki], r.BiasImplicitStderr[ki])
				}
				fmt.Fprintf(md, "| %d | %.3f | %s | %s | %s |", k, r.Distance[ki], exact, implicit, name)
			} else {
				fmt.Fprintf(md, "| | | | | %s |", name)
			}
			for _, ni := range show {
				fmt.Fprintf(md, " %.4g ± %.2g |", bias[ki][ni], se[ki][ni])
			}
			fmt.Fprintln(md)
		}
	}
	dist := &plot.LinePlot{Title: "Distance of phi0 to the inner loss's minimisers", XLabel: "K (inner Adam steps)", YLabel: "|phi0 - phi*|"}
	near, far := plot.Series{Name: "to G_M's minimiser reached by descent", Markers: true}, plot.Series{Name: "to the noise-averaged minimisers", Markers: true}
	for ki, k := range r.K {
		near.X, near.Y = append(near.X, float64(k)), append(near.Y, r.Distance[ki])
		if r.DistanceExact != nil {
			far.X, far.Y = append(far.X, float64(k)), append(far.Y, r.DistanceExact[ki])
		}
	}
	dist.Series = []plot.Series{near}
	if len(far.X) > 0 {
		dist.Series = append(dist.Series, far)
	}
	if err := plot.SavePNG(filepath.Join(figs, "fig1_distance.png"), dist.Render(720, 460)); err != nil {
		return err
	}
	fmt.Fprintf(md, "\n![distance to the minimisers](figures/fig1_distance.png)\n")
	for v, name := range []string{"bias", "bias_adam"} {
		bias, label := r.BiasGD, "gradient-descent unrolling (step 1/lambda_max)"
		if v == 1 {
			bias, label = r.BiasAdam, "Adam unrolling (Algorithm 1)"
		}
		var series []plot.Series
		for ki, k := range r.K {
			s := plot.Series{Name: fmt.Sprintf("K = %d", k), Markers: true}
			for ni, n := range r.N {
				s.X, s.Y = append(s.X, float64(n)), append(s.Y, bias[ki][ni])
			}
			series = append(series, s)
		}
		lp := &plot.LinePlot{Title: "Bias of the theta-gradient, " + label, XLabel: "N (unrolled steps)", YLabel: "|E g(K,N) - g*|", Series: series, LogY: true}
		if err := plot.SavePNG(filepath.Join(figs, "fig1_"+name+".png"), lp.Render(720, 460)); err != nil {
			return err
		}
		fmt.Fprintf(md, "\n![%s](figures/fig1_%s.png)\n", label, name)
	}
	return nil
}

// gradsplit tabulates the JSON of bism study gradsplit, one file per run.
func gradsplit(md *strings.Builder, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no %s/*.json", dir)
	}
	sort.Strings(files)
	fmt.Fprintf(md, "| run | iterations | N | rel. error through φ*(θ) | rel. error, φ fixed | cosine, φ fixed | rel. error, Algorithm 1 | cosine, Algorithm 1 | W only: rel. error | W only: cosine | posterior path recovered |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		ev := map[string]float64{"posterior_path_recovered": math.NaN()}
		for k, v := range raw {
			if x, ok := v.(float64); ok {
				ev[k] = x
			}
		}
		fmt.Fprintf(md, "| %s | %d | %d | %.2g | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.2f |\n", strings.TrimSuffix(filepath.Base(f), ".json"),
			int(ev["iter"]), int(ev["n"]), ev["total_rel_err"], ev["fixed_rel_err"], ev["fixed_cos"], ev["alg1_rel_err"], ev["alg1_cos"],
			ev["alg1_rel_err_w"], ev["alg1_cos_w"], ev["posterior_path_recovered"])
	}
	return nil
}
