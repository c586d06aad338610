//go:build integration

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// TestBazelWorkspace is the Bazel user's path: build and publish a real
// PyPy to a local directory, generate the WORKSPACE rules from its
// versions.json, and have real Bazel (Debian's bazel-bootstrap 4.2.3)
// fetch the archive by file:// URL and sha256 and run a py_binary on it,
// with no network. A wrong sha256 in the index must then break the fetch.
func TestBazelWorkspace(t *testing.T) {
	bazelBin := testtool.Need(t, "bazel")[0]
	work := t.TempDir()
	e := env(t)
	mustRun(t, work, e, "build", "--target", "linux-amd64", "--formats", "tar.gz")
	mustRun(t, work, e, "publish", "dist", "--to", "public")

	// The workspace: the repository's example WORKSPACE (examples/bazel) as it is, a py_binary, and
	// the rules generated into third_party/pypy (the package it loads).
	ws := filepath.Join(work, "ws")
	top, err := os.ReadFile("../examples/bazel/WORKSPACE")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, ws, map[string]string{
		"WORKSPACE": string(top),
		"BUILD":     "py_binary(\n    name = \"hello\",\n    srcs = [\"hello.py\"],\n    python_version = \"PY3\",\n)\n",
		"hello.py":  "import sys\nprint(sys.implementation.name)\nprint(sys.executable)\n",
	})
	gen := mustRun(t, work, e, "bazel", "--index", "public", "--release", "pypy3.9-v7.3.11", "--out", "ws/third_party/pypy", "--json")
	var rep struct {
		Repositories []struct {
			Name, Target, URL, SHA256 string
		} `json:"repositories"`
	}
	if err := json.Unmarshal([]byte(gen.stdout), &rep); err != nil {
		t.Fatalf("bazel --json: %v\n%s", err, gen.stdout)
	}
	if len(rep.Repositories) != 1 || rep.Repositories[0].Name != "pypy_linux_amd64" || !strings.HasPrefix(rep.Repositories[0].URL, "file://") {
		t.Fatalf("generated repositories: %+v", rep.Repositories)
	}
	realSum := rep.Repositories[0].SHA256

	b := newBazel(t, bazelBin, work)
	out := b.mustRun(t, ws, "run", "//:hello")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "pypy" {
		t.Fatalf("bazel run //:hello printed %q, want pypy and the interpreter path", out)
	}
	// The interpreter is the toolchain's, from the fetched archive, not
	// whatever python the host has.
	if !strings.Contains(lines[1], "/pypy_linux_amd64/bin/") {
		t.Errorf("sys.executable = %s, want one inside @pypy_linux_amd64", lines[1])
	}

	// A wrong pin in the index (a well-formed digest of other bytes) must
	// make Bazel refuse the archive.
	sum := sha256.Sum256([]byte("not the archive"))
	wrong := hex.EncodeToString(sum[:])
	index := filepath.Join(work, "public", "versions.json")
	data, err := os.ReadFile(index)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), realSum) {
		t.Fatalf("versions.json lacks the archive's sha256 %s", realSum)
	}
	if err := os.WriteFile(index, []byte(strings.ReplaceAll(string(data), realSum, wrong)), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, work, e, "bazel", "--index", "public", "--release", "pypy3.9-v7.3.11", "--out", "ws/third_party/pypy")
	r := b.run(t, ws, "build", "//:hello")
	if r.code == 0 {
		t.Fatalf("bazel build succeeded with sha256 %s pinned for an archive whose digest is %s", wrong, realSum)
	}
	if want := fmt.Sprintf("Checksum was %s but wanted %s", realSum, wrong); !strings.Contains(r.stderr, want) {
		t.Errorf("bazel build failed, but not on the pin (want %q):\n%s", want, r.stderr)
	}
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// bazelRun is one hermetic Bazel: its own output root, repository cache
// and HOME, no system or user rc files, and a dead proxy so that any
// download other than file:// fails at once instead of reaching out.
type bazelRun struct {
	bin     string
	startup []string
	flags   []string
	env     []string
}

func newBazel(t *testing.T, bin, work string) *bazelRun {
	t.Helper()
	// A short root: Bazel's server socket lives under it, and Unix socket
	// paths are limited to about 100 bytes.
	root, err := os.MkdirTemp("", "bzl")
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(work, "bazel-home")
	stubs := filepath.Join(work, "bazel-stubs")
	b := &bazelRun{
		bin:     bin,
		startup: []string{"--output_user_root=" + root, "--nosystem_rc", "--nohome_rc", "--max_idle_secs=600"},
		flags: []string{
			"--repository_cache=" + filepath.Join(work, "bazel-repository-cache"),
			"--override_repository=rules_cc=" + stubRules(t, stubs, "rules_cc", "cc", ccRules),
			"--override_repository=rules_java=" + stubRules(t, stubs, "rules_java", "java", javaRules),
		},
		env: []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"TMPDIR=" + os.TempDir(),
			"HTTP_PROXY=http://127.0.0.1:9", "HTTPS_PROXY=http://127.0.0.1:9",
			"http_proxy=http://127.0.0.1:9", "https_proxy=http://127.0.0.1:9",
		},
	}
	// Debian's bazel-bootstrap ships its install base unpacked and says so
	// in /etc/bazel/bazelrc, which --nosystem_rc skips: pass it here.
	if _, err := os.Stat("/usr/share/bazel/install_base_key"); err == nil {
		b.startup = append(b.startup, "--install_base=/usr/share/bazel", "--trust_install_base")
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Stop this root's server (and only it), then remove the root,
		// whose external repositories Bazel leaves read-only.
		cmd := exec.Command(b.bin, append(b.startup, "shutdown")...)
		cmd.Dir, cmd.Env = filepath.Join(work, "ws"), b.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("bazel shutdown: %v\n%s", err, out)
		}
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(root)
	})
	return b
}

func (b *bazelRun) run(t *testing.T, dir, command string, args ...string) result {
	t.Helper()
	argv := append([]string{b.bin}, b.startup...)
	argv = append(argv, command)
	argv = append(argv, b.flags...)
	return runCmd(t, dir, b.env, append(argv, args...)...)
}

func (b *bazelRun) mustRun(t *testing.T, dir, command string, args ...string) string {
	t.Helper()
	r := b.run(t, dir, command, args...)
	if r.code != 0 {
		t.Fatalf("bazel %s %s: exit %d\nstdout:\n%s\nstderr:\n%s", command, strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// Bazel 4.2.3's built-in WORKSPACE suffix declares rules_cc and rules_java
// as http_archives of pinned commits, which it fetches from the network
// as soon as py_binary resolves its C++ and Java toolchains; Debian's
// bazel-rules-cc package is a newer rules_cc that 4.2.3 cannot load. At
// those commits both repositories' defs.bzl only forward to the native
// rules, so a local repository doing the same stands in for them offline.
var (
	ccRules   = []string{"cc_binary", "cc_import", "cc_library", "cc_proto_library", "cc_shared_library", "cc_test", "cc_toolchain", "cc_toolchain_suite", "fdo_prefetch_hints", "fdo_profile", "objc_import", "objc_library"}
	javaRules = []string{"java_binary", "java_import", "java_library", "java_lite_proto_library", "java_package_configuration", "java_plugin", "java_proto_library", "java_runtime", "java_test", "java_toolchain"}
)

func stubRules(t *testing.T, dir, repo, pkg string, rules []string) string {
	t.Helper()
	var defs strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&defs, "def %s(**attrs):\n    native.%s(**attrs)\n\n", r, r)
	}
	root := filepath.Join(dir, repo)
	writeFiles(t, root, map[string]string{
		"WORKSPACE":       fmt.Sprintf("workspace(name = %q)\n", repo),
		"BUILD":           "",
		pkg + "/BUILD":    "",
		pkg + "/defs.bzl": defs.String(),
	})
	return root
}
