// Package buildinfo describes the running binary and machine: bism's
// version and VCS revision (from the Go build information), the Go
// version, the CPU and the matrix-multiply kernel in use. Runs record it
// (run.json) and `bism version` prints it.
package buildinfo

import (
	"bufio"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/bism-ml/bism/internal/blas"
)

// Info is what a run records about the program and machine.
type Info struct {
	Version    string `json:"version"`            // module version, "(devel)" for a build from a checkout
	Revision   string `json:"revision,omitempty"` // VCS commit, when built from a checkout
	Dirty      bool   `json:"dirty,omitempty"`    // the checkout had uncommitted changes
	CommitTime string `json:"commit_time,omitempty"`
	Go         string `json:"go"`
	OS         string `json:"os"`
	Arch       string `json:"arch"`
	CPU        string `json:"cpu,omitempty"`
	Kernel     string `json:"gemm_kernel"` // the float32 GEMM micro-kernel (instruction set in use)
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// Get returns the information of this process.
func Get() Info {
	i := Info{Version: "(unknown)", Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPU: cpuModel(), Kernel: blas.KernelName(), GOMAXPROCS: runtime.GOMAXPROCS(0)}
	if bi, ok := debug.ReadBuildInfo(); ok {
		i.Version = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.modified":
				i.Dirty = s.Value == "true"
			case "vcs.time":
				i.CommitTime = s.Value
			}
		}
	}
	return i
}

// cpuModel reads the CPU's model name on Linux ("" elsewhere).
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
