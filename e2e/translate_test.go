//go:build integration

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testenv"
)

// brokenTarget is an RPython program translation rejects in the annotate
// phase: x is an int on one path and a str on the other, and 'a' + 1
// always raises.
const brokenTarget = `def entry_point(argv):
    if len(argv) > 1:
        x = 1
    else:
        x = "a"
    return x + 1

def target(*args):
    return entry_point, None
`

// TestRealRPythonInBuilderImage translates a small RPython program from
// PyPy's real 2.7 release source with real RPython, run by PyPy 2.7 in
// the pinned bullseye builder image under bwrap: the same runner, image
// and log parser a full PyPy translation uses. The image (a pinned input)
// may come from the test cache; the translation goes into a fresh store,
// so RPython really runs every time.
func TestRealRPythonInBuilderImage(t *testing.T) {
	needTools(t, "bwrap", "apt-get", "git")
	repo := filepath.Join(testenv.SharedPyPy(t), "pypy.git")
	src := filepath.Join(t.TempDir(), "src")
	if out, err := exec.Command("git", "clone", "-q", "--depth", "1", "--branch", "release-pypy2.7-v7.3.20", "file://"+repo, src).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	e := env(t)
	imageStore := filepath.Join(testCache, "pypyctl", "store")
	st := filepath.Join(t.TempDir(), "store")
	args := []string{"translate", "--target", "linux-amd64", "--release", "pypy2.7-v7.3.20", "--source", src,
		"--builder", "image", "--image-store", imageStore, "--store", st,
		"--rpython-target", "rpython/translator/goal/targetnopstandalone.py", "--json"}

	r := mustRun(t, "", e, args...)
	var rep struct {
		Hit     bool `json:"hit"`
		Outputs []struct {
			Name, Path string
		} `json:"outputs"`
		Phases []struct {
			Name    string   `json:"name"`
			Seconds float64  `json:"seconds"`
			RPython *float64 `json:"rpython_seconds"`
			PeakRSS float64  `json:"peak_rss_mb"`
		} `json:"phases"`
		Plan struct {
			Builder string `json:"builder"`
			Host    struct {
				Implementation string `json:"implementation"`
				PyPyVersion    string `json:"pypy_version"`
			} `json:"host"`
			Image struct {
				Name, Key string
			} `json:"image"`
		} `json:"plan"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("translate --json: %v\n%s", err, r.stdout)
	}
	if rep.Hit {
		t.Fatal("first translation into a fresh store was a hit")
	}
	if rep.Plan.Builder != "image:pypy2-bullseye" || rep.Plan.Image.Key == "" || rep.Plan.Host.Implementation != "PyPy" {
		t.Fatalf("plan: builder %q image %+v host %+v", rep.Plan.Builder, rep.Plan.Image, rep.Plan.Host)
	}
	seen := map[string]bool{}
	for _, ph := range rep.Phases {
		seen[ph.Name] = true
		if ph.Name == "annotate" && (ph.RPython == nil || *ph.RPython <= 0 || ph.PeakRSS <= 0) {
			t.Errorf("annotate phase lacks RPython's timing or a memory sample: %+v", ph)
		}
	}
	for _, want := range []string{"annotate", "rtype_lltype", "database_c", "source_c", "compile_c"} {
		if !seen[want] {
			t.Errorf("phase %s missing from the report: %+v", want, rep.Phases)
		}
	}
	if len(rep.Outputs) != 1 {
		t.Fatalf("outputs: %+v", rep.Outputs)
	}
	// The program was compiled against bullseye's glibc 2.31; it runs on
	// any newer one.
	out, err := exec.Command(rep.Outputs[0].Path).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hello world") {
		t.Fatalf("translated program: %v\n%s", err, out)
	}

	// The same plan again is a store hit that runs nothing.
	r = mustRun(t, "", e, args...)
	if !strings.Contains(r.stdout, `"hit": true`) {
		t.Fatalf("second run was not a store hit:\n%s", r.stdout)
	}

	// An RPython failure: exit 1, one line naming the phase and the kept
	// log, nothing stored.
	if err := os.WriteFile(filepath.Join(src, "rpython/translator/goal/targetbroken.py"), []byte(brokenTarget), 0o644); err != nil {
		t.Fatal(err)
	}
	sh(t, src, e, "git add rpython/translator/goal/targetbroken.py")
	bad := append([]string(nil), args[:len(args)-2]...)
	bad = append(bad, "rpython/translator/goal/targetbroken.py")
	r = run(t, "", e, bad...)
	if r.code != 1 {
		t.Fatalf("broken target: exit %d, want 1\n%s", r.code, r.stderr)
	}
	// Progress lines come first; the error is the line pypyctl: starts.
	var first string
	for _, l := range strings.Split(r.stderr, "\n") {
		if rest, ok := strings.CutPrefix(l, "pypyctl: "); ok {
			first = rest
			break
		}
	}
	if !strings.Contains(first, "failed in phase annotate") || !strings.Contains(first, "(log: ") {
		t.Fatalf("first error line should name the phase and the log: %q", first)
	}
	logPath := first[strings.Index(first, "(log: ")+6:]
	logPath = logPath[:strings.Index(logPath, ")")]
	// RPython's flow space already refuses 'a' + 1 (FlowingError).
	if b, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(b), "[translation:ERROR]") {
		t.Fatalf("kept log %s: %v (no [translation:ERROR] in it)", logPath, err)
	}
	entries, _ := filepath.Glob(filepath.Join(st, "*", "*", "MANIFEST"))
	if len(entries) != 1 {
		t.Fatalf("the store should hold only the good translation, has %d entries", len(entries))
	}
}
