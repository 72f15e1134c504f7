// Package datatest finds the real data sets for tests. A test that needs
// one calls Root: without the data it is skipped with one line that says
// how to get it, unless $BISM_REQUIRE_DATA is set (as CI does), where a
// missing data set fails the test instead.
package datatest

import (
	"os"
	"testing"

	"github.com/bism-ml/bism/data"
)

// EnvRequire names the environment variable that turns a missing data
// set into a test failure.
const EnvRequire = "BISM_REQUIRE_DATA"

// Root returns the data root (data.Dir("")) when it holds every data set
// named, and otherwise skips tb (or fails it under $BISM_REQUIRE_DATA).
func Root(tb testing.TB, names ...string) string {
	tb.Helper()
	root := data.Dir("")
	for _, n := range names {
		if err := data.Missing(root, n); err != nil {
			if os.Getenv(EnvRequire) != "" {
				tb.Fatalf("%v ($%s is set)", err, EnvRequire)
			} else {
				tb.Skip(err)
			}
		}
	}
	return root
}
