package config

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Key describes one config key: what `bism keys` prints.
type Key struct {
	Name    string   // dotted path, e.g. "train.lr"
	Type    string   // integer, number, bool, text or one of Values
	Default string   // the value in Defaults()
	Doc     string   // one line
	Unset   string   // for text keys whose empty value means "not set": what unset means
	Values  []string // the names a registry key accepts
}

// field is a key bound to its place in Config.
type field struct {
	Key
	index []int // reflect field index path from Config
	kind  reflect.Kind
}

var fields = collectFields()

func collectFields() []field {
	var out []field
	def := reflect.ValueOf(Defaults())
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := 0; i < t.NumField(); i++ {
			sf := t.Field(i)
			name := prefix + strings.Split(sf.Tag.Get("yaml"), ",")[0]
			idx := append(append([]int(nil), index...), i)
			if sf.Type.Kind() == reflect.Struct {
				walk(sf.Type, name+".", idx)
				continue
			}
			f := field{Key: Key{Name: name, Doc: sf.Tag.Get("doc"), Unset: sf.Tag.Get("unset")}, index: idx, kind: sf.Type.Kind()}
			f.Values = Names()[name]
			switch {
			case f.Values != nil:
				f.Type = strings.Join(f.Values, "|")
			case f.kind == reflect.Int || f.kind == reflect.Uint64:
				f.Type = "integer"
			case f.kind == reflect.Float64:
				f.Type = "number"
			case f.kind == reflect.Bool:
				f.Type = "bool"
			default:
				f.Type = "text"
			}
			f.Default = formatValue(def.FieldByIndex(idx))
			out = append(out, f)
		}
	}
	walk(def.Type(), "", nil)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func formatValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	default:
		return fmt.Sprint(v.Interface())
	}
}

// Keys lists every key a config accepts, sorted.
func Keys() []Key {
	out := make([]Key, len(fields))
	for i, f := range fields {
		out[i] = f.Key
	}
	return out
}

func keyNames() []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f.Name
	}
	return out
}

func findField(name string) (field, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f, true
		}
	}
	return field{}, false
}

// unknownKey explains a key that is not in the config: a section, a likely
// typo, or the keys of the section it names.
func unknownKey(name string) error {
	var section []string
	for _, f := range fields {
		if strings.HasPrefix(f.Name, name+".") {
			section = append(section, f.Name)
		}
	}
	if section != nil {
		return fmt.Errorf("%s is a section, not a key; its keys are %s", name, strings.Join(section, ", "))
	}
	msg := fmt.Sprintf("unknown key %s", name)
	if m := nearest(name, keyNames()); m != "" {
		return fmt.Errorf("%s: did you mean %s?", msg, m)
	}
	if sec, _, ok := strings.Cut(name, "."); ok {
		for _, f := range fields {
			if strings.HasPrefix(f.Name, sec+".") {
				section = append(section, strings.TrimPrefix(f.Name, sec+"."))
			}
		}
		if section != nil {
			return fmt.Errorf("%s (the keys of %s are %s)", msg, sec, strings.Join(section, ", "))
		}
	}
	return fmt.Errorf("%s (bism keys lists them)", msg)
}

// set parses raw as the key's value and stores it in c. null marks a value
// that is absent (an empty -set value or a YAML null).
func (f field) set(c *Config, raw string, null bool) error {
	dst := reflect.ValueOf(c).Elem().FieldByIndex(f.index)
	raw = strings.TrimSpace(raw)
	if null || raw == "" {
		if f.Unset != "" {
			dst.SetString("")
			return nil
		}
		return fmt.Errorf("%s needs a value (%s)", f.Name, f.wants())
	}
	switch f.kind {
	case reflect.String:
		if f.Values != nil && !slices.Contains(f.Values, raw) {
			return fmt.Errorf("%s: unknown value %q%s", f.Name, raw, oneOf(f.Values, raw))
		}
		dst.SetString(raw)
	case reflect.Int, reflect.Uint64:
		n, err := parseInteger(raw)
		if err != nil || (f.kind == reflect.Uint64 && n < 0) {
			return fmt.Errorf("%s wants %s, got %q", f.Name, f.wants(), raw)
		}
		if f.kind == reflect.Uint64 {
			dst.SetUint(uint64(n))
		} else {
			dst.SetInt(n)
		}
	case reflect.Float64:
		x, err := strconv.ParseFloat(yamlFloat(raw), 64)
		if err != nil {
			return fmt.Errorf("%s wants %s, got %q", f.Name, f.wants(), raw)
		}
		if x != x || x > 1e308 || x < -1e308 {
			return fmt.Errorf("%s wants a finite number, got %q", f.Name, raw)
		}
		dst.SetFloat(x)
	case reflect.Bool:
		switch strings.ToLower(raw) {
		case "true", "yes", "on":
			dst.SetBool(true)
		case "false", "no", "off":
			dst.SetBool(false)
		default:
			return fmt.Errorf("%s wants true or false, got %q", f.Name, raw)
		}
	}
	return nil
}

func (f field) wants() string {
	switch {
	case f.Values != nil:
		return "one of " + strings.Join(f.Values, ", ")
	case f.kind == reflect.Int:
		return "an integer"
	case f.kind == reflect.Uint64:
		return "a non-negative integer"
	case f.kind == reflect.Float64:
		return "a number"
	case f.kind == reflect.Bool:
		return "true or false"
	}
	return "text"
}

// parseInteger accepts integer syntax (with _ separators) and numbers in
// floating-point syntax that are whole (1e5), refusing fractions.
func parseInteger(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 0, 64); err == nil {
		return n, nil
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || x != float64(int64(x)) || x > 1<<62 || x < -(1<<62) {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(x), nil
}

// yamlFloat maps YAML's spellings of infinity and NaN to Go's, so that
// they are read (and then refused as non-finite) rather than misread.
func yamlFloat(s string) string {
	switch strings.ToLower(s) {
	case ".inf", "+.inf":
		return "inf"
	case "-.inf":
		return "-inf"
	case ".nan":
		return "nan"
	}
	return s
}

// value returns the key's value in c, formatted as in a config file.
func (f field) value(c Config) string { return formatValue(reflect.ValueOf(c).FieldByIndex(f.index)) }

// Values returns every key of c with its value as text (a sweep file's
// computed values read them).
func Values(c Config) map[string]string {
	out := make(map[string]string, len(fields))
	for _, f := range fields {
		out[f.Name] = f.value(c)
	}
	return out
}
