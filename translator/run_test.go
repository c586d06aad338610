package translator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/store"
)

// rig is one end-to-end setup: a fake PyPy source with the rpython
// double, the host double, a store and a caller environment.
type rig struct {
	t       *testing.T
	root    string
	src     string
	host    string
	store   *store.Local
	env     map[string]string
	machine *Machine
	target  string
}

func newRig(t *testing.T) *rig {
	t.Helper()
	root := t.TempDir()
	rg := &rig{t: t, root: root, target: nativeTarget(t)}
	rg.src = fakeSourceTree(t, filepath.Join(root, "src"), "3.11.13")
	rg.host = fakeHostPython(t)
	rg.store = store.NewLocal(filepath.Join(root, "cache", "store"))
	// The caller's environment: what the double needs (PATH) plus things
	// that must not reach it.
	rg.env = map[string]string{
		"PATH":                os.Getenv("PATH"),
		"PYPYCTL_TEST_CANARY": "leaked",
		"HOME":                "/home/caller",
		"PYTHONPATH":          "/caller/site",
		"CFLAGS":              "-O0 -caller",
	}
	rg.machine = testMachine(rg.env)
	return rg
}

func (rg *rig) plan(mutate func(*Request)) *Plan {
	rg.t.Helper()
	r, tg := matrixFor(rg.t, testRelease, rg.target)
	req := Request{Release: r, Target: tg, HostPython: rg.host, SourceDir: rg.src, Machine: rg.machine,
		WorkRoot: filepath.Join(rg.root, "cache", "work"), Sources: &Sources{Store: rg.store}}
	if mutate != nil {
		mutate(&req)
	}
	p, err := NewPlan(context.Background(), req)
	if err != nil {
		rg.t.Fatal(err)
	}
	if !p.Ready() {
		rg.t.Fatalf("plan not ready: host %+v, problems %+v", p.Host, p.Preflight)
	}
	return p
}

func (rg *rig) options(out *syncBuffer) Options {
	o := Options{Store: rg.store, Sources: &Sources{Store: rg.store}, Machine: rg.machine,
		WorkRoot: filepath.Join(rg.root, "cache", "work"), LogDir: filepath.Join(rg.root, "cache", "logs"),
		KillGrace: 500 * time.Millisecond}
	if out != nil {
		o.Output = out
	}
	return o
}

// syncBuffer is a bytes.Buffer safe to read while the run writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// doubleLines returns the values of "[double:<kind>] value" lines.
func doubleLines(log, kind string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "[double:"+kind+"] "); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestTranslateWithTheDouble(t *testing.T) {
	cases := []struct {
		name    string
		builder string
		// outsideWrite is what the double reports when it tries to write
		// outside the work dir; net lists the interfaces it sees (nil: any).
		outsideWrite string
		net          []string
	}{
		{name: "host builder", builder: BuilderHost, outsideWrite: "allowed"},
		{name: "bwrap builder", builder: BuilderBwrap, outsideWrite: "denied", net: []string{"lo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.builder == BuilderBwrap {
				testtool.Need(t, "bwrap")
				if out, err := exec.Command("bwrap", "--ro-bind", "/", "/", "--unshare-all", "true").CombinedOutput(); err != nil {
					testtool.Missing(t, "bwrap cannot make namespaces here (%v %s): allow unprivileged user namespaces", err, out)
				}
			}
			rg := newRig(t)
			outside := filepath.Join(rg.root, "outside-probe")
			rg.env["RPYTHON_DOUBLE_PROBE"] = outside
			t.Setenv("PYPYCTL_TEST_CANARY", "leaked through os.Environ")
			p := rg.plan(func(r *Request) { r.Builder = c.builder; r.PassEnv = []string{"RPYTHON_DOUBLE_PROBE"} })

			var phases []string
			o := rg.options(nil)
			o.OnPhase = func(ph Phase, n int) { phases = append(phases, ph.Name) }
			rep, err := Translate(context.Background(), p, o)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Hit || rep.Key != p.Key || p.KeyProvisional {
				t.Fatalf("report hit=%v key=%s plan key=%s provisional=%v", rep.Hit, rep.Key, p.Key, p.KeyProvisional)
			}
			log := readFile(t, filepath.Join(rep.Dir, "translate.log"))

			// The environment is exactly the plan's.
			got := map[string]string{}
			for _, kv := range doubleLines(log, "env") {
				k, v, _ := strings.Cut(kv, "=")
				got[k] = v
			}
			delete(got, "PWD") // dash exports the working directory itself
			work := filepath.Dir(filepath.Dir(filepath.Dir(doubleLines(log, "cwd")[0])))
			want := map[string]string{
				"PATH": rg.env["PATH"], "HOME": work + "/home", "TMPDIR": work + "/tmp",
				"PYPY_USESSION_DIR": work + "/usession", "PYPY_USESSION_BASENAME": "pypyctl",
				"SOURCE_DATE_EPOCH": "1751587200", "PYTHONHASHSEED": "0", "LC_ALL": "C.UTF-8", "TZ": "UTC",
				"RPYTHON_DOUBLE_PROBE": outside,
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("env %s = %q, want %q", k, got[k], v)
				}
			}
			for k := range got {
				if _, ok := want[k]; !ok {
					t.Errorf("variable outside the allow-list reached RPython: %s=%s", k, got[k])
				}
			}
			if !strings.HasPrefix(work, filepath.Join(rg.root, "cache", "work")) {
				t.Errorf("work dir %s not under the work root", work)
			}
			if _, err := os.Stat(work); !os.IsNotExist(err) {
				t.Errorf("work dir left behind: %v", err)
			}

			// The double got the plan's command line, in pypy/goal.
			if argv := doubleLines(log, "argv"); !slices.Equal(argv, p.Command[2:]) {
				t.Errorf("argv %v, want %v", argv, p.Command[2:])
			}
			if cwd := doubleLines(log, "cwd")[0]; !strings.HasSuffix(cwd, "/src/pypy/goal") {
				t.Errorf("cwd %s", cwd)
			}
			if w := doubleLines(log, "outside-write"); len(w) != 1 || w[0] != c.outsideWrite {
				t.Errorf("write outside the work dir: %v, want %s", w, c.outsideWrite)
			}
			if c.net != nil {
				if n := strings.Fields(doubleLines(log, "net")[0]); !slices.Equal(n, c.net) {
					t.Errorf("network interfaces in the sandbox: %v, want %v", n, c.net)
				}
			}

			// Outputs are stored, with the double's content.
			wantOut := []string{"vm/pypy3.11-c", "vm/libpypy3.11-c.so", "include"}
			if len(rep.Outputs) != len(wantOut) {
				t.Fatalf("outputs %+v", rep.Outputs)
			}
			// The headers cpyext generated are stored as a directory.
			if h := readFile(t, filepath.Join(rep.Outputs[2].Path, "pypy3.11", "pypy_decl.h")); !strings.Contains(h, "generated by cpyext") {
				t.Errorf("stored headers: %q", h)
			}
			for i, o := range rep.Outputs[:2] {
				if o.Name != wantOut[i] || o.Size == 0 || len(o.SHA256) != 64 {
					t.Errorf("output %+v", o)
				}
				body := readFile(t, o.Path)
				if !strings.HasPrefix(body, "double VM ") || !strings.Contains(body, filepath.Base(o.Name)) {
					t.Errorf("%s holds %q", o.Name, body)
				}
			}
			if st, _ := os.Stat(rep.Outputs[0].Path); st.Mode().Perm() != 0o755 {
				t.Errorf("executable mode %v", st.Mode())
			}
			for _, f := range []string{"plan.json", "phases.json", "translate.log"} {
				if _, err := os.Stat(filepath.Join(rep.Dir, f)); err != nil {
					t.Error(err)
				}
			}

			// Phases came from the output, in order, with timings.
			wantPhases := []string{"annotate", "rtype_lltype", "pyjitpl_lltype", "backendopt_lltype",
				"stackcheckinsertion_lltype", "database_c", "gctransform", "source_c", "compile_c"}
			if !slices.Equal(phases, wantPhases) || len(rep.Phases) != len(wantPhases) {
				t.Fatalf("phases %v / %+v", phases, rep.Phases)
			}
			if rep.Phases[0].RPythonSeconds == nil || *rep.Phases[0].RPythonSeconds != 0.5 {
				t.Errorf("RPython timing of annotate: %+v", rep.Phases[0])
			}
		})
	}
}

func TestTranslateSecondRunIsAStoreHit(t *testing.T) {
	rg := newRig(t)
	first, err := Translate(context.Background(), rg.plan(nil), rg.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(filepath.Dir(rg.host), "runs")
	if n := strings.Count(readFile(t, runs), "run"); n != 1 {
		t.Fatalf("host ran %d times", n)
	}
	var out syncBuffer
	o := rg.options(&out)
	called := 0
	o.OnPhase = func(Phase, int) { called++ }
	second, err := Translate(context.Background(), rg.plan(nil), o)
	if err != nil {
		t.Fatal(err)
	}
	if !second.Hit || second.Dir != first.Dir || second.Key != first.Key {
		t.Fatalf("second run: hit=%v dir=%s key=%s", second.Hit, second.Dir, second.Key)
	}
	if n := strings.Count(readFile(t, runs), "run"); n != 1 || called != 0 || out.String() != "" {
		t.Fatalf("a hit ran something: host runs %d, phases %d, output %q", n, called, out.String())
	}
	if len(second.Phases) != len(first.Phases) || second.Outputs[0].SHA256 != first.Outputs[0].SHA256 {
		t.Fatalf("hit report %+v", second)
	}
	if left, _ := os.ReadDir(filepath.Join(rg.root, "cache", "work")); len(left) != 0 {
		t.Fatalf("work dirs left: %v", left)
	}

	// A change that matters is a new translation.
	third, err := Translate(context.Background(), rg.plan(func(r *Request) {
		tg := *r.Target
		tg.Translation.TargetOptions = []string{"--withoutmod-_cppyy"}
		r.Target = &tg
	}), rg.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	if third.Hit || third.Key == first.Key {
		t.Fatalf("changed plan was a hit")
	}
	if opts := doubleLines(readFile(t, third.Log), "target-option"); !slices.Equal(opts, []string{"--withoutmod-_cppyy"}) {
		t.Fatalf("target options reached the double as %v", opts)
	}
}

func TestTranslateFailureKeepsLogAndStoresNothing(t *testing.T) {
	cases := []struct {
		mode, phase string
	}{
		{"fail:rtype_lltype", "rtype_lltype"},
		{"fail:compile_c", "compile_c"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			rg := newRig(t)
			rg.env["RPYTHON_DOUBLE"] = c.mode
			p := rg.plan(func(r *Request) { r.PassEnv = []string{"RPYTHON_DOUBLE"} })
			_, err := Translate(context.Background(), p, rg.options(nil))
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v", err)
			}
			if re.Phase != c.phase {
				t.Errorf("failed in %q, want %q", re.Phase, c.phase)
			}
			msg := err.Error()
			for _, s := range []string{"failed in phase " + c.phase, "exit status 1", "(log: " + re.Log + ")", "DoubleError: failing on purpose"} {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
			var withCode interface{ ExitCode() int }
			if errors.As(err, &withCode) {
				t.Error("the error exposes ExitCode: the CLI would pass it through without a message")
			}
			if !strings.HasPrefix(re.Log, filepath.Join(rg.root, "cache", "logs")+"/") {
				t.Errorf("log kept at %s", re.Log)
			}
			log := readFile(t, re.Log)
			if !strings.Contains(log, "double told to fail in "+c.phase) || !strings.Contains(log, "# pypyctl: failed") {
				t.Errorf("kept log lacks the failure:\n%s", log)
			}
			if _, ok, _ := rg.store.Lookup(store.Key(p.Key)); ok {
				t.Error("failed translation left a store entry")
			}
			for _, d := range []string{"tmp", "work"} {
				dir := filepath.Join(rg.root, "cache", d)
				if d == "tmp" {
					dir = filepath.Join(rg.store.Root, "tmp")
				}
				if left, _ := os.ReadDir(dir); len(left) != 0 {
					t.Errorf("%s left behind: %v", dir, left)
				}
			}
		})
	}
}

// gone says whether a process no longer runs (absent, or a zombie that
// only waits for a reaper that is not us).
func gone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestCancelKillsTheWholeGroup(t *testing.T) {
	cases := []struct {
		name    string
		mode    string
		timeout time.Duration // plan timeout; 0: cancel the context
		wantErr error
	}{
		{"cancel", "hang", 0, context.Canceled},
		{"cancel, SIGTERM ignored", "hang-ignore-term", 0, context.Canceled},
		{"timeout", "hang", 1500 * time.Millisecond, context.DeadlineExceeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rg := newRig(t)
			rg.env["RPYTHON_DOUBLE"] = c.mode
			p := rg.plan(func(r *Request) { r.PassEnv = []string{"RPYTHON_DOUBLE"}; r.Timeout = c.timeout })
			var out syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() {
				_, err := Translate(ctx, p, rg.options(&out))
				done <- err
			}()
			var pids []int
			deadline := time.Now().Add(20 * time.Second)
			for len(pids) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("double never reported its pids:\n%s", out.String())
				}
				time.Sleep(20 * time.Millisecond)
				if l := doubleLines(out.String(), "pids"); len(l) > 0 {
					for _, f := range strings.Fields(l[0]) {
						n, _ := strconv.Atoi(f)
						pids = append(pids, n)
					}
				}
			}
			if len(pids) != 2 || gone(pids[0]) || gone(pids[1]) {
				t.Fatalf("pids %v not running before cancel", pids)
			}
			start := time.Now()
			if c.timeout == 0 {
				cancel()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Translate did not return after cancel")
			}
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			var re *RunError
			if !errors.As(err, &re) || re.Log == "" {
				t.Fatalf("no kept log: %v", err)
			}
			for _, pid := range pids {
				if !gone(pid) {
					t.Errorf("pid %d survived the cancel", pid)
				}
			}
			if strings.Contains(out.String(), "[double:woke]") {
				t.Error("the double outlived its group's kill")
			}
			if c.mode == "hang-ignore-term" && time.Since(start) < 400*time.Millisecond {
				t.Errorf("returned after %v: SIGKILL came before the grace period", time.Since(start))
			}
			if _, ok, _ := rg.store.Lookup(store.Key(p.Key)); ok {
				t.Error("cancelled translation left a store entry")
			}
		})
	}
}

func TestTranslateMissingOutput(t *testing.T) {
	rg := newRig(t)
	// --no-shared on a target that expects the library: the double makes
	// none, so the run "succeeds" without all outputs and must fail.
	p := rg.plan(nil)
	for i, a := range p.Command {
		if a == "--shared" {
			p.Command[i] = "--no-shared"
		}
	}
	_, err := Translate(context.Background(), p, rg.options(nil))
	if err == nil || !strings.Contains(err.Error(), "did not produce pypy/goal/libpypy3.11-c.so") {
		t.Fatalf("err = %v", err)
	}
	if _, ok, _ := rg.store.Lookup(store.Key(p.Key)); ok {
		t.Error("half translation stored")
	}
}

func TestTranslateFromGitSource(t *testing.T) {
	url, c1, _ := gitRepo(t)
	tree1 := runGit(t, strings.TrimPrefix(url, "file://"), "rev-parse", c1+"^{tree}")
	rg := newRig(t)
	p := rg.plan(func(r *Request) {
		rel := *r.Release
		rel.Source.Git.URL, rel.Source.Git.Commit, rel.Source.Git.Tree = url, c1, tree1
		r.Release, r.SourceDir = &rel, ""
	})
	if !p.KeyProvisional || p.Source.Fetched {
		t.Fatalf("unfetched source gave a final key: %+v", p.Source)
	}
	provisional := p.Key
	rep, err := Translate(context.Background(), p, rg.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Key == provisional || p.KeyProvisional || !strings.HasPrefix(p.Source.Digest, "git-tree:") {
		t.Fatalf("key not finalised from the fetched source: %s %+v", rep.Key, p.Source)
	}
	// A new plan now finds the source in the store: final key at once,
	// and a hit without fetching.
	p2 := rg.plan(func(r *Request) {
		rel := *r.Release
		rel.Source.Git.URL, rel.Source.Git.Commit, rel.Source.Git.Tree = url, c1, tree1
		r.Release, r.SourceDir = &rel, ""
	})
	if p2.KeyProvisional || p2.Key != rep.Key {
		t.Fatalf("second plan key %s provisional=%v, want %s", p2.Key, p2.KeyProvisional, rep.Key)
	}
	rep2, err := Translate(context.Background(), p2, rg.options(nil))
	if err != nil || !rep2.Hit {
		t.Fatalf("second run: %+v %v", rep2, err)
	}
}

// TestEmulatedBuilder runs an arm64 host double under qemu-user: the probe
// and the translation both go through qemu-aarch64-static.
func TestEmulatedBuilder(t *testing.T) {
	if testing.Short() {
		// Safe skip: -short is never used by make test.
		t.Skip("builds a foreign-arch binary")
	}
	if runtime.GOARCH != "amd64" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skip("the emulated test runs an arm64 double on amd64")
	}
	tools := testtool.Need(t, "qemu-aarch64-static", "go")
	qemu, goBin := tools[0], tools[1]
	host := filepath.Join(t.TempDir(), "pypy")
	build := exec.Command(goBin, "build", "-o", host, "./testdata/rpython-double/fakehost")
	build.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build arm64 host double: %v\n%s", err, out)
	}
	rg := newRig(t)
	rg.target = "linux-arm64"
	rg.host = host
	p := rg.plan(func(r *Request) { r.Builder = BuilderEmulated })
	if p.Host.Machine != "aarch64" || p.Wrapper[0] != "qemu-aarch64-static" {
		t.Fatalf("host %+v wrapper %v", p.Host, p.Wrapper)
	}
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "slower") }) {
		t.Errorf("no slowness warning in %v", p.Notes)
	}
	rep, err := Translate(context.Background(), p, rg.options(nil))
	if err != nil {
		t.Fatal(err)
	}
	log := readFile(t, rep.Log)
	if !strings.Contains(log, "# pypyctl: "+qemu+" "+host+" ../../rpython/bin/rpython") {
		t.Errorf("not run under qemu:\n%s", log)
	}
	if len(rep.Outputs) != 3 {
		t.Errorf("outputs %+v", rep.Outputs)
	}
}

// TestPinVersionInputs: the work copy of a pinned release gets its
// .hg_archival.txt, and the host's gmtime() without an argument is
// SOURCE_DATE_EPOCH (checked with the python3 on PATH: the module is
// 2/3-neutral).
func TestPinVersionInputs(t *testing.T) {
	work, src := t.TempDir(), t.TempDir()
	p := &Plan{PyPyVersion: "7.3.23", PythonVersion: "3.11.15",
		Source: SourceInfo{Kind: SourceGit, Tag: "release-pypy3.11-v7.3.23", Head: "194f9f44b50552d75484d67cda6e2b36607dee0c"}}
	if err := pinVersionInputs(p, work, src); err != nil {
		t.Fatal(err)
	}
	want := "node: 194f9f44b505\nbranch: release-pypy3.11-v7.x\ntag: release-pypy3.11-v7.3.23\n"
	if got := readFile(t, filepath.Join(src, ".hg_archival.txt")); got != want {
		t.Errorf(".hg_archival.txt = %q, want %q", got, want)
	}
	for _, impl := range []string{"pypy2.7", "python2.7"} {
		mod := filepath.Join(work, "home", ".local", "lib", impl, "site-packages", "usercustomize.py")
		if readFile(t, mod) != hostCustomize {
			t.Errorf("%s not written", mod)
		}
	}
	testtool.Need(t, "python3")
	cmd := exec.Command("python3", "-c", "import sys; sys.path.insert(0, sys.argv[1]); import usercustomize, time; print(time.strftime('%Y-%m-%d', time.gmtime()), time.gmtime(0).tm_year)",
		filepath.Join(work, "home", ".local", "lib", "pypy2.7", "site-packages"))
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1779734355")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "2026-05-25 1970" {
		t.Fatalf("gmtime under usercustomize: %v %q", err, out)
	}

	// A local checkout (no tag) gets no archival file.
	src2 := t.TempDir()
	if err := pinVersionInputs(&Plan{Source: SourceInfo{Kind: SourceDir}}, t.TempDir(), src2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(src2, ".hg_archival.txt")); !os.IsNotExist(err) {
		t.Errorf("archival file for a local dir: %v", err)
	}
}
