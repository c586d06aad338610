//go:build integration && realvm

package e2e

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/assemble/parity"
	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/store"
)

// The real-VM tests are opt-in (build tag realvm, `make realvm-test`):
// each needs a real PyPy translation, about an hour on two cores. They use
// the store in $PYPYCTL_REAL_STORE, so a translation made before (by
// `pypyctl translate --store …` or an earlier run) is a store hit; without
// one, the first step translates.

// realCase is one release the real-VM test builds and proves.
type realCase struct {
	release string // the matrix release
	python  string // `pypyctl install` and `run` take it
	exe     string // bin/<exe> of the tree
	vm      []string
	// version is sys.version's start, pypy the PyPy version it names;
	// pyVersion the (major, minor, micro) a pypy.org-format installer
	// prints.
	version, pypy, pyVersion string
	// ext is the release's archive format (7.3.20: tar.bz2 as upstream
	// shipped; 7.3.23: tar.gz).
	ext string
	// imports are the modules the tree must import in a sandbox whose only
	// host files are glibc's: the cffi modules built in the image, with
	// their libraries bundled.
	imports []string
	// stdlib runs the tree's own tests, offline; ignored are cases PyPy
	// fails by design, each with why.
	stdlib, ignored []string
	// wheelTag is the cffi wheel `pypyctl wheels build` makes ("" when it
	// does not apply: 2.7's pip has no offline wheel builder).
	wheelTag string
	// oci: the distro outputs (a .deb, an OCI image that runs).
	oci bool
}

var realCases = []realCase{{
	release: "pypy3.11-v7.3.23", python: "3.11", exe: "pypy3.11", vm: []string{"pypy3.11-c", "libpypy3.11-c.so"},
	version: "3.11.15", pypy: "7.3.23", pyVersion: "(7, 3, 23) (3, 11, 15)", ext: "tar.gz",
	imports: []string{"ssl", "sqlite3", "lzma", "bz2", "ctypes", "cffi", "curses", "dbm.gnu", "hashlib",
		"_gdbm", "_curses", "_sqlite3", "_lzma", "_hashlib", "_blake2", "_sha3", "_posixshmem", "grp", "resource", "syslog", "audioop"},
	stdlib: []string{"test_json", "test_sqlite3", "test_lzma", "test_bz2", "test_ctypes", "test_decimal", "test_re", "test_hashlib", "test_csv"},
	ignored: []string{
		// CPython refuses to resize a bytearray whose buffer is exported
		// (BufferError); PyPy's bytearray does not lock its buffer.
		"*test_keep_buffer",
		// A wall-clock bound (< 0.1 s), which a loaded two-core builder misses.
		"*test_search_anchor_at_beginning",
	},
	wheelTag: "pp311-pypy311_pp73-linux_x86_64", oci: true,
}, {
	// 2.7 from the 7.3.20 release, so both archive formats are proven.
	release: "pypy2.7-v7.3.20", python: "2.7", exe: "pypy", vm: []string{"pypy-c", "libpypy-c.so"},
	version: "2.7.18", pypy: "7.3.20", pyVersion: "((7, 3, 20), (2, 7, 18))", ext: "tar.bz2", // py2 prints the tuple
	imports: []string{"ssl", "sqlite3", "bz2", "ctypes", "cffi", "curses", "gdbm", "hashlib",
		"_curses", "_sqlite3", "_hashlib", "grp", "resource", "syslog", "audioop", "pyexpat", "zlib"},
	// No test_ctypes: 2.7's is CPython's, which needs _ctypes internals
	// (PyObj_FromPtr) PyPy does not have; PyPy tests its ctypes with its
	// own suite, and the sandbox probe above imports it.
	stdlib: []string{"test_json", "test_sqlite", "test_bz2", "test_zlib", "test_struct", "test_decimal", "test_re", "test_hashlib", "test_csv"},
}}

func TestRealVM(t *testing.T) {
	st := os.Getenv("PYPYCTL_REAL_STORE")
	if st == "" {
		t.Fatal("set PYPYCTL_REAL_STORE to the store that holds (or will hold) the real translation")
	}
	needTools(t, "bwrap", "git", "patchelf", "dpkg-deb", "skopeo", "umoci")
	for _, c := range realCases {
		t.Run(c.release, func(t *testing.T) { testRealVM(t, st, c) })
	}
}

func testRealVM(t *testing.T, st string, c realCase) {
	mirror := "file://" + filepath.Join(testenv.SharedPyPy(t), "pypy.git")
	work := t.TempDir()
	e := env(t, "PYPYCTL_GIT_MIRROR="+mirror)
	step := func(name string, start time.Time) { t.Logf("%-28s %6.1f s", name, time.Since(start).Seconds()) }
	base := c.release + "-linux64"

	// The translation (a store hit when it was made before).
	start := time.Now()
	var tr struct {
		Hit     bool   `json:"hit"`
		Dir     string `json:"dir"`
		Seconds float64
		Plan    struct {
			Image struct{ Key string } `json:"image"`
		} `json:"plan"`
		Outputs []struct{ Name, Path string } `json:"outputs"`
	}
	out := mustRun(t, work, e, "translate", "--target", "linux-amd64", "--release", c.release, "--store", st, "--json").stdout
	if err := json.Unmarshal([]byte(out), &tr); err != nil {
		t.Fatalf("translate --json: %v\n%s", err, out)
	}
	step("translate (hit: "+map[bool]string{true: "yes", false: "no"}[tr.Hit]+")", start)

	start = time.Now()
	r := mustRun(t, work, e, "build", "--release", c.release, "--target", "linux-amd64", "--store", st, "--out", "dist", "--json")
	rep := parseReport(t, r.stdout)
	step("build", start)
	for _, s := range rep.Stages {
		t.Logf("  stage %-22s hit=%-5v %7.1f s", s.Name, s.Hit, s.Seconds)
	}
	tree := rep.Tree
	archive := filepath.Join(work, "dist", base+"."+c.ext)
	for _, f := range []string{archive, filepath.Join(work, "dist", base+"-debug."+c.ext)} {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("  %s: %.1f MB", filepath.Base(f), float64(st.Size())/1e6)
	}

	// Extracted into a random directory, run with only glibc from the
	// host; the VM's own report: the version, jit, incminimark.
	x := filepath.Join(t.TempDir(), "x")
	sh(t, work, nil, "mkdir -p "+x+" && tar -C "+x+" -xf "+archive)
	xtree := filepath.Join(x, base)
	exe := filepath.Join(xtree, "bin", c.exe)
	probe := `import sys, json, importlib
mods = ` + pyList(c.imports) + `
bad = {}
for m in mods:
    try:
        importlib.import_module(m)
    except Exception as e:
        bad[m] = repr(e)
info = sys.pypy_translation_info
print(json.dumps({"version": sys.version, "jit": info["translation.jit"], "gc": info["translation.gc"], "bad": bad}))`
	got, err := glibcSandboxExe(t, xtree, "bin/"+c.exe, "/opt/pypy/bin/"+c.exe, "-c", probe)
	if err != nil {
		t.Fatalf("tree in a glibc-only sandbox: %v\n%s", err, got)
	}
	var pr struct {
		Version string
		JIT     bool
		GC      string
		Bad     map[string]string
	}
	if err := json.Unmarshal([]byte(lastLine(got)), &pr); err != nil {
		t.Fatalf("probe: %v\n%s", err, got)
	}
	if !strings.HasPrefix(pr.Version, c.version) || !strings.Contains(pr.Version, "PyPy "+c.pypy) || !pr.JIT || pr.GC != "incminimark" || len(pr.Bad) > 0 {
		t.Fatalf("probe: %+v", pr)
	}
	t.Logf("glibc-only sandbox: %s; %d modules import", strings.SplitN(pr.Version, "\n", 2)[0], len(c.imports))

	// The JIT compiles a hot loop: its log shows the compiled loop.
	jitLog := filepath.Join(t.TempDir(), "jit.log")
	cmd := exec.Command(exe, "-c", "s = 0\nfor i in range(3000000): s += i % 7\nprint(s)")
	cmd.Env = append(os.Environ(), "PYPYLOG=jit-log-opt:"+jitLog)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hot loop: %v\n%s", err, b)
	}
	if b, err := os.ReadFile(jitLog); err != nil || !strings.Contains(string(b), "# Loop") {
		t.Fatalf("the JIT log has no compiled loop (%v)", err)
	}

	// A slice of the stdlib's own tests, offline (2.7's runner is
	// test.regrtest and has no --ignore).
	start = time.Now()
	testArgs := []string{"-m", "test", "-q"}
	if c.python == "2.7" {
		testArgs = []string{"-m", "test.regrtest", "-q"}
	}
	for _, ign := range c.ignored {
		testArgs = append(testArgs, "--ignore", ign)
	}
	testOut, err := exec.Command(exe, append(testArgs, c.stdlib...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("stdlib tests: %v\n%s", err, tail(string(testOut), 60))
	}
	step("stdlib tests ("+strings.Join(c.stdlib, " ")+")", start)

	// An offline pip install of a local wheel: into a venv on 3.x; on 2.7
	// (no venv module) into the extracted tree after ensurepip.
	whl := makeWheel(t, t.TempDir())
	if c.python == "2.7" {
		sh(t, work, nil, exe+" -m ensurepip >/dev/null && "+exe+" -m pip install -q --no-index "+whl+
			" && "+exe+" -c 'import pypyctl_hello; print(pypyctl_hello.GREETING)'")
	} else {
		venv := filepath.Join(t.TempDir(), "v")
		sh(t, work, nil, exe+" -m venv "+venv+" && "+venv+"/bin/python -m pip install -q --no-index "+whl+
			" && "+venv+"/bin/python -c 'import pypyctl_hello; print(pypyctl_hello.GREETING)'")
	}

	// A cffi wheel built with it.
	if c.wheelTag != "" {
		start = time.Now()
		src, _ := filepath.Abs("../wheels/testdata/sqlitever")
		mustRun(t, work, e, "wheels", "build", src, "--release", c.release, "--target", "linux-amd64", "--store", st, "--out", "wheels")
		if m, _ := filepath.Glob(filepath.Join(work, "wheels", "sqlitever-1.0-"+c.wheelTag+".whl")); len(m) != 1 {
			entries, _ := os.ReadDir(filepath.Join(work, "wheels"))
			t.Fatalf("no %s wheel: %v", c.wheelTag, entries)
		}
		step("wheels build", start)
	}

	// The distro outputs, made from the from-source tree as from the
	// Debian one: a .deb dpkg-deb reads, and an OCI image that runs.
	if c.oci {
		start = time.Now()
		mustRun(t, work, e, "package", "deb", "--release", c.release, "--target", "linux-amd64", "--store", st, "--out", "debs")
		sh(t, work, nil, "dpkg-deb -I debs/*.deb >/dev/null && dpkg-deb -c debs/*.deb | grep -q 'bin/"+c.exe+"$'")
		ref := startRegistry(t) + "/pypy:" + c.python
		// The tree bundles Tk; its X client libraries are the system's (as
		// upstream's), which the embedded lock (made for the
		// Debian-imported trees) does not pin: a lock of its own pins them.
		mustRun(t, work, e, "package", "oci", "--release", c.release, "--targets", "linux-amd64", "--store", st, "--push", ref,
			"--lock", filepath.Join(work, "oci-lock.yaml"), "--update-lock")
		oci := parseProbe(t, sandbox(t, unpack(t, e, ref, "amd64"), imageEnv(t, e, ref, "amd64"), nil, "/opt/pypy/bin/pypy3", "-c", ociProbe))
		if oci.Impl != "pypy" || oci.SQLite == "" || oci.CA < 100 {
			t.Errorf("the %s OCI image: %+v", c.python, oci)
		}
		step("package deb + oci", start)
	}

	// Parity with upstream's package.py, run in the same builder image on
	// the same translation.
	start = time.Now()
	imgDir, ok, err := store.NewLocal(st).Lookup(store.Key(tr.Plan.Image.Key))
	if err != nil || !ok {
		t.Fatalf("builder image %s not in %s: %v", tr.Plan.Image.Key, st, err)
	}
	pkgSrc := filepath.Join(t.TempDir(), "src")
	if b, err := exec.Command("git", "clone", "-q", "--depth", "1", "--branch", "release-"+c.release, mirror, pkgSrc).CombinedOutput(); err != nil {
		t.Fatalf("clone: %v\n%s", err, b)
	}
	cp := "cp"
	for _, f := range c.vm {
		cp += " " + filepath.Join(tr.Dir, "vm", f)
	}
	sh(t, pkgSrc, nil, cp+" pypy/goal/ && cp -r "+filepath.Join(tr.Dir, "include")+"/. include/ && chmod -R u+w pypy/goal include && mkdir _pkg")
	pkg := exec.Command("bwrap", "--ro-bind", filepath.Join(imgDir, "rootfs"), "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--bind", pkgSrc, "/build", "--unshare-all", "--die-with-parent", "--chdir", "/build", "--clearenv",
		"--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--",
		"/usr/bin/pypy", "pypy/tool/release/package.py", "--archive-name", base,
		"--builddir", "/build/_pkg", "--make-portable", "--no-embedded-dependencies")
	if b, err := pkg.CombinedOutput(); err != nil {
		t.Fatalf("package.py: %v\n%s", err, tail(string(b), 40))
	}
	up := filepath.Join(t.TempDir(), "up")
	sh(t, work, nil, "mkdir -p "+up+" && tar -C "+up+" -xjf "+filepath.Join(pkgSrc, "_pkg", base+".tar.bz2"))
	pr2, err := parity.Compare(tree, filepath.Join(up, base), parity.PackagePy)
	if err != nil {
		t.Fatal(err)
	}
	explained := map[string]int{}
	for _, d := range pr2.Diffs {
		explained[d.Reason]++
	}
	t.Logf("parity with package.py: %s", strings.TrimSpace(pr2.Summary()))
	for reason, n := range explained {
		if reason != "" {
			t.Logf("  %4d × %s", n, reason)
		}
	}
	if len(pr2.Unexplained()) > 0 {
		t.Errorf("differences from package.py's tree that docs/parity.md does not explain:\n%s", pr2.Summary())
	}
	step("parity (package.py in the image)", start)

	// The user path: release → publish → serve → install → run.
	start = time.Now()
	mustRun(t, work, e, "keys", "generate", "--out", "keys")
	mustRun(t, work, e, "release", "--release", c.release, "--targets", "linux-amd64", "--store", st, "--to", "public",
		"--sign", "--key", filepath.Join(work, "keys", "pypyctl.key"))
	relDir := filepath.Join(work, "public", c.release)
	for _, f := range []string{base + "." + c.ext, base + "-debug." + c.ext, c.release + "-src." + c.ext, "SHA256SUMS"} {
		if _, err := os.Stat(filepath.Join(relDir, f+".sig")); err != nil {
			t.Errorf("not published signed: %v", err)
		}
	}
	// The signed provenance names the archive and the source by its git tree.
	v := mustRun(t, work, e, "verify", filepath.Join(relDir, base+"."+c.ext), "--key", filepath.Join(work, "keys", "pypyctl.pub"), "--json").stdout
	if !strings.Contains(v, `"provenance"`) {
		t.Errorf("verify did not check the provenance:\n%s", v)
	}
	addr := freeAddr(t)
	srv := exec.Command(pypyctl, "serve", filepath.Join(work, "public"), "--addr", addr)
	srv.Env = e
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	waitListening(t, addr)
	ue := env(t)
	// The installer trusts the release key: the archive's signature is
	// checked before anything is extracted.
	mustRun(t, work, ue, "trust", "add", filepath.Join(work, "keys", "pypyctl.pub"))
	mustRun(t, work, ue, "install", c.python, "--index", "http://"+addr+"/versions.json")
	ver := mustRun(t, work, ue, "run", c.python, "--", "-c", "import sys; print(sys.version)").stdout
	if !strings.HasPrefix(ver, c.version) || !strings.Contains(ver, "PyPy "+c.pypy) {
		t.Fatalf("pypyctl run %s printed %q", c.python, ver)
	}
	step("release → publish → install → run", start)

	// An installer that knows only pypy.org's versions.json format (as
	// actions/setup-python reads it: the newest stable entry for the
	// Python version, its file for the arch and platform, download_url)
	// finds the from-source build and runs it.
	inst := filepath.Join(t.TempDir(), "inst")
	foreign := `import json, sys, tarfile, urllib.request, os
index, want = sys.argv[1], sys.argv[3]
rels = json.load(urllib.request.urlopen(index))
rel = next(r for r in rels if r["python_version"].startswith(want + ".") and r["stable"])
f = next(f for f in rel["files"] if f["arch"] == "x64" and f["platform"] == "linux")
url = urllib.parse.urljoin(index, f["download_url"])
path, _ = urllib.request.urlretrieve(url)
with tarfile.open(path) as t:
    t.extractall(sys.argv[2])
top = os.path.join(sys.argv[2], os.listdir(sys.argv[2])[0])
exe = "pypy" if want == "2.7" else "pypy3"
os.execv(os.path.join(top, "bin", exe), [exe, "-c", "import sys; print(sys.pypy_version_info[:3], sys.version_info[:3])"])`
	fo, err := exec.Command("python3", "-c", foreign, "http://"+addr+"/versions.json", inst, c.python).CombinedOutput()
	if err != nil || strings.TrimSpace(string(fo)) != c.pyVersion {
		t.Fatalf("a pypy.org-format installer: %v\n%s", err, fo)
	}
	t.Logf("pypyctl run %s: %s", c.python, strings.SplitN(ver, "\n", 2)[0])
}

func pyList(xs []string) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitListening(t *testing.T, addr string) {
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("nothing listens on %s", addr)
}
