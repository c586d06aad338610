package translator

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// fakeInterpreter writes an executable that answers the probe like the
// described interpreter would.
func fakeInterpreter(t *testing.T, dir, name, impl, version, cffi string) {
	t.Helper()
	probe := fmt.Sprintf("impl=%s\nversion=%s\nmachine=x86_64\nbits=64\n", impl, version)
	if impl == "PyPy" {
		probe += "pypy=7.3.20\n"
	}
	if cffi != "" {
		probe += "cffi=" + cffi + "\n"
	} else {
		probe += "cffi-error=No module named cffi\n"
	}
	writeFile(t, filepath.Join(dir, name), "#!/bin/sh\nprintf '"+strings.ReplaceAll(probe, "\n", `\n`)+"'\n", 0o755)
}

func TestFindHost(t *testing.T) {
	type interp struct{ name, impl, version, cffi string }
	cases := []struct {
		name     string
		path     []interp
		explicit string
		want     string // chosen name, "" for none
		problem  string
		tried    string
	}{
		{name: "pypy2.7 on PATH", path: []interp{{"pypy", "PyPy", "2.7.18", "1.17.1"}}, want: "pypy"},
		{name: "a Python 3 pypy is skipped", path: []interp{{"pypy", "PyPy", "3.9.16", "1.15.1"}, {"pypy2.7", "PyPy", "2.7.18", "1.17.1"}},
			want: "pypy2.7", tried: "it is PyPy 3.9.16; RPython needs Python 2.7"},
		{name: "CPython 2.7 without cffi is skipped", path: []interp{{"python2.7", "CPython", "2.7.18", ""}, {"python2", "CPython", "2.7.18", "1.15.0"}},
			want: "python2", tried: "No module named cffi"},
		{name: "PyPy wins over an earlier CPython", path: []interp{{"pypy", "CPython", "2.7.18", "1.15.0"}, {"python2", "PyPy", "2.7.18", "1.17.1"}},
			want: "python2", tried: "still looking for PyPy2.7"},
		{name: "CPython when there is no PyPy", path: []interp{{"python2.7", "CPython", "2.7.18", "1.15.0"}}, want: "python2.7"},
		{name: "nothing", path: nil, problem: "no Python 2.7 interpreter with cffi found", tried: "python2: not on PATH"},
		{name: "explicit Python 3", path: []interp{{"mypy3", "PyPy", "3.11.13", "1.17.1"}}, explicit: "mypy3",
			problem: "RPython needs Python 2.7"},
		{name: "explicit missing", explicit: "/nonexistent/pypy", problem: "--host-python /nonexistent/pypy"},
		{name: "explicit by path", path: []interp{{"anything", "PyPy", "2.7.18", "1.17.1"}}, explicit: "DIR/anything", want: "anything"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, i := range c.path {
				fakeInterpreter(t, dir, i.name, i.impl, i.version, i.cffi)
			}
			// The real PATH stays out: a real python2 there must not count.
			m := LocalMachine(func(k string) string { return map[string]string{"PATH": dir}[k] })
			explicit := strings.Replace(c.explicit, "DIR", dir, 1)
			h := FindHost(context.Background(), m, explicit, nil)
			if c.want != "" {
				if !h.Found || h.Path != filepath.Join(dir, c.want) {
					t.Fatalf("found %+v, want %s", h, c.want)
				}
				if h.Version != "2.7.18" || h.CFFI == "" {
					t.Fatalf("probe result %+v", h)
				}
			} else if h.Found || !strings.Contains(h.Problem, c.problem) {
				t.Fatalf("got %+v, want problem %q", h, c.problem)
			}
			if c.tried != "" && !strings.Contains(strings.Join(h.Tried, "\n"), c.tried) {
				t.Fatalf("tried %q lacks %q", h.Tried, c.tried)
			}
		})
	}
}

// TestHostProbeGetsPassEnv: a CPython 2.7 whose cffi comes from
// PYTHONPATH (PyPy 2.7's lib_pypy) is a host when the translation gets
// PYTHONPATH too (--pass-env), and only then.
func TestHostProbeGetsPassEnv(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "python2.7"), `#!/bin/sh
printf 'impl=CPython\nversion=2.7.18\nmachine=x86_64\nbits=64\n'
if [ "$PYTHONPATH" = /src/lib_pypy ]; then echo cffi=1.17.1; else echo 'cffi-error=No module named cffi'; fi
`, 0o755)
	env := map[string]string{"PATH": dir + ":/usr/bin:/bin", "PYTHONPATH": "/src/lib_pypy"}
	r, tg := matrixFor(t, testRelease, nativeTarget(t))
	for _, pass := range [][]string{nil, {"PYTHONPATH"}} {
		p, err := NewPlan(context.Background(), Request{Release: r, Target: tg, HostPython: "python2.7", PassEnv: pass,
			Machine: testMachine(env), WorkRoot: t.TempDir(), Sources: &Sources{Store: newStore(t)}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Host.Found != (pass != nil) {
			t.Errorf("--pass-env %v: host %+v", pass, p.Host)
		}
	}
}

func TestProbeScriptRunsOnARealPython(t *testing.T) {
	// Only Python 3 exists on these machines: the probe must parse there
	// and refuse it, which is what keeps a pypy3 on PATH from being used.
	m := LocalMachine(os.Getenv)
	py := testtool.Need(t, "python3")[0]
	h, err := ProbeHost(context.Background(), m, nil, py)
	if err == nil || h.Found {
		t.Fatalf("python3 accepted as host: %+v", h)
	}
	if !strings.HasPrefix(h.Version, "3.") || h.Implementation != "CPython" || h.Bits == 0 || h.Machine == "" {
		t.Fatalf("probe of python3 read %+v", h)
	}
	if !strings.Contains(err.Error(), "RPython needs Python 2.7") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseAptPolicy(t *testing.T) {
	bookworm := `pypy:
  Installed: (none)
  Candidate: (none)
  Version table:
`
	bullseye := `pypy:
  Installed: (none)
  Candidate: 7.3.3+dfsg-2
  Version table:
     7.3.3+dfsg-2 500
        500 http://deb.debian.org/debian bullseye/main amd64 Packages
python2.7:
  Installed: (none)
  Candidate: 2.7.18-8+deb11u1
  Version table:
`
	cases := []struct {
		name, out string
		want      map[string]string
	}{
		{"bookworm", bookworm, map[string]string{"pypy": "", "python2.7": ""}},
		{"bullseye", bullseye, map[string]string{"pypy": "7.3.3+dfsg-2", "python2.7": "2.7.18-8+deb11u1"}},
		{"empty", "", map[string]string{"pypy": "", "python2.7": ""}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := parseAptPolicy([]byte(c.out), []string{"pypy", "python2.7"})
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

func TestHostInstallAdvice(t *testing.T) {
	cases := []struct {
		name  string
		cands map[string]string
		want  []string
	}{
		{"no apt", nil, []string{"https://pypy.org/download.html", "pypy2.7-v7.3.20-linux64", "--host-python"}},
		{"apt has nothing", map[string]string{}, []string{"apt has no Python 2.7 here", "https://pypy.org/download.html"}},
		{"apt has pypy", map[string]string{"pypy": "7.3.3+dfsg-2", "python2.7": "2.7.18-8"}, []string{"apt-get install pypy", "7.3.3+dfsg-2"}},
		{"apt has python2.7 only", map[string]string{"python2.7": "2.7.18-8"}, []string{"apt-get install python2.7", "cffi", "pypy.org"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Machine{}
			if c.cands != nil {
				m.AptCandidates = func(context.Context, ...string) map[string]string { return c.cands }
			}
			got := hostInstallAdvice(context.Background(), m, "linux64")
			for _, s := range c.want {
				if !strings.Contains(got, s) {
					t.Errorf("%q lacks %q", got, s)
				}
			}
		})
	}
}

func TestLocalAptCandidates(t *testing.T) {
	m := LocalMachine(os.Getenv)
	testtool.Need(t, "apt-cache")
	got := m.AptCandidates(context.Background(), "pypy3", "no-such-package-pypyctl")
	if got == nil || got["no-such-package-pypyctl"] != "" {
		t.Fatalf("got %v", got)
	}
}

func TestParseMemTotal(t *testing.T) {
	cases := []struct {
		in      string
		want    uint64
		wantErr bool
	}{
		{"MemTotal:       24567808 kB\nMemFree: 1 kB\n", 24567808 * 1024, false},
		{"MemFree: 1 kB\n", 0, true},
		{"MemTotal: x kB\n", 0, true},
		{"MemTotal: 5 MB\n", 0, true},
	}
	for _, c := range cases {
		got, err := parseMemTotal([]byte(c.in))
		if (err != nil) != c.wantErr || got != c.want {
			t.Errorf("parseMemTotal(%q) = %d, %v", c.in, got, err)
		}
	}
}
