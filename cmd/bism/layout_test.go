package main

import (
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/bism-ml/bism/"

// TestREADMELayout checks the README's layout table against the code:
// every package of the module is in it, and each imports only packages
// listed above it (data flows one way).
func TestREADMELayout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (`[^|]*) \\|")
	name := regexp.MustCompile("`([a-z0-9/]+)`")
	rank := map[string]int{}
	for i, m := range row.FindAllStringSubmatch(string(b), -1) {
		for _, n := range name.FindAllStringSubmatch(m[1], -1) {
			rank[n[1]] = i
		}
	}
	seen := 0
	filepath.WalkDir(filepath.Join("..", ".."), func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join("..", ".."), p)
		if strings.HasPrefix(rel, ".") && rel != "." || strings.HasPrefix(rel, "scripts") || strings.Contains(rel, "testdata") || strings.HasPrefix(rel, "docs") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(p, 0)
		if err != nil || pkg.Name == "" || rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if rel == "internal/datatest" || rel == "internal/blas/cblas" {
			return nil // test helper; cgo binding used by internal/blas under a build tag
		}
		seen++
		r, ok := rank[rel]
		if !ok {
			t.Errorf("package %s is not in the README's layout table", rel)
			return nil
		}
		for _, imp := range pkg.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if rd, ok := rank[dep]; ok && rd >= r && dep != rel {
				if rd == r && sameRowAllowed(rel, dep) {
					continue
				}
				t.Errorf("%s imports %s, which the README lists at or below it", rel, dep)
			}
		}
		return nil
	})
	if seen < 15 {
		t.Fatalf("found only %d packages", seen)
	}
}

// sameRowAllowed lists the imports between packages that share a row.
func sameRowAllowed(pkg, dep string) bool {
	return (pkg == "internal/blas" && (dep == "internal/parallel" || dep == "internal/freelist")) || (pkg == "internal/buildinfo" && dep == "internal/blas") || (pkg == "optim" && dep == "nn") ||
		(pkg == "config" && dep == "configs")
}

// TestDocsSpeakToUsers: the docs and code say what bism is and does now:
// no citations of documents outside the repository, no diary of sessions
// or commits, and RESULTS.md stays a summary.
func TestDocsSpeakToUsers(t *testing.T) {
	root := filepath.Join("..", "..")
	// Written without the phrases themselves, so this file does not cite them.
	bad := regexp.MustCompile(`(?i)\bspec\s+sections?\b|\bthe\s+spec\b|\bsessions?\b|\bcommit [0-9a-f]{7}`)
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		ext := filepath.Ext(p)
		if d.IsDir() || (ext != ".go" && ext != ".md" && ext != ".yaml" && ext != ".sh" && ext != ".py") || strings.HasSuffix(p, "layout_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := bad.FindString(line); m != "" {
				t.Errorf("%s:%d: %q", p, i+1, m)
			}
		}
		return nil
	})
	b, err := os.ReadFile(filepath.Join(root, "docs", "RESULTS.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 300 {
		t.Errorf("docs/RESULTS.md has %d lines; keep it to 300", n)
	}
}
