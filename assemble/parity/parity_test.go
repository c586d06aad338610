package parity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareEntries(t *testing.T) {
	f := func(mode int) Entry { return Entry{Type: "file", Mode: os.FileMode(mode)} }
	ours := map[string]Entry{
		"bin/pypy3.11":         f(0o755),
		"bin/pypy3":            {Type: "symlink", Link: "pypy3.11"},
		"bin/python":           {Type: "symlink", Link: "pypy3.11"},
		"lib/libssl.so.1.1":    f(0o755),
		"lib/pypy3.11/os.py":   f(0o644),
		"include/pypy3.11/P.h": f(0o644),
		"extra.txt":            f(0o644),
	}
	theirs := map[string]Entry{
		"bin/pypy3.11":         f(0o755),
		"bin/pypy3.11.debug":   f(0o644),
		"bin/pypy3":            {Type: "symlink", Link: "pypy3.11"},
		"bin/python":           {Type: "symlink", Link: "pypy3"},
		"lib/pypy3.11/os.py":   f(0o600),
		"include/pypy3.11/P.h": f(0o444),
	}
	r := CompareEntries(ours, theirs, PackagePy)
	want := map[string]bool{ // path → explained
		"bin/pypy3.11.debug":   true,
		"bin/python":           false, // another link target
		"extra.txt":            false, // only ours
		"include/pypy3.11/P.h": true,
		"lib/libssl.so.1.1":    true,
		"lib/pypy3.11/os.py":   false, // another mode
	}
	if len(r.Diffs) != len(want) {
		t.Fatalf("diffs %+v", r.Diffs)
	}
	for _, d := range r.Diffs {
		explained, ok := want[d.Path]
		if !ok || explained != (d.Reason != "") {
			t.Errorf("%s: reason %q (want explained %v)", d.Path, d.Reason, explained)
		}
	}
	if n := len(r.Unexplained()); n != 3 {
		t.Errorf("unexplained %d, want 3", n)
	}
	if s := r.Summary(); !strings.Contains(s, "6 differences, 3 explained, 3 unexplained") || !strings.Contains(s, "bin/python") {
		t.Errorf("summary:\n%s", s)
	}
	// A known pattern on one side does not excuse the other.
	if r := CompareEntries(map[string]Entry{"bin/x.debug": f(0o644)}, nil, PackagePy); len(r.Unexplained()) != 1 {
		t.Errorf("ours-only .debug explained: %+v", r.Diffs)
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"bin/*.debug", "bin/pypy3.11.debug", true},
		{"bin/*.debug", "lib/x.debug", false},
		{"**/*.pypy*-linux-gnu.so", "lib/pypy3.11/_tkinter/tklib_cffi.pypy311-pp73-x86_64-linux-gnu.so", true},
		{"**/*.pypy*-linux-gnu.so", "a.pypy311-pp73-x86_64-linux-gnu.so", true},
		{"include/**", "include/pypy3.11/Python.h", true},
		{"include/**", "include", true},
		{"include/**", "includes/x.h", false},
		{"lib/pypy*/build/**", "lib/pypy3.11/build/lib_pypy", true},
		// 2.7's tree.
		{"lib_pypy/*.pypy-73.so", "lib_pypy/_sqlite3_cffi.pypy-73.so", true},
		{"lib_pypy/*.pypy-73.so", "lib_pypy/_tkinter/tklib_cffi.pypy-73.so", false},
		{"lib_pypy/*/__pycache__/**", "lib_pypy/_tkinter/__pycache__/_tkinter/__pycache__", true},
		{"lib_pypy/*/__pycache__/**", "lib_pypy/pypy_tools/__pycache__", true},
		{"lib_pypy/*/__pycache__/**", "lib_pypy/__pycache__", false},
		{"lib_pypy/_pypy_*.c", "lib_pypy/_pypy_openssl.c", true},
		{"lib_pypy/_pypy_*.c", "lib_pypy/_testcapimodule.c", false},
	}
	for _, c := range cases {
		if got := match(c.pattern, c.path); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.pattern, c.path, got)
		}
	}
}

// TestWalk reads types, modes and link targets from a real directory.
func TestWalk(t *testing.T) {
	d := t.TempDir()
	os.MkdirAll(filepath.Join(d, "bin"), 0o755)
	os.WriteFile(filepath.Join(d, "bin", "pypy3.11"), []byte("x"), 0o755)
	os.Symlink("pypy3.11", filepath.Join(d, "bin", "pypy3"))
	e, err := Walk(d)
	if err != nil {
		t.Fatal(err)
	}
	if e["bin/pypy3.11"] != (Entry{Type: "file", Mode: 0o755}) || e["bin/pypy3"] != (Entry{Type: "symlink", Link: "pypy3.11"}) || e["bin"].Type != "dir" || len(e) != 3 {
		t.Errorf("walk: %+v", e)
	}
}

// TestKnownDocumented: every deliberate difference is in docs/parity.md
// with its reason.
func TestKnownDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "parity.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range PackagePy {
		if !strings.Contains(string(doc), "`"+k.Pattern+"`") || !strings.Contains(string(doc), k.Reason) {
			t.Errorf("docs/parity.md lacks %s (%s): %s", k.Pattern, k.Side, k.Reason)
		}
	}
}
