// Package testshared locates the shared directory of real upstream inputs
// (../shared/pypy beside the clone) for tests. It is imported only by
// tests.
package testshared

import (
	"os"
	"path/filepath"
	"testing"
)

// Env names the shared directory explicitly (the directory holding pypy/).
const Env = "PYPYCTL_SHARED"

// Find returns the shared directory: $PYPYCTL_SHARED, else the first
// "shared" directory holding pypy/ found walking up from the working
// directory (as a sibling of each ancestor). ok is false when there is
// none.
func Find() (string, bool) {
	if d := os.Getenv(Env); d != "" {
		if st, err := os.Stat(filepath.Join(d, "pypy")); err == nil && st.IsDir() {
			return d, true
		}
		return d, false
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "shared")
		if st, err := os.Stat(filepath.Join(cand, "pypy")); err == nil && st.IsDir() {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir returns the shared directory or ends the test: a failure in CI
// (PYPYCTL_CI=1), where the inputs must be present, a skip elsewhere.
func Dir(t testing.TB) string {
	t.Helper()
	d, ok := Find()
	if ok {
		return d
	}
	msg := "the shared upstream inputs (shared/pypy beside the clone, or $" + Env + ") are missing"
	if os.Getenv("PYPYCTL_CI") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Upstream is the path of a file in shared/pypy/upstream.
func Upstream(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(Dir(t), "pypy", "upstream", name)
}
