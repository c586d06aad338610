package translator

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPreflight(t *testing.T) {
	const host = "/opt/pypy/bin/pypy"
	cases := []struct {
		name    string
		target  string
		builder string
		minMem  int
		setup   func(m *Machine)
		want    map[string][]string // check -> substrings of message+fix
	}{
		{name: "all good", target: "linux-amd64", want: map[string][]string{}},
		{name: "little memory", target: "linux-amd64",
			setup: func(m *Machine) { m.MemTotal = func() (uint64, error) { return 4 * gb, nil } },
			want:  map[string][]string{"memory": {"4.0 GB", "needs 6 GB", "--min-memory 4"}}},
		{name: "memory override lets it pass", target: "linux-amd64", minMem: 3,
			setup: func(m *Machine) { m.MemTotal = func() (uint64, error) { return 4 * gb, nil } },
			want:  map[string][]string{}},
		{name: "32-bit target needs less memory", target: "linux-386",
			setup: func(m *Machine) {
				m.MemTotal = func() (uint64, error) { return 4 * gb, nil }
				m.Run = func(context.Context, []string, ...string) ([]byte, error) {
					return []byte(strings.Replace(pypyProbe, "bits=64", "bits=32", 1)), nil
				}
			},
			want: map[string][]string{}},
		{name: "unknown memory", target: "linux-amd64",
			setup: func(m *Machine) { m.MemTotal = func() (uint64, error) { return 0, errors.New("no /proc") } },
			want:  map[string][]string{"memory": {"cannot tell", "no /proc", "--min-memory 0"}}},
		// --min-memory 0 reaches the plan as a negative request: no check,
		// so the "unknown memory" hint above is true.
		{name: "no memory check when memory is unknown", target: "linux-amd64", minMem: -1,
			setup: func(m *Machine) { m.MemTotal = func() (uint64, error) { return 0, errors.New("no /proc") } },
			want:  map[string][]string{}},
		{name: "no memory check on a small machine", target: "linux-amd64", minMem: -1,
			setup: func(m *Machine) { m.MemTotal = func() (uint64, error) { return 1 * gb, nil } },
			want:  map[string][]string{}},
		{name: "little disk", target: "linux-amd64",
			setup: func(m *Machine) { m.DiskFree = func(string) (uint64, error) { return 3 * gb, nil } },
			want:  map[string][]string{"disk": {"3.0 GB free at /work", "about 10 GB"}}},
		{name: "missing libraries", target: "linux-amd64",
			setup: func(m *Machine) {
				m.PkgConfig = func(_ context.Context, mod, _ string) bool { return mod != "libffi" && mod != "sqlite3" }
				m.FileExists = func(p string) bool { return !strings.HasSuffix(p, "/bzlib.h") && !strings.HasSuffix(p, "/sqlite3.h") }
			},
			want: map[string][]string{"libraries": {"bz2 (bzlib.h)", "sqlite3 (sqlite3.h)", "apt-get install libbz2-dev libsqlite3-dev"}}},
		{name: "header found without pkg-config", target: "linux-amd64",
			setup: func(m *Machine) { m.PkgConfig = func(context.Context, string, string) bool { return false } },
			want:  map[string][]string{}},
		{name: "foreign-arch libraries get the arch suffix", target: "linux-386",
			setup: func(m *Machine) {
				m.Run = func(context.Context, []string, ...string) ([]byte, error) {
					return []byte(strings.Replace(pypyProbe, "bits=64", "bits=32", 1)), nil
				}
				m.PkgConfig = func(_ context.Context, mod, libdir string) bool {
					return mod != "libffi" || !strings.Contains(libdir, "/usr/lib/i386-linux-gnu/pkgconfig")
				}
				m.FileExists = func(p string) bool { return !strings.HasSuffix(p, "/ffi.h") }
			},
			want: map[string][]string{"libraries": {"libffi (ffi.h)", "libffi-dev:i386"}}},
		{name: "missing tools", target: "linux-amd64",
			setup: func(m *Machine) {
				look := m.LookPath
				m.LookPath = func(n string) (string, error) {
					if n == "gcc" || n == "make" {
						return "", exec.ErrNotFound
					}
					return look(n)
				}
			},
			want: map[string][]string{"tools": {"gcc, make", "apt-get install gcc make"}}},
		{name: "64-bit host for a 32-bit target", target: "linux-386",
			want: map[string][]string{"host-python": {"runs as amd64", "linux-386", "pypy2.7-v7.3.20-linux32"}}},
		{name: "foreign arch natively", target: "linux-arm64",
			want: map[string][]string{"platform": {"arm64", "--builder image"}, "host-python": {"runs as amd64"}}},
		{name: "foreign arch emulated with a foreign host", target: "linux-arm64", builder: BuilderEmulated,
			setup: func(m *Machine) {
				m.Run = func(_ context.Context, _ []string, argv ...string) ([]byte, error) {
					if argv[0] != "qemu-aarch64-static" {
						return nil, errors.New("probe not under qemu: " + strings.Join(argv, " "))
					}
					return []byte(strings.Replace(pypyProbe, "machine=x86_64", "machine=aarch64", 1)), nil
				}
			},
			want: map[string][]string{}},
		{name: "emulated without qemu", target: "linux-arm64", builder: BuilderEmulated,
			setup: func(m *Machine) {
				look := m.LookPath
				m.LookPath = func(n string) (string, error) {
					if strings.HasPrefix(n, "qemu-") {
						return "", exec.ErrNotFound
					}
					return look(n)
				}
				m.Run = func(context.Context, []string, ...string) ([]byte, error) {
					return nil, errors.New("exec: qemu-aarch64-static: not found")
				}
			},
			want: map[string][]string{"builder": {"qemu-aarch64-static", "qemu-user-static"}, "host-python": {"not found"}}},
		{name: "bwrap missing", target: "linux-amd64", builder: BuilderBwrap,
			setup: func(m *Machine) {
				look := m.LookPath
				m.LookPath = func(n string) (string, error) {
					if n == "bwrap" {
						return "", exec.ErrNotFound
					}
					return look(n)
				}
			},
			want: map[string][]string{"builder": {"bubblewrap"}}},
		{name: "other OS", target: "macos-amd64",
			want: map[string][]string{"platform": {"darwin/amd64", "linux/amd64", "darwin builder"}}},
		{name: "no host, apt offers nothing", target: "linux-amd64",
			setup: func(m *Machine) {
				m.LookPath = func(n string) (string, error) {
					if slices.Contains(hostCandidates(), n) {
						return "", exec.ErrNotFound
					}
					return "/usr/bin/" + n, nil
				}
			},
			want: map[string][]string{"host-python": {"no Python 2.7", "pypy: not on PATH", "apt has no Python 2.7", "https://pypy.org/download.html", "pypy2.7-v7.3.20-linux64", "--host-python"}}},
		{name: "everything at once", target: "linux-amd64",
			setup: func(m *Machine) {
				m.MemTotal = func() (uint64, error) { return 2 * gb, nil }
				m.DiskFree = func(string) (uint64, error) { return 1 * gb, nil }
				m.Run = func(context.Context, []string, ...string) ([]byte, error) {
					return []byte("impl=PyPy\nversion=3.9.16\nmachine=x86_64\nbits=64\npypy=7.3.11\ncffi=1.15.1\n"), nil
				}
			},
			want: map[string][]string{"memory": {"2.0 GB"}, "disk": {"1.0 GB"}, "host-python": {"3.9.16", "needs Python 2.7"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, tg := matrixFor(t, testRelease, c.target)
			m := fakeMachine("linux", "amd64", host, pypyProbe)
			if c.setup != nil {
				c.setup(m)
			}
			p, err := NewPlan(context.Background(), Request{Release: r, Target: tg, Builder: c.builder, MinMemoryGB: c.minMem,
				Machine: m, WorkRoot: "/work/cache", Sources: &Sources{Store: newStore(t)}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, pr := range p.Preflight {
				got[pr.Check] += pr.Message + " | " + pr.Fix + "\n"
			}
			for check, subs := range c.want {
				text, ok := got[check]
				if !ok {
					t.Errorf("no %s problem; got %+v", check, p.Preflight)
					continue
				}
				for _, s := range subs {
					if !strings.Contains(text, s) {
						t.Errorf("%s problem %q lacks %q", check, text, s)
					}
				}
			}
			for check := range got {
				if _, ok := c.want[check]; !ok {
					t.Errorf("unexpected %s problem: %s", check, got[check])
				}
			}
			if p.Ready() != (len(c.want) == 0) {
				t.Errorf("Ready() = %v with problems %+v", p.Ready(), p.Preflight)
			}
		})
	}
}

func TestPreflightErrorListsEveryProblem(t *testing.T) {
	e := &PreflightError{Release: "r", Target: "t", Problems: []Problem{
		{Check: "host-python", Message: "no Python 2.7", Fix: "install PyPy2.7"},
		{Check: "memory", Message: "2 GB"},
	}}
	got := e.Error()
	for _, s := range []string{"cannot translate r for t: 2 preflight problems", "- host-python: no Python 2.7", "fix: install PyPy2.7", "- memory: 2 GB"} {
		if !strings.Contains(got, s) {
			t.Errorf("%q lacks %q", got, s)
		}
	}
	p := &Plan{Release: "r", Target: "t", Preflight: e.Problems}
	_, err := Translate(context.Background(), p, Options{})
	var pe *PreflightError
	if !errors.As(err, &pe) || len(pe.Problems) != 2 {
		t.Fatalf("Translate of an unready plan: %v", err)
	}
}

func TestArchOf(t *testing.T) {
	cases := []struct {
		machine string
		bits    int
		want    string
	}{
		{"x86_64", 64, "amd64"}, {"x86_64", 32, "386"}, {"i686", 32, "386"}, {"aarch64", 64, "arm64"},
		{"arm64", 64, "arm64"}, {"s390x", 64, "s390x"}, {"AMD64", 64, "amd64"},
	}
	for _, c := range cases {
		if got := archOf(c.machine, c.bits); got != c.want {
			t.Errorf("archOf(%s, %d) = %s, want %s", c.machine, c.bits, got, c.want)
		}
	}
}

// TestPreflightBinfmt plans the arm64 builder image on an amd64 machine
// in each state binfmt_misc can be in: every state but "registered with
// the F flag" is a builder problem whose fix is the commands for it.
func TestPreflightBinfmt(t *testing.T) {
	const register = "cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register"
	cases := []struct {
		state    Binfmt
		haveConf bool
		want     []string // substrings of message | fix; nil: no problem
	}{
		{BinfmtReady, true, nil},
		{BinfmtUnmounted, true, []string{"not mounted at /proc/sys/fs/binfmt_misc",
			"as root: mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc && " + register}},
		{BinfmtMissing, true, []string{"/proc/sys/fs/binfmt_misc/qemu-aarch64 is not registered", "as root: " + register}},
		{BinfmtMissing, false, []string{"as root: apt-get install qemu-user-static && " + register}},
		{BinfmtDisabled, true, []string{"qemu-aarch64 is disabled", "echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64 && " + register}},
		{BinfmtNoFixBinary, true, []string{"lacks the F (fix-binary) flag", "echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64 && " + register}},
	}
	for _, c := range cases {
		t.Run(c.state.describe("aarch64"), func(t *testing.T) {
			m := fakeMachine("linux", "amd64", "", "")
			m.Binfmt = func(q string) Binfmt {
				if q != "aarch64" {
					t.Errorf("binfmt asked for %q", q)
				}
				return c.state
			}
			m.FileExists = func(p string) bool { return p != "/usr/lib/binfmt.d/qemu-aarch64.conf" || c.haveConf }
			p := imagePlan(t, "linux-arm64", m)
			var got []string
			for _, pr := range p.Preflight {
				if pr.Check == "builder" {
					got = append(got, pr.Message+" | "+pr.Fix)
				}
			}
			if c.want == nil {
				if len(got) != 0 {
					t.Fatalf("unexpected builder problems: %q", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want one builder problem, got %q", got)
			}
			for _, s := range append(c.want, "binfmt_misc entry qemu-aarch64 with the F flag") {
				if !strings.Contains(got[0], s) {
					t.Errorf("%q lacks %q", got[0], s)
				}
			}
			// In a made image the host probe failed because nothing of
			// the image runs: that is the builder problem, not a second one.
			p.Host.Problem = "probe /usr/bin/pypy: Exec format error"
			_, tg := matrixFor(t, testRelease, "linux-arm64")
			for _, pr := range Preflight(context.Background(), p, tg, Request{Machine: m, WorkRoot: "/work", ImageRoot: "/image"}) {
				if pr.Check == "host-python" {
					t.Errorf("host-python problem beside the binfmt one: %s", pr.Message)
				}
			}
		})
	}
}

func TestReadBinfmt(t *testing.T) {
	dir := t.TempDir()
	if got := readBinfmt(dir, "aarch64"); got != BinfmtUnmounted {
		t.Errorf("no register file: %v", got)
	}
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("register", "")
	if got := readBinfmt(dir, "aarch64"); got != BinfmtMissing {
		t.Errorf("no entry: %v", got)
	}
	// As Linux 6.x shows qemu-user-static's entry.
	const entry = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: POF\noffset 0\nmagic 7f454c460201010000000000000000000200b700\nmask ffffffffffffff00fffffffffffffffffeffffff\n"
	for _, c := range []struct {
		entry string
		want  Binfmt
	}{
		{entry, BinfmtReady},
		{strings.Replace(entry, "flags: POF", "flags: PO", 1), BinfmtNoFixBinary},
		{strings.Replace(entry, "flags: POF", "flags: ", 1), BinfmtNoFixBinary},
		{strings.Replace(entry, "enabled", "disabled", 1), BinfmtDisabled},
	} {
		write("qemu-aarch64", c.entry)
		if got := readBinfmt(dir, "aarch64"); got != c.want {
			t.Errorf("entry %q: %v, want %v", c.entry, got, c.want)
		}
	}
}
