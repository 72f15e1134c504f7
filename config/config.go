// Package config reads experiment files (YAML) into train.Config: the edge
// where text becomes typed, validated values. Unknown keys are errors, and
// -set style overrides ("train.iterations=2000") use the same dotted keys.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/bism-ml/bism/train"
	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path over train.Defaults(), applies the
// overrides (each "dotted.key=value", value parsed as YAML), and validates.
func Load(path string, overrides []string) (train.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return train.Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := Parse(b, overrides)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse is Load on the file's contents.
func Parse(src []byte, overrides []string) (train.Config, error) {
	var root map[string]any
	if err := yaml.Unmarshal(src, &root); err != nil {
		return train.Config{}, fmt.Errorf("config: invalid YAML: %v", err)
	}
	if root == nil {
		root = map[string]any{}
	}
	for _, o := range overrides {
		key, val, ok := strings.Cut(o, "=")
		if !ok || key == "" {
			return train.Config{}, fmt.Errorf("config: override %q is not key=value", o)
		}
		var v any
		if err := yaml.Unmarshal([]byte(val), &v); err != nil {
			return train.Config{}, fmt.Errorf("config: override %q: invalid value: %v", o, err)
		}
		if err := set(root, strings.Split(key, "."), v); err != nil {
			return train.Config{}, fmt.Errorf("config: override %q: %v", o, err)
		}
	}
	merged, err := yaml.Marshal(root)
	if err != nil {
		return train.Config{}, fmt.Errorf("config: %v", err)
	}
	cfg := train.Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(merged))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("config: %v (known keys: %s)", err, strings.Join(Keys(), ", "))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func set(m map[string]any, path []string, v any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			nm := map[string]any{}
			m[k] = nm
			m = nm
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not a section", strings.Join(path[:i+1], "."))
		}
		m = nm
	}
	m[path[len(path)-1]] = v
	return nil
}

// Keys lists every dotted key a config accepts.
func Keys() []string {
	b, _ := yaml.Marshal(train.Defaults())
	var root map[string]any
	_ = yaml.Unmarshal(b, &root)
	var keys []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else {
				keys = append(keys, prefix+k)
			}
		}
	}
	walk("", root)
	sort.Strings(keys)
	return keys
}
