package plot

import (
	"math"
	"strconv"
	"strings"
)

// scale maps data values on one axis to pixels.
type scale struct {
	lo, hi float64 // data range (log10 of it for a log axis)
	p0, p1 float64 // pixel positions of lo and hi
	log    bool
}

func (s scale) pix(v float64) float64 {
	if s.log {
		if v <= 0 {
			return math.NaN()
		}
		v = math.Log10(v)
	}
	return s.p0 + (v-s.lo)/(s.hi-s.lo)*(s.p1-s.p0)
}

// tick is a labelled (major) or unlabelled (minor) tick position.
type tick struct {
	v     float64 // data value
	label string  // empty for minor ticks
}

// dataRange returns the range of the finite values of vs (positive ones for
// a log axis), and false if there are none.
func dataRange(log bool, vss ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, vs := range vss {
		for _, v := range vs {
			if !finite(v) || (log && v <= 0) {
				continue
			}
			lo, hi, ok = math.Min(lo, v), math.Max(hi, v), true
		}
	}
	return lo, hi, ok
}

// padRange widens [lo, hi] by frac of its width on each side (in log space
// for a log axis) and gives a degenerate range a sensible width.
func padRange(lo, hi, frac float64, log bool) (float64, float64) {
	if log {
		l, h := padRange(math.Log10(lo), math.Log10(hi), frac, false)
		return math.Pow(10, l), math.Pow(10, h)
	}
	if hi == lo {
		d := math.Abs(lo) * 0.1
		if d == 0 {
			d = 1
		}
		return lo - d, hi + d
	}
	d := (hi - lo) * frac
	return lo - d, hi + d
}

// linearTicks returns nice ticks (steps of 1, 2 or 5 times a power of ten)
// within [lo, hi], at most maxTicks of them.
func linearTicks(lo, hi float64, maxTicks int) []tick {
	if !(hi > lo) || !finite(hi-lo) {
		return nil
	}
	maxTicks = max(maxTicks, 2)
	step := 0.0
	e0 := math.Max(math.Floor(math.Log10((hi-lo)/float64(maxTicks)))-1, -324)
	for e := e0; e < 310; e++ {
		p := math.Pow(10, e)
		if p == 0 {
			continue
		}
		for _, m := range []float64{1, 2, 5} {
			s := m * p
			if math.Floor(hi/s)-math.Ceil(lo/s)+1 <= float64(maxTicks) {
				step = s
				break
			}
		}
		if step > 0 {
			break
		}
	}
	if step == 0 {
		return nil
	}
	var ticks []tick
	first := math.Ceil(lo/step - 1e-9)
	for k := first; k*step <= hi+step*1e-9 && len(ticks) <= maxTicks; k++ {
		v := k * step
		if math.Abs(v) < step*1e-9 {
			v = 0
		}
		ticks = append(ticks, tick{v: v})
	}
	labels := formatTicks(ticks, step)
	for i := range ticks {
		ticks[i].label = labels[i]
	}
	return ticks
}

// formatTicks formats tick values with the fewest digits that distinguish
// them at the given step, switching to exponent notation for very large or
// small magnitudes.
func formatTicks(ticks []tick, step float64) []string {
	maxAbs := 0.0
	for _, t := range ticks {
		maxAbs = math.Max(maxAbs, math.Abs(t.v))
	}
	out := make([]string, len(ticks))
	if maxAbs >= 1e6 || (maxAbs > 0 && maxAbs < 1e-3) {
		// Each label gets the mantissa digits needed to resolve the step,
		// without trailing zeros: 0, 5e5, 1e6, 1.5e6.
		for i, t := range ticks {
			if t.v == 0 {
				out[i] = "0"
				continue
			}
			digits := max(0, int(math.Floor(math.Log10(math.Abs(t.v))))-int(math.Floor(math.Log10(step)+1e-9)))
			out[i] = formatNumber(strconv.FormatFloat(t.v, 'e', digits, 64))
		}
		return out
	}
	decimals := max(0, -int(math.Floor(math.Log10(step)+1e-9)))
	for i, t := range ticks {
		out[i] = formatNumber(strconv.FormatFloat(t.v, 'f', decimals, 64))
	}
	return out
}

// formatNumber tidies a formatted number: a true minus sign and a compact
// exponent ("1.5e+06" becomes "1.5e6").
func formatNumber(s string) string {
	if i := strings.IndexByte(s, 'e'); i >= 0 {
		mant, exp := s[:i], s[i+1:]
		if strings.Contains(mant, ".") {
			mant = strings.TrimSuffix(strings.TrimRight(mant, "0"), ".")
		}
		neg := strings.HasPrefix(exp, "-")
		exp = strings.TrimLeft(exp, "+-0")
		if exp == "" {
			exp = "0"
		}
		if neg {
			exp = "-" + exp
		}
		s = mant + "e" + exp
	}
	return strings.ReplaceAll(s, "-", "−")
}

// logTicks returns ticks for a log axis over [lo, hi] (data values, > 0):
// labelled powers of ten, with 2 and 5 multiples labelled as well when the
// range spans less than two decades, and unlabelled minor ticks at the other
// integer multiples when there is room.
func logTicks(lo, hi float64, maxTicks int) []tick {
	if !(hi > lo) || lo <= 0 || !finite(hi/lo) {
		return nil
	}
	maxTicks = max(maxTicks, 2)
	e0, e1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	decades := e1 - e0
	if decades > 300 {
		return nil
	}
	in := func(v float64) bool { return v >= lo*(1-1e-9) && v <= hi*(1+1e-9) }
	var ticks []tick
	if decades <= 2 && math.Log10(hi/lo) < 2 {
		for e := e0; e <= e1; e++ {
			for m := 1; m <= 9; m++ {
				v := float64(m) * math.Pow(10, e)
				if !in(v) {
					continue
				}
				t := tick{v: v}
				if m == 1 || m == 2 || m == 5 {
					t.label = logLabel(float64(m), e)
				}
				ticks = append(ticks, t)
			}
		}
		if countLabelled(ticks) >= 2 {
			return uniformLogLabels(ticks)
		}
		return linearTicks(lo, hi, maxTicks) // less than a decade
	}
	// Label every k-th power of ten inside the range, counting from the
	// first one, so that at most maxTicks are labelled.
	first, last := math.Ceil(math.Log10(lo)-1e-9), math.Floor(math.Log10(hi)+1e-9)
	every := math.Max(1, math.Ceil((last-first+1)/float64(maxTicks)))
	for e := e0; e <= e1; e++ {
		if e >= first && e <= last && math.Mod(e-first, every) == 0 {
			ticks = append(ticks, tick{v: math.Pow(10, e), label: logLabel(1, e)})
		}
		if every == 1 && decades <= 12 {
			for m := 2; m <= 9; m++ {
				if v := float64(m) * math.Pow(10, e); in(v) {
					ticks = append(ticks, tick{v: v})
				}
			}
		}
	}
	return uniformLogLabels(ticks)
}

// uniformLogLabels writes all labels of a log axis in exponent notation if
// any of them needs it, so that "10000" and "1e5" do not mix.
func uniformLogLabels(ticks []tick) []tick {
	exp := false
	for _, t := range ticks {
		exp = exp || (t.label != "" && strings.Contains(t.label, "e"))
	}
	if !exp {
		return ticks
	}
	for i, t := range ticks {
		if t.label != "" {
			e := math.Floor(math.Log10(t.v) + 1e-9)
			ticks[i].label = formatNumber(strconv.FormatFloat(math.Round(t.v/math.Pow(10, e)), 'f', 0, 64) + "e" + strconv.Itoa(int(e)))
		}
	}
	return ticks
}

func countLabelled(ts []tick) int {
	n := 0
	for _, t := range ts {
		if t.label != "" {
			n++
		}
	}
	return n
}

// logLabel formats m×10^e: plainly for moderate magnitudes, else as "1e5".
func logLabel(m, e float64) string {
	if e >= -3 && e <= 4 {
		return formatNumber(strconv.FormatFloat(m*math.Pow(10, e), 'f', max(0, int(-e)), 64))
	}
	return formatNumber(strconv.FormatFloat(m, 'f', 0, 64) + "e" + strconv.Itoa(int(e)))
}
