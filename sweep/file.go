package sweep

import (
	"fmt"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bism-ml/bism/config"
)

// File is a sweep file:
//
//	base: checkerboard/bidsm        # config name or file (a variant may name its own)
//	variants:                       # optional: named sets of overrides
//	  n0: {method.n: 0}
//	  dsm: {config: checkerboard/dsm}
//	grid:                           # optional: every combination of these values
//	  train.lr: [0.001, 0.0003]
//	seeds: [1, 2, 3]
//	set:                            # optional: overrides of every cell
//	  train.eval_every: 10000
//	eval: [-select]                 # optional: `bism eval -json` flags, run after training
//
// The cells are variants × grid × seeds, each a run directory. A value of
// set, a variant or the grid may be computed from the cell's other keys:
// {train.iterations/10} is its train.iterations divided by 10.
type File struct {
	Base     string
	Variants []Variant // in the file's order
	Grid     []Axis    // in the file's order
	Seeds    []uint64
	Set      []string   // key=value
	Evals    []EvalStep // the evaluation steps of every cell, in order
}

// EvalStep is one evaluation of a trained cell: `bism eval -json` with
// Flags, whose JSON the cell keeps in File(). The unnamed step (a sweep
// file's `eval: [flags]`) writes eval.json; a named one (`eval: {NAME:
// [flags]}`) writes eval-NAME.json, and its numbers are summarised as
// eval.NAME.KEY.
type EvalStep struct {
	Name  string
	Flags []string
}

// File is the step's JSON file in the cell's directory.
func (s EvalStep) File() string {
	if s.Name == "" {
		return EvalFile
	}
	return "eval-" + s.Name + ".json"
}

// Prefix is what the step's numbers are summarised under.
func (s EvalStep) Prefix() string {
	if s.Name == "" {
		return "eval."
	}
	return "eval." + s.Name + "."
}

// Variant is a named set of overrides; Config, when set, replaces the base.
type Variant struct {
	Name      string
	Config    string
	Overrides []string
	Evals     []EvalStep // evaluation steps of this variant's cells only, after the file's
}

// Axis is one key of the grid and its values.
type Axis struct {
	Key    string
	Values []string
}

// Cell is one run of a sweep: a config, its overrides and a seed.
type Cell struct {
	Name      string   // directory under the sweep's folder: [variant,][key=value,...]seedS
	Group     string   // the name without the seed: cells that differ only by seed
	Config    string   // config name or file
	Overrides []string // key=value, seed included
	Seed      uint64
	Evals     []EvalStep // the evaluation steps, in order (none: the cell is finished when trained)
}

// Load reads and checks a sweep file.
func Load(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("sweep: %w", err)
	}
	return Parse(b, path)
}

// Parse reads a sweep file's YAML source; origin names it in errors.
func Parse(src []byte, origin string) (File, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		return File{}, fmt.Errorf("%s: not valid YAML: %v", origin, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return File{}, fmt.Errorf("%s: a sweep file is a mapping with base, variants, grid, seeds and set", origin)
	}
	var f File
	bad := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", origin, n.Line, fmt.Sprintf(format, args...))
	}
	m := root.Content[0]
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if seen[k.Value] {
			return f, bad(k, "%s is set twice", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "base":
			if v.Kind != yaml.ScalarNode || v.Value == "" {
				return f, bad(v, "base wants a config name or file")
			}
			f.Base = v.Value
		case "variants":
			if v.Kind != yaml.MappingNode {
				return f, bad(v, "variants wants a mapping of names to sets of keys")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				name, body := v.Content[j], v.Content[j+1]
				if !validName(name.Value) {
					return f, bad(name, "variant name %q: use letters, digits, '-', '_' and '.'", name.Value)
				}
				if slices.ContainsFunc(f.Variants, func(x Variant) bool { return x.Name == name.Value }) {
					return f, bad(name, "variant %s is set twice", name.Value)
				}
				vr := Variant{Name: name.Value}
				if body.Kind == yaml.MappingNode {
					// eval: its own evaluation steps; the rest are config keys.
					rest := *body
					rest.Content = nil
					for j := 0; j+1 < len(body.Content); j += 2 {
						if body.Content[j].Value == "eval" {
							steps, err := evalSteps(body.Content[j+1])
							if err != nil {
								return f, bad(body.Content[j+1], "variant %s: %v", name.Value, err)
							}
							if len(steps) == 1 && steps[0].Name == "" {
								return f, bad(body.Content[j+1], "variant %s: a variant's evaluation steps are named (eval: {NAME: [flags]})", name.Value)
							}
							vr.Evals = steps
							continue
						}
						rest.Content = append(rest.Content, body.Content[j], body.Content[j+1])
					}
					body = &rest
				}
				pairs, err := scalarMap(body)
				if err != nil {
					return f, bad(body, "variant %s: %v", name.Value, err)
				}
				for _, p := range pairs {
					if p[0] == "config" {
						vr.Config = p[1]
					} else {
						vr.Overrides = append(vr.Overrides, p[0]+"="+p[1])
					}
				}
				f.Variants = append(f.Variants, vr)
			}
		case "grid":
			if v.Kind != yaml.MappingNode {
				return f, bad(v, "grid wants a mapping of keys to lists of values")
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				key, list := v.Content[j], v.Content[j+1]
				if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
					return f, bad(list, "grid.%s wants a non-empty list of values", key.Value)
				}
				ax := Axis{Key: key.Value}
				for _, x := range list.Content {
					if x.Kind != yaml.ScalarNode {
						return f, bad(x, "grid.%s: values must be single values", key.Value)
					}
					ax.Values = append(ax.Values, x.Value)
				}
				f.Grid = append(f.Grid, ax)
			}
		case "seeds":
			if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
				return f, bad(v, "seeds wants a non-empty list of integers")
			}
			for _, x := range v.Content {
				s, err := strconv.ParseUint(x.Value, 10, 64)
				if err != nil {
					return f, bad(x, "seeds: %q is not a non-negative integer", x.Value)
				}
				if slices.Contains(f.Seeds, s) {
					return f, bad(x, "seed %d is listed twice", s)
				}
				f.Seeds = append(f.Seeds, s)
			}
		case "eval":
			steps, err := evalSteps(v)
			if err != nil {
				return f, bad(v, "%v", err)
			}
			f.Evals = steps
		case "set":
			pairs, err := scalarMap(v)
			if err != nil {
				return f, bad(v, "set: %v", err)
			}
			for _, p := range pairs {
				f.Set = append(f.Set, p[0]+"="+p[1])
			}
		default:
			return f, bad(k, "unknown key %s (a sweep file has base, variants, grid, seeds, set and eval)", k.Value)
		}
	}
	if len(f.Seeds) == 0 {
		return f, fmt.Errorf("%s: seeds is required (e.g. seeds: [1, 2, 3])", origin)
	}
	if f.Base == "" && (len(f.Variants) == 0 || slices.ContainsFunc(f.Variants, func(v Variant) bool { return v.Config == "" })) {
		return f, fmt.Errorf("%s: base is required unless every variant names its config", origin)
	}
	return f, nil
}

// evalSteps reads eval: a list of bism eval flags (one unnamed step), or
// a mapping of step names to such lists.
func evalSteps(n *yaml.Node) ([]EvalStep, error) {
	if n.Kind == yaml.AliasNode { // eval: *name, the steps of an anchor
		n = n.Alias
	}
	flags := func(n *yaml.Node) ([]string, error) {
		if n.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("eval wants a list of bism eval flags, e.g. [-select], or a mapping of step names to such lists")
		}
		out := []string{}
		for _, x := range n.Content {
			if x.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("eval: flags must be single values")
			}
			out = append(out, x.Value)
		}
		return out, nil
	}
	if n.Kind != yaml.MappingNode {
		fl, err := flags(n)
		return []EvalStep{{Flags: fl}}, err
	}
	var steps []EvalStep
	for i := 0; i+1 < len(n.Content); i += 2 {
		name := n.Content[i].Value
		if !validName(name) {
			return nil, fmt.Errorf("evaluation step name %q: use letters, digits, '-', '_' and '.'", name)
		}
		if slices.ContainsFunc(steps, func(s EvalStep) bool { return s.Name == name }) {
			return nil, fmt.Errorf("evaluation step %s is named twice", name)
		}
		fl, err := flags(n.Content[i+1])
		if err != nil {
			return nil, fmt.Errorf("eval.%s: %v", name, err)
		}
		steps = append(steps, EvalStep{Name: name, Flags: fl})
	}
	return steps, nil
}

// scalarMap reads a mapping of dotted keys (or nested sections) to single
// values as ordered key, value pairs.
func scalarMap(n *yaml.Node) ([][2]string, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("want a mapping of keys to values")
	}
	var out [][2]string
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch v.Kind {
			case yaml.ScalarNode:
				out = append(out, [2]string{prefix + k.Value, v.Value})
			case yaml.MappingNode:
				if err := walk(v, prefix+k.Value+"."); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s%s wants a single value", prefix, k.Value)
			}
		}
		return nil
	}
	return out, walk(n, "")
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

func validName(s string) bool { return nameRE.MatchString(s) }

// Cells expands the sweep into its runs, in a fixed order (variants, then
// the grid with its last key fastest, then seeds), with extra overrides
// applied to every cell last. Each cell's config is resolved and
// validated, so a bad key fails before anything runs.
func (f File) Cells(extra []string) ([]Cell, error) {
	variants := f.Variants
	if len(variants) == 0 {
		variants = []Variant{{}}
	}
	combos := [][]string{nil} // key=value lists of the grid, in order
	for _, ax := range f.Grid {
		var next [][]string
		for _, c := range combos {
			for _, v := range ax.Values {
				next = append(next, append(slices.Clip(c), ax.Key+"="+v))
			}
		}
		combos = next
	}
	var cells []Cell
	seen := map[string]bool{}
	for _, vr := range variants {
		evals := append(slices.Clip(f.Evals), vr.Evals...)
		if err := uniqueSteps(evals); err != nil {
			return nil, fmt.Errorf("sweep: variant %s: %w", vr.Name, err)
		}
		for _, combo := range combos {
			var parts []string
			if vr.Name != "" {
				parts = append(parts, vr.Name)
			}
			for _, kv := range combo {
				parts = append(parts, shortKV(kv))
			}
			group := strings.Join(parts, ",")
			for _, seed := range f.Seeds {
				c := Cell{Group: group, Config: f.Base, Seed: seed, Evals: evals}
				if vr.Config != "" {
					c.Config = vr.Config
				}
				c.Name = strings.Join(append(slices.Clip(parts), fmt.Sprintf("seed%d", seed)), ",")
				if seen[c.Name] {
					return nil, fmt.Errorf("sweep: two cells are named %s", c.Name)
				}
				seen[c.Name] = true
				c.Overrides = append(c.Overrides, f.Set...)
				c.Overrides = append(c.Overrides, vr.Overrides...)
				c.Overrides = append(c.Overrides, combo...)
				c.Overrides = append(c.Overrides, "seed="+strconv.FormatUint(seed, 10))
				c.Overrides = append(c.Overrides, extra...)
				if err := c.derive(); err != nil {
					return nil, fmt.Errorf("sweep: cell %s: %w", c.Name, err)
				}
				if _, err := c.Resolve(); err != nil {
					return nil, fmt.Errorf("sweep: cell %s: %w", c.Name, err)
				}
				cells = append(cells, c)
			}
		}
	}
	return cells, nil
}

// uniqueSteps refuses two evaluation steps that would write one file.
func uniqueSteps(steps []EvalStep) error {
	for i, s := range steps {
		for _, t := range steps[:i] {
			if s.Name == t.Name {
				return fmt.Errorf("evaluation step %q is given twice (by the file and the variant)", s.Name)
			}
		}
	}
	return nil
}

// Resolve returns the cell's config.
func (c Cell) Resolve() (config.Config, error) { return config.Load(c.Config, c.Overrides) }

// shortKV names a grid value in a directory name: the key's last part and
// the value, with characters a path cannot hold replaced.
func shortKV(kv string) string {
	k, v, _ := strings.Cut(kv, "=")
	if i := strings.LastIndex(k, "."); i >= 0 {
		k = k[i+1:]
	}
	return k + "=" + strings.NewReplacer("/", "-", " ", "_", ",", "_").Replace(v)
}

var derivedRE = regexp.MustCompile(`^\{([a-z0-9_.]+)\s*([*/])\s*([0-9.]+)\}$`)

// derive computes the values written {key/n} or {key*n} from the cell's
// config without them (integer keys round down).
func (c *Cell) derive() error {
	var plain []string
	derived := map[int][]string{}
	for i, o := range c.Overrides {
		k, v, _ := strings.Cut(o, "=")
		if m := derivedRE.FindStringSubmatch(strings.TrimSpace(v)); m != nil {
			derived[i] = []string{k, m[1], m[2], m[3]}
			continue
		}
		if strings.ContainsAny(v, "{}") {
			return fmt.Errorf("%s: a computed value is written {key/n} or {key*n}", o)
		}
		plain = append(plain, o)
	}
	if len(derived) == 0 {
		return nil
	}
	base, err := config.Load(c.Config, plain)
	if err != nil {
		return err
	}
	values := config.Values(base)
	types := map[string]string{}
	for _, k := range config.Keys() {
		types[k.Name] = k.Type
	}
	for i, d := range derived {
		src, ok := values[d[1]]
		if !ok {
			return fmt.Errorf("%s: %s is not a key", c.Overrides[i], d[1])
		}
		x, err1 := strconv.ParseFloat(src, 64)
		n, err2 := strconv.ParseFloat(d[3], 64)
		if err1 != nil || err2 != nil || (d[2] == "/" && n == 0) {
			return fmt.Errorf("%s: %s = %q is not a number to compute with", c.Overrides[i], d[1], src)
		}
		r := x * n
		if d[2] == "/" {
			r = x / n
		}
		v := strconv.FormatFloat(r, 'g', -1, 64)
		if types[d[0]] == "integer" {
			v = strconv.FormatInt(int64(math.Floor(r)), 10)
		}
		c.Overrides[i] = d[0] + "=" + v
	}
	return nil
}
