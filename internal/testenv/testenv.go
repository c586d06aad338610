// Package testenv tells tests what the machine provides. A test that
// cannot run here says so through Missing: it fails in CI (PYPYCTL_CI=1),
// where everything it needs must be present, and skips elsewhere.
package testenv

import (
	"github.com/pypyctl/pypyctl/internal/testtool"
	"os"
	"path/filepath"
	"testing"
)

// CIEnv set to 1 turns every Missing into a failure.
const CIEnv = "PYPYCTL_CI"

// SharedEnv names the shared directory (the one holding pypy/: pypy.git
// and upstream/) when it is not found beside the repository.
const SharedEnv = "PYPYCTL_SHARED"

// FindShared returns the shared directory of real upstream inputs:
// $PYPYCTL_SHARED, else the first "shared" directory holding pypy/ found
// walking up from the working directory (as a sibling of each ancestor).
// ok is false when there is none.
func FindShared() (string, bool) {
	if d := os.Getenv(SharedEnv); d != "" {
		return d, isDir(filepath.Join(d, "pypy"))
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		cand := filepath.Join(dir, "shared")
		if isDir(filepath.Join(cand, "pypy")) {
			return cand, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// SharedUpstream is the path of a file in shared/pypy/upstream (pypy.org's
// versions.json and checksums page); Missing when there is no shared dir.
func SharedUpstream(t testing.TB, name string) string {
	t.Helper()
	d, ok := FindShared()
	if !ok {
		Missing(t, "the shared upstream inputs (shared/pypy beside the clone, or $%s) are missing", SharedEnv)
	}
	return filepath.Join(d, "pypy", "upstream", name)
}

// Missing ends the test: a failure in CI, a skip elsewhere (testtool's
// one rule for what CI requires).
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	testtool.Missing(t, format, args...)
}

// SharedPyPy returns the shared pypy directory (pypy.git, upstream/):
// $PYPYCTL_SHARED/pypy, else the first shared/pypy found walking up from
// the working directory (a clone's CI checkout has it beside the clone).
func SharedPyPy(t testing.TB) string {
	t.Helper()
	if d := os.Getenv(SharedEnv); d != "" {
		p := filepath.Join(d, "pypy")
		if isDir(filepath.Join(p, "pypy.git")) {
			return p
		}
		Missing(t, "$%s=%s has no pypy/pypy.git", SharedEnv, d)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "shared", "pypy")
		if isDir(filepath.Join(p, "pypy.git")) {
			return p
		}
		if filepath.Dir(dir) == dir {
			break
		}
	}
	Missing(t, "no shared/pypy/pypy.git above %s (set $%s)", wd, SharedEnv)
	return ""
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
