package data

import (
	"os"
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv(EnvDataDir, "/from/env")
	if got := Dir("/from/flag"); got != "/from/flag" {
		t.Errorf("flag: %q", got)
	}
	if got := Dir(""); got != "/from/env" {
		t.Errorf("env: %q", got)
	}
	t.Setenv(EnvDataDir, "")
	tmp, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(tmp, "shared", "datasets")
	pkg := filepath.Join(tmp, "repo", "pkg")
	for _, d := range []string{want, pkg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(pkg)
	if got := Dir(""); got != want {
		t.Errorf("walk up: %q, want %q", got, want)
	}
}

func TestLoaderLoad(t *testing.T) {
	sp, err := Loader{}.Load("Checkerboard", 7)
	if err != nil || sp.Train.N != 60000 {
		t.Fatalf("checkerboard: %v", err)
	}
	tmp := t.TempDir()
	writeCIFAR(t, tmp, 1)
	if sp, err := (Loader{Dir: tmp}).Load("cifar10", 0); err != nil || sp.Test.N != 1 {
		t.Errorf("cifar10: %v", err)
	}
	if _, err := (Loader{}).Load("imagenet", 0); err == nil {
		t.Error("unknown name: no error")
	}
}
