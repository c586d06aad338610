package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/translator"
)

// runTranslate runs pypyctl with a PATH holding nothing (so no Python 2.7
// can be found, whatever this machine has) and a private PYPYCTL_HOME.
func runTranslate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	env := map[string]string{"PATH": t.TempDir(), "PYPYCTL_HOME": t.TempDir()}
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func TestTranslateCommand(t *testing.T) {
	cases := []struct {
		name       string
		args       []string
		code       int
		stdout     []string
		stderr     []string
		jsonOutput bool
	}{
		{name: "no host: preflight fails with advice",
			args:   []string{"translate", "--target", "linux-amd64", "--release", "pypy3.11-v7.3.20", "--builder", "host"},
			code:   1,
			stderr: []string{"cannot translate pypy3.11-v7.3.20 for linux-amd64", "host-python: no Python 2.7 interpreter with cffi found", "pypy.org", "--host-python"}},
		{name: "dry run without host exits 0 and says so",
			args:   []string{"translate", "--target", "linux-amd64", "--release", "pypy3.11-v7.3.20", "--dry-run", "--builder", "host"},
			code:   0,
			stdout: []string{"plan: translate pypy3.11-v7.3.20 for linux-amd64", "host     MISSING", "--opt=jit", "--shared", "pypy/goal/libpypy3.11-c.so -> vm/libpypy3.11-c.so", "(provisional)", "preflight:"}},
		{name: "image dry run makes nothing",
			args:   []string{"translate", "--target", "linux-amd64", "--release", "pypy3.11-v7.3.20", "--dry-run", "--debian-mirror", "http://127.0.0.1:9/debian"},
			code:   0,
			stdout: []string{"builder image:pypy2-bullseye", "/usr/bin/pypy ../../rpython/bin/rpython"}},
		{name: "dry run json",
			args:       []string{"translate", "--target", "linux-amd64", "--release", "pypy3.11-v7.3.20", "--dry-run", "--json", "--builder", "host"},
			code:       0,
			jsonOutput: true},
		{name: "target required", args: []string{"translate"}, code: 2, stderr: []string{"--target is required"}},
		{name: "bad builder", args: []string{"translate", "--target", "linux-amd64", "--builder", "docker"}, code: 2, stderr: []string{"want host, bwrap, emulated, image or image:NAME"}},
		{name: "unknown target", args: []string{"translate", "--target", "plan9-mips"}, code: 1, stderr: []string{"target \"plan9-mips\" is not in the matrix"}},
		{name: "target not in release", args: []string{"translate", "--target", "linux-s390x", "--release", "pypy3.11-v7.3.20", "--dry-run"}, code: 1, stderr: []string{"does not ship target linux-s390x"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runTranslate(t, c.args...)
			if code != c.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			for _, s := range c.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			for _, s := range c.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if c.jsonOutput {
				var plan struct {
					Release string `json:"release"`
					Target  string `json:"target"`
					Host    struct {
						Found   bool   `json:"found"`
						Problem string `json:"problem"`
					} `json:"host"`
					Command   []string `json:"command"`
					Key       string   `json:"key"`
					Preflight []struct {
						Check string `json:"check"`
					} `json:"preflight"`
				}
				if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
					t.Fatalf("stdout is not one JSON document: %v\n%s", err, stdout)
				}
				if plan.Release != "pypy3.11-v7.3.20" || plan.Target != "linux-amd64" || plan.Host.Found || len(plan.Key) != 64 {
					t.Fatalf("plan %+v", plan)
				}
				if plan.Command[0] != "<python2.7>" || plan.Command[1] != "../../rpython/bin/rpython" {
					t.Fatalf("command %v", plan.Command)
				}
				found := false
				for _, p := range plan.Preflight {
					found = found || p.Check == "host-python"
				}
				if !found {
					t.Fatalf("preflight %+v lacks the missing host", plan.Preflight)
				}
			}
		})
	}
}

// TestTranslateWithTheDouble drives a whole translation through the CLI
// with translator's rpython test double, then again as a store hit.
func TestTranslateWithTheDouble(t *testing.T) {
	double := filepath.Join("..", "..", "translator", "testdata", "rpython-double")
	src := t.TempDir()
	copyTo := func(from, to string, mode os.FileMode) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, mode); err != nil {
			t.Fatal(err)
		}
	}
	copyTo(filepath.Join(double, "rpython"), filepath.Join(src, "rpython", "bin", "rpython"), 0o755)
	host := filepath.Join(t.TempDir(), "python")
	copyTo(filepath.Join(double, "python"), host, 0o755)
	os.MkdirAll(filepath.Join(src, "pypy", "goal"), 0o755)
	os.WriteFile(filepath.Join(src, "pypy", "goal", "targetpypystandalone.py"), []byte("#\n"), 0o644)
	os.MkdirAll(filepath.Join(src, "pypy", "module", "sys"), 0o755)
	os.WriteFile(filepath.Join(src, "pypy", "module", "sys", "version.py"), []byte("CPYTHON_VERSION = (3, 11, 13, 'final', 0)\n"), 0o644)

	target := map[string]string{"amd64": "linux-amd64", "arm64": "linux-arm64"}[runtime.GOARCH]
	if target == "" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skip("no native linux target for " + runtime.GOARCH)
	}
	env := map[string]string{"PATH": os.Getenv("PATH"), "PYPYCTL_HOME": t.TempDir()}
	run := func(extra ...string) (int, string, string) {
		args := append([]string{"translate", "--target", target, "--release", "pypy3.11-v7.3.20",
			"--source", src, "--host-python", host, "--min-memory", "1", "--min-disk", "1"}, extra...)
		var stdout, stderr bytes.Buffer
		code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
		return code, stdout.String(), stderr.String()
	}
	if code, stdout, _ := run("--dry-run", "--json"); code != 0 || !strings.Contains(stdout, `"preflight": []`) {
		// The test expects a clean preflight: a problem is a failure
		// (scripts/setup.sh installs the build tools and -dev packages).
		t.Fatalf("this machine fails the preflight (%s installs the build tools and -dev packages):\n%s", testtool.Setup, stdout)
	}
	code, stdout, stderr := run()
	if code != 0 || !strings.HasPrefix(stdout, "translated pypy3.11-v7.3.20 for "+target) ||
		!strings.Contains(stdout, "vm/libpypy3.11-c.so") || !strings.Contains(stderr, "phase 9: Compiling c source (compile_c)") {
		t.Fatalf("first run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, stdout, stderr = run()
	if code != 0 || !strings.Contains(stdout, "store hit") || !strings.Contains(stdout, "nothing ran") || strings.Contains(stderr, "phase") {
		t.Fatalf("second run: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	code, stdout, _ = run("--json")
	var rep struct {
		Hit     bool `json:"hit"`
		Outputs []struct {
			Name string `json:"name"`
		} `json:"outputs"`
		Phases []struct {
			Name string `json:"name"`
		} `json:"phases"`
	}
	if err := json.Unmarshal([]byte(stdout), &rep); code != 0 || err != nil || !rep.Hit || len(rep.Outputs) != 3 || len(rep.Phases) != 9 {
		t.Fatalf("json run: exit %d, %v, %+v\n%s", code, err, rep, stdout)
	}
}

// Phases are aligned by a tabwriter; a phase with samples has CPU and
// peak RSS columns, one without has none.
func TestPrintTranslateReportPhases(t *testing.T) {
	rep := &translator.Report{
		Plan: &translator.Plan{Release: "pypy3.11-v7.3.20", Target: "linux-amd64"},
		Key:  strings.Repeat("ab", 32), Dir: "/store/x", Log: "/store/x/log",
		Phases: []translator.Phase{
			{Name: "annotate", Seconds: 812.25, PeakRSSMB: 2950.4, CPUSeconds: 806.02},
			{Name: "rtype_lltype", Seconds: 95, PeakRSSMB: 3100, CPUSeconds: 94.5},
			{Name: "compile_c", Seconds: 4.5},
		},
	}
	var b bytes.Buffer
	printTranslateReport(&b, rep)
	var phases []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "  phase ") {
			phases = append(phases, l)
		}
	}
	want := []string{
		"  phase annotate      812.2 s  CPU 806.0 s  peak RSS 2950 MB",
		"  phase rtype_lltype  95.0 s   CPU 94.5 s   peak RSS 3100 MB",
		"  phase compile_c     4.5 s",
	}
	if strings.Join(phases, "\n") != strings.Join(want, "\n") {
		t.Errorf("phases:\n%s\nwant:\n%s", strings.Join(phases, "\n"), strings.Join(want, "\n"))
	}
}
