//go:build integration

package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublishInstallRun is the user's path on real PyPy bits: build,
// publish to a directory, install from it over HTTP on 127.0.0.1 and from
// the path, run the installed interpreter, make a venv with it, uninstall.
func TestPublishInstallRun(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	mustRun(t, work, e, "build", "--target", "linux-amd64", "--formats", "tar.gz")
	// One published tree with relative URLs (read from disk), one served
	// over HTTP with absolute ones.
	mustRun(t, work, e, "publish", "dist", "--to", "public")
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(work, "served"))))
	defer srv.Close()
	mustRun(t, work, e, "publish", "dist", "--to", "served", "--base-url", srv.URL)

	for _, index := range []string{srv.URL + "/versions.json", filepath.Join(work, "public")} {
		t.Run(strings.SplitN(index, ":", 2)[0], func(t *testing.T) {
			e := env(t)
			mustRun(t, work, e, "install", "3.9", "--index", index)
			out := mustRun(t, work, e, "run", "3.9", "--", "-c", "import ssl, sqlite3, sys; print(sys.implementation.name, ssl.OPENSSL_VERSION)").stdout
			if !strings.HasPrefix(out, "pypy OpenSSL") {
				t.Fatalf("run printed %q", out)
			}
			which := strings.TrimSpace(mustRun(t, work, e, "which", "3.9").stdout)
			venv := filepath.Join(t.TempDir(), "v")
			sh(t, work, e, which+" -m venv "+venv+" && "+venv+"/bin/python -m pip --version")
			again := mustRun(t, work, e, "install", "3.9", "--index", index)
			if !strings.Contains(again.stdout+again.stderr, "already installed") {
				t.Errorf("second install did not say already installed:\n%s%s", again.stdout, again.stderr)
			}
			mustRun(t, work, e, "uninstall", "3.9")
			if _, err := os.Stat(which); !os.IsNotExist(err) {
				t.Errorf("uninstall left %s", which)
			}
		})
	}
}
