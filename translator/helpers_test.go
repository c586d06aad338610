package translator

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
)

const testRelease = "pypy3.11-v7.3.20"

// matrixFor loads the embedded matrix and returns a release and target.
func matrixFor(t *testing.T, release, target string) (*platforms.Release, *platforms.Target) {
	t.Helper()
	m, err := platforms.Load("")
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Release(release)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := m.Target(target)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture machine has a PyPy 2.7 on PATH: these tests plan host
	// builds. Image plans have their own helper (imagePlan).
	if IsImageBuilder(tg.Builder) {
		tg.Builder = BuilderHost
	}
	return r, tg
}

// nativeTarget is the matrix target this test machine can run natively.
func nativeTarget(t *testing.T) string {
	switch runtime.GOARCH {
	case "amd64":
		return "linux-amd64"
	case "arm64":
		return "linux-arm64"
	}
	// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
	t.Skipf("no linux target of %s for GOARCH %s", testRelease, runtime.GOARCH)
	return ""
}

// fakeMachine is a machine whose every answer is fixed: a roomy linux
// box with all build dependencies and, when host is not empty, a PyPy2.7
// at host answering the probe with probe.
func fakeMachine(goos, goarch string, host, probe string) *Machine {
	return &Machine{
		OS: goos, Arch: goarch, CPUs: 4,
		Getenv:   func(k string) string { return map[string]string{"PATH": "/usr/bin:/bin"}[k] },
		MemTotal: func() (uint64, error) { return 32 * gb, nil },
		DiskFree: func(string) (uint64, error) { return 200 * gb, nil },
		LookPath: func(name string) (string, error) {
			switch {
			case host != "" && (name == "pypy" || name == host):
				return host, nil
			case name == "gcc" || name == "make" || name == "pkg-config" || name == "bwrap" || strings.HasPrefix(name, "qemu-"):
				return "/usr/bin/" + name, nil
			}
			return "", exec.ErrNotFound
		},
		Run: func(_ context.Context, _ []string, argv ...string) ([]byte, error) {
			for i, a := range argv {
				if a == host && i+1 < len(argv) && argv[i+1] == "-c" {
					return []byte(probe), nil
				}
			}
			return nil, errors.New("fake machine: unexpected command " + strings.Join(argv, " "))
		},
		PkgConfig:     func(context.Context, string, string) bool { return true },
		Binfmt:        func(string) Binfmt { return BinfmtUnmounted },
		FileExists:    func(string) bool { return true },
		AptCandidates: func(context.Context, ...string) map[string]string { return map[string]string{} },
	}
}

const pypyProbe = "impl=PyPy\nversion=2.7.18\nmachine=x86_64\nbits=64\npypy=7.3.20\ncffi=1.17.1\n"

// testMachine is the real machine with resource and dependency checks
// pinned, so the run tests pass on small CI boxes without -dev packages,
// and env as the caller's whole environment.
func testMachine(env map[string]string) *Machine {
	m := LocalMachine(func(k string) string { return env[k] })
	m.MemTotal = func() (uint64, error) { return 64 * gb, nil }
	m.DiskFree = func(string) (uint64, error) { return 500 * gb, nil }
	m.PkgConfig = func(context.Context, string, string) bool { return true }
	m.FileExists = func(string) bool { return true }
	m.AptCandidates = nil
	look := m.LookPath
	m.LookPath = func(name string) (string, error) {
		switch name {
		case "gcc", "make", "pkg-config":
			return "/usr/bin/" + name, nil
		}
		return look(name)
	}
	return m
}

func writeFile(t *testing.T, path, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fakeSourceTree makes a PyPy-shaped source tree for Python pyVersion
// with the rpython double installed at rpython/bin/rpython.
func fakeSourceTree(t *testing.T, dir, pyVersion string) string {
	t.Helper()
	double := readFile(t, filepath.Join("testdata", "rpython-double", "rpython"))
	writeFile(t, filepath.Join(dir, "rpython", "bin", "rpython"), double, 0o755)
	writeFile(t, filepath.Join(dir, "pypy", "goal", "targetpypystandalone.py"), "# stand-in for the real target\n", 0o644)
	v := strings.Split(pyVersion, ".")
	writeFile(t, filepath.Join(dir, "pypy", "module", "sys", "version.py"),
		"# fake\nCPYTHON_VERSION            = ("+v[0]+", "+v[1]+", "+v[2]+", \"final\", 0)\n", 0o644)
	writeFile(t, filepath.Join(dir, "README.rst"), "fake PyPy source for pypyctl tests\n", 0o644)
	return dir
}

// fakeHostPython installs the sh host double in its own directory.
func fakeHostPython(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin", "python")
	writeFile(t, p, readFile(t, filepath.Join("testdata", "rpython-double", "python")), 0o755)
	return p
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@t", "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newStore(t *testing.T) *store.Local {
	return store.NewLocal(filepath.Join(t.TempDir(), "store"))
}
