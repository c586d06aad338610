package testtool

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Setup is the step that installs what the tests need.
const Setup = "scripts/setup.sh"

// CI reports whether missing requirements must fail instead of skip.
func CI() bool {
	return os.Getenv("PYPYCTL_CI") == "1" || os.Getenv("CI") == "true"
}

// Need returns the paths of the named programs, or stops the test when one
// is not on PATH: a failure in CI, a skip elsewhere.
func Need(t testing.TB, tools ...string) []string {
	t.Helper()
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			Missing(t, "%s is not on PATH (%s installs it)", tool, Setup)
			return nil
		}
		paths[i] = p
	}
	return paths
}

// NeedRoot stops the test unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "needs root (run the tests as root, as CI does)")
	}
}

// Missing stops the test because the machine lacks what the message
// names: t.Fatalf in CI, t.Skipf elsewhere. The message should say how to
// get it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("required in CI: %s", msg)
		return // only reached with a testing.TB double
	}
	t.Skipf("%s (a failure under PYPYCTL_CI=1)", msg)
}

// Built returns the path of a tool a script under scripts/tools builds
// into the project cache (${XDG_CACHE_HOME:-~/.cache}/pypyctl-tools/bin),
// or stops the test when it is not built yet, naming the script.
func Built(t testing.TB, name, script string) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			Missing(t, "no home directory to find the cached %s in: %v", name, err)
			return ""
		}
		cache = filepath.Join(home, ".cache")
	}
	bin := filepath.Join(cache, "pypyctl-tools", "bin", name)
	if _, err := os.Stat(bin); err != nil {
		Missing(t, "%s is not built: run %s (make test does; it caches %s)", name, script, bin)
		return ""
	}
	return bin
}
