//go:build integration

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pypyctl is the binary under test, built once by TestMain.
var pypyctl string

// testCache is a cache kept between runs (downloads, sysroots), so that
// a rerun does not fetch the same packages again.
var testCache string

func TestMain(m *testing.M) {
	tmp, err := os.MkdirTemp("", "pypyctl-e2e-bin-")
	if err != nil {
		panic(err)
	}
	pypyctl = filepath.Join(tmp, "pypyctl")
	build := exec.Command("go", "build", "-o", pypyctl, "../cmd/pypyctl")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building pypyctl:", err)
		os.Exit(1)
	}
	if testCache = os.Getenv("PYPYCTL_TEST_CACHE"); testCache == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		testCache = filepath.Join(base, "pypyctl-test")
	}
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

// env is a clean environment for one pypyctl process: the shared test
// cache, and data/config dirs of the test's own.
func env(t *testing.T, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	e := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + testCache,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"),
		"XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
	}
	return append(e, extra...)
}

type result struct {
	stdout, stderr string
	code           int
}

// run executes pypyctl (optionally through a wrapper such as sh -c) in dir.
func run(t *testing.T, dir string, environ []string, args ...string) result {
	t.Helper()
	return runCmd(t, dir, environ, append([]string{pypyctl}, args...)...)
}

func runCmd(t *testing.T, dir string, environ []string, argv ...string) result {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = environ
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := result{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", argv, err)
	}
	return r
}

func mustRun(t *testing.T, dir string, environ []string, args ...string) result {
	t.Helper()
	r := run(t, dir, environ, args...)
	if r.code != 0 {
		t.Fatalf("pypyctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r
}

// sh runs a shell command and fails the test on error, showing output.
func sh(t *testing.T, dir string, environ []string, script string) string {
	t.Helper()
	cmd := exec.Command("sh", "-ec", script)
	cmd.Dir = dir
	cmd.Env = environ
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sh -c %q: %v\n%s", script, err, out)
	}
	return string(out)
}

// buildReport is the part of `pypyctl build --json` the tests read.
type buildReport struct {
	Release string `json:"release"`
	Target  string `json:"target"`
	Tree    string `json:"tree"`
	Stages  []struct {
		Name    string  `json:"name"`
		Hit     bool    `json:"store_hit"`
		Seconds float64 `json:"seconds"`
	} `json:"stages"`
	Artifacts []struct {
		Name   string `json:"name"`
		Path   string `json:"path"`
		Kind   string `json:"kind"`
		Format string `json:"format"`
		Size   int64  `json:"size"`
		SHA256 string `json:"sha256"`
	} `json:"artifacts"`
	Smoke *struct {
		Implementation string `json:"implementation"`
		SOABI          string `json:"soabi"`
		CFFIModule     bool   `json:"cffi_module"`
		Emulated       bool   `json:"emulated"`
		Machine        string `json:"machine"`
	} `json:"smoke"`
}

func parseReport(t *testing.T, out string) buildReport {
	t.Helper()
	var r buildReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("build --json output is not JSON: %v\n%s", err, out)
	}
	return r
}

// makeWheel writes a tiny pure-Python universal wheel (py2.py3), so pip
// has a local, offline package to install on 3.x and 2.7.
func makeWheel(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "pypyctl_hello-1.0-py2.py3-none-any.whl")
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := []struct{ name, body string }{
		{"pypyctl_hello/__init__.py", "GREETING = 'hello from a local wheel'\n"},
		{"pypyctl_hello-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pypyctl-hello\nVersion: 1.0\n"},
		{"pypyctl_hello-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: pypyctl-e2e\nRoot-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	for _, f := range files {
		w, err := zw.Create(f.name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
		fmt.Fprintf(&record, "%s,,\n", f.name)
	}
	record.WriteString("pypyctl_hello-1.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("pypyctl_hello-1.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
