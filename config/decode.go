package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/bism-ml/bism/configs"
)

// Load reads the config called name over Defaults(), applies the
// overrides and validates the result. name is a YAML file, or the name of
// a built-in config (configs.Names: "checkerboard/bissm", with or without
// the configs/ prefix and .yaml suffix) when no such file exists.
// Overrides are "dotted.key=value" strings (bism train -set).
func Load(name string, overrides []string) (Config, error) {
	src, origin, err := Read(name)
	if err != nil {
		return Config{}, err
	}
	return Parse(src, origin, overrides)
}

// Read returns the bytes of the config called name (see Load) and where
// they came from.
func Read(name string) (src []byte, origin string, err error) {
	b, ferr := os.ReadFile(name)
	if ferr == nil {
		return b, name, nil
	}
	if !errors.Is(ferr, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("config: %w", ferr)
	}
	if b, path, err := configs.Read(name); err == nil {
		return b, path + " (built in)", nil
	}
	msg := fmt.Sprintf("config: %s: no such file, and no built-in config of that name", name)
	if m := nearest(configs.Trim(name), configs.Names()); m != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", m)
	}
	return nil, "", fmt.Errorf("%s; bism configs lists the built-in ones: %w", msg, fs.ErrNotExist)
}

// Parse reads a config's YAML source (origin names it in errors) over
// Defaults(), applies the overrides and validates. Every key must be
// known; an error names the file and line, or the override, and the key.
func Parse(src []byte, origin string, overrides []string) (Config, error) {
	c := Defaults()
	set := map[string]bool{} // the keys the source and overrides set
	if err := decodeYAML(&c, src, origin, set); err != nil {
		return c, err
	}
	if err := override(&c, overrides, set); err != nil {
		return c, err
	}
	if c.Method.Gradient == GradientImplicit {
		// n and unroll describe the unroll; unless set, the implicit
		// gradient leaves them empty (Validate rejects them when set).
		if !set["method.n"] {
			c.Method.N = 0
		}
		if !set["method.unroll"] {
			c.Method.Unroll = ""
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("%s: %w", origin, err)
	}
	return c, nil
}

// Override applies "dotted.key=value" overrides to c (not validated: call
// Validate after). An error names the override and the key:
// "-set train.iterations=abc: train.iterations wants an integer".
func Override(c *Config, overrides []string) error { return override(c, overrides, nil) }

// override is Override, recording the keys it sets in set (when not nil).
func override(c *Config, overrides []string, set map[string]bool) error {
	for _, o := range overrides {
		key, val, ok := strings.Cut(o, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			return fmt.Errorf("-set %s: want key=value, e.g. -set train.iterations=2000", o)
		}
		f, found := findField(key)
		if !found {
			return fmt.Errorf("-set %s: %w", o, unknownKey(key))
		}
		if err := f.set(c, val, false); err != nil {
			return fmt.Errorf("-set %s: %w", o, err)
		}
		if set != nil {
			set[key] = true
		}
	}
	return nil
}

// decodeYAML sets the keys of a YAML document in c, strictly: unknown or
// repeated keys, values of the wrong type and lists are errors naming
// origin, the line and the key. Each key set is recorded in set.
func decodeYAML(c *Config, src []byte, origin string, set map[string]bool) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return fmt.Errorf("%s: not valid YAML: %v", origin, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil // empty file: the defaults
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	var walk func(n *yaml.Node, prefix string) error
	walk = func(n *yaml.Node, prefix string) error {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s:%d: %s must be a section of keys", origin, n.Line, strings.TrimSuffix(cmpOr(prefix, "the file"), "."))
		}
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			name := prefix + k.Value
			if seen[k.Value] {
				return fmt.Errorf("%s:%d: %s is set twice", origin, k.Line, name)
			}
			seen[k.Value] = true
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			f, found := findField(name)
			if !found {
				if v.Kind == yaml.MappingNode {
					if err := unknownKey(name); strings.Contains(err.Error(), "is a section") {
						if err := walk(v, name+"."); err != nil {
							return err
						}
						continue
					}
				}
				return fmt.Errorf("%s:%d: %w", origin, k.Line, unknownKey(name))
			}
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("%s:%d: %s wants a single value (%s)", origin, v.Line, name, f.wants())
			}
			if err := f.set(c, v.Value, v.Tag == "!!null"); err != nil {
				return fmt.Errorf("%s:%d: %w", origin, v.Line, err)
			}
			set[name] = true
		}
		return nil
	}
	return walk(root, "")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
