package portable

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/internal/testtool"
)

func TestIsGlibc(t *testing.T) {
	tests := []struct {
		soname string
		want   bool
	}{
		{"libc.so.6", true},
		{"libm.so.6", true},
		{"libpthread.so.0", true},
		{"ld-linux-x86-64.so.2", true},
		{"ld-linux-aarch64.so.1", true},
		{"libnss_files.so.2", true},
		{"libcrypt.so.1", false}, // libxcrypt, not glibc
		{"libgcc_s.so.1", false},
		{"libssl.so.3", false},
		{"libtinfo.so.6", false},
	}
	for _, tt := range tests {
		if got := IsGlibc(tt.soname); got != tt.want {
			t.Errorf("IsGlibc(%s) = %v, want %v", tt.soname, got, tt.want)
		}
	}
}

func TestDepsText(t *testing.T) {
	p := &Plan{Libs: []Lib{
		{Soname: "libcrypto.so.3", SHA256: "aa", Package: "libssl3=3.0", NeededBy: []string{"lib/libssl.so.3", "lib/pypy3.9/_ssl.so"}},
		{Soname: "libz.so.1", SHA256: "bb", NeededBy: []string{"bin/libpypy3.9-c.so"}},
	}}
	got := string(p.DepsText())
	want := "libcrypto.so.3\taa\tlibssl3=3.0\tlib/libssl.so.3,lib/pypy3.9/_ssl.so\nlibz.so.1\tbb\t-\tbin/libpypy3.9-c.so\n"
	if !strings.HasSuffix(got, want) || !strings.HasPrefix(got, "# ") {
		t.Fatalf("DepsText:\n%s\nwant it to end with:\n%s", got, want)
	}
}

// cc builds a tiny shared object or executable with the host's compiler.
func cc(t *testing.T, out, src string, args ...string) {
	t.Helper()
	c := filepath.Join(t.TempDir(), "x.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := exec.Command("cc", append([]string{"-o", out, c}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("cc: %v\n%s", err, b)
	}
}

// TestDiscoverAndApply builds a fake tree whose module needs a host
// library (libfoo, in a "system" dir) which itself needs libbar: both are
// planned and bundled, glibc is not, and RUNPATHs reach lib/.
func TestDiscoverAndApply(t *testing.T) {
	testtool.Need(t, []string{"cc", "patchelf"}...)
	sys := t.TempDir()
	cc(t, filepath.Join(sys, "libbar.so.1"), "int bar(void){return 2;}", "-shared", "-fPIC", "-Wl,-soname,libbar.so.1")
	cc(t, filepath.Join(sys, "libfoo.so.1"), "int bar(void); int foo(void){return bar();}", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-L"+sys, "-l:libbar.so.1")
	in := t.TempDir()
	tree := filepath.Join(in, "tree")
	mod := filepath.Join(tree, "lib", "pypy3.9", "_foo.so")
	os.MkdirAll(filepath.Dir(mod), 0o755)
	os.MkdirAll(filepath.Join(tree, "bin"), 0o755)
	cc(t, mod, "int foo(void); int f(void){return foo();}", "-shared", "-fPIC", "-L"+sys, "-l:libfoo.so.1")
	cc(t, filepath.Join(tree, "bin", "pypy3.9"), "int main(void){return 0;}", "-Wl,-rpath,$ORIGIN")
	os.WriteFile(filepath.Join(in, "vm.json"), []byte("{}"), 0o644)

	p, err := Discover(tree, []string{sys})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range p.Libs {
		names = append(names, l.Soname)
	}
	if got := strings.Join(names, " "); got != "libbar.so.1 libfoo.so.1" {
		t.Fatalf("planned %q, want libbar and libfoo only (libc is glibc's)", got)
	}
	if rp := p.Patch["lib/pypy3.9/_foo.so"]; rp != "$ORIGIN/.." {
		t.Errorf("module RUNPATH %q, want $ORIGIN/..", rp)
	}
	if _, ok := p.Patch["bin/pypy3.9"]; ok {
		t.Errorf("launcher needs no bundled library, but is patched: %v", p.Patch)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Apply(context.Background(), in, out, p); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"tree/lib/pypy3.9/_foo.so": "$ORIGIN/..",
		"tree/lib/libfoo.so.1":     "$ORIGIN",
	} {
		f, err := elf.Open(filepath.Join(out, file))
		if err != nil {
			t.Fatal(err)
		}
		rp, _ := f.DynString(elf.DT_RUNPATH)
		f.Close()
		if len(rp) != 1 || rp[0] != want {
			t.Errorf("%s RUNPATH %v, want %s", file, rp, want)
		}
	}
	deps, err := os.ReadFile(filepath.Join(out, "tree", DepsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deps), "libbar.so.1\t") || !strings.Contains(string(deps), "lib/libfoo.so.1") {
		t.Errorf("deps file:\n%s", deps)
	}
	// The input is untouched: store outputs are read-only.
	f, _ := elf.Open(mod)
	rp, _ := f.DynString(elf.DT_RUNPATH)
	f.Close()
	if len(rp) != 0 {
		t.Errorf("input module was patched: %v", rp)
	}
}

func TestResolveMissing(t *testing.T) {
	_, err := Resolve("libnothere.so.9", []string{t.TempDir()}, elf.EM_X86_64, elf.ELFCLASS64)
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("err = %v", err)
	}
}

// TestDiscoverInImage bundles from an image root: libraries are named by
// their path in the image (not the host's), only the allow-listed stems
// are bundled (libtcl8.6 yes, libX11 no), Tcl's script library comes
// along, and a library whose symlink leaves the image is refused.
func TestDiscoverInImage(t *testing.T) {
	testtool.Need(t, []string{"cc", "patchelf"}...)
	root := t.TempDir()
	libdir := filepath.Join(root, "usr", "lib", "x86_64-linux-gnu")
	os.MkdirAll(libdir, 0o755)
	cc(t, filepath.Join(libdir, "libX11.so.6"), "int x(void){return 1;}", "-shared", "-fPIC", "-Wl,-soname,libX11.so.6")
	cc(t, filepath.Join(libdir, "libtcl8.6.so"), "int x(void); int tcl(void){return x();}", "-shared", "-fPIC", "-Wl,-soname,libtcl8.6.so", "-L"+libdir, "-l:libX11.so.6")
	tcl := filepath.Join(root, "usr", "share", "tcltk", "tcl8.6")
	os.MkdirAll(tcl, 0o755)
	os.WriteFile(filepath.Join(tcl, "init.tcl"), []byte("package require -exact Tcl 8.6.11\n"), 0o644)
	in := t.TempDir()
	tree := filepath.Join(in, "tree")
	mod := filepath.Join(tree, "lib", "pypy3.11", "_tkinter", "tklib_cffi.so")
	os.MkdirAll(filepath.Dir(mod), 0o755)
	cc(t, mod, "int tcl(void); int f(void){return tcl();}", "-shared", "-fPIC", "-L"+libdir, "-l:libtcl8.6.so")
	os.WriteFile(filepath.Join(in, "vm.json"), []byte("{}"), 0o644)

	dirs := []string{"/usr/lib/x86_64-linux-gnu"}
	p, err := DiscoverIn(root, tree, dirs, upstreamBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Libs) != 1 || p.Libs[0].Soname != "libtcl8.6.so" || p.Libs[0].Source != "/usr/lib/x86_64-linux-gnu/libtcl8.6.so" {
		t.Fatalf("libs %+v, want only libtcl8.6.so by its path in the image (libX11 is the system's)", p.Libs)
	}
	if len(p.Data) != 1 || p.Data[0] != "/usr/share/tcltk/tcl8.6" {
		t.Errorf("data %v", p.Data)
	}
	out := filepath.Join(t.TempDir(), "out")
	if err := Apply(context.Background(), in, out, p); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tree/lib/libtcl8.6.so", "tree/lib/tcl8.6/init.tcl"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "tree/lib/libX11.so.6")); !os.IsNotExist(err) {
		t.Errorf("libX11 bundled: %v", err)
	}

	// 2.7's _tkinter looks for lib/tcl and lib/tk.
	p.Python2TclTk()
	out2 := filepath.Join(t.TempDir(), "out")
	if err := Apply(context.Background(), in, out2, p); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out2, "tree/lib/tcl/init.tcl")); err != nil {
		t.Error(err)
	}
	if _, err := os.Stat(filepath.Join(out2, "tree/lib/tcl8.6")); !os.IsNotExist(err) {
		t.Errorf("2.7 tree has lib/tcl8.6: %v", err)
	}

	// Every non-glibc library without the allow-list.
	if p, err := DiscoverIn(root, tree, dirs, nil); err != nil || len(p.Libs) != 2 {
		t.Errorf("without allow-list: %+v, %v", p, err)
	}

	// A link out of the image would bundle a host file: refused.
	host := filepath.Join(t.TempDir(), "libtcl8.6.so")
	os.Rename(filepath.Join(libdir, "libtcl8.6.so"), host)
	os.Symlink(host, filepath.Join(libdir, "libtcl8.6.so"))
	if _, err := DiscoverIn(root, tree, dirs, upstreamBundle(t)); err == nil || !strings.Contains(err.Error(), "outside the builder image") {
		t.Errorf("escaping symlink: err = %v", err)
	}
}

func TestStem(t *testing.T) {
	for in, want := range map[string]string{
		"libssl.so.1.1": "ssl", "libtcl8.6.so": "tcl8", "libgcc_s.so.1": "gcc_s", "libncursesw.so.6": "ncursesw", "libz.so.1": "z",
	} {
		if got := stem(in); got != want {
			t.Errorf("stem(%s) = %s, want %s", in, got, want)
		}
	}
}

// upstreamBundle is the bundle list of pypy3.11-v7.3.23's make_portable.py.
func upstreamBundle(t *testing.T) []string {
	t.Helper()
	src := t.TempDir()
	writeMakePortable(t, src, releaseMakePortable(t, "release-pypy3.11-v7.3.23"))
	b, err := UpstreamBundle(src)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// releaseMakePortable is a release's own make_portable.py, from the
// shared PyPy repository.
func releaseMakePortable(t *testing.T, tag string) string {
	t.Helper()
	git := filepath.Join(testenv.SharedPyPy(t), "pypy.git")
	out, err := exec.Command("git", "--git-dir", git, "show", tag+":"+MakePortablePy).Output()
	if err != nil {
		t.Fatalf("git show %s:%s: %v", tag, MakePortablePy, err)
	}
	return string(out)
}

func writeMakePortable(t *testing.T, src, body string) {
	t.Helper()
	p := filepath.Join(src, filepath.FromSlash(MakePortablePy))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The bundle list is each release's own: 7.3.20 bundles expat (its VMs
// link libexpat), 7.3.23 does not; gcc_s, zlib and bzip2 are always added.
func TestUpstreamBundleReadsTheReleasesList(t *testing.T) {
	for _, tc := range []struct {
		tag       string
		has, lack []string
	}{
		{"release-pypy2.7-v7.3.20", []string{"expat", "ffi", "ssl", "gcc_s", "z", "bz2"}, nil},
		{"release-pypy3.11-v7.3.20", []string{"expat", "sqlite3", "gcc_s", "z"}, nil},
		{"release-pypy2.7-v7.3.23", []string{"expat", "z", "bz2", "gcc_s"}, nil},
		{"release-pypy3.11-v7.3.23", []string{"z", "bz2", "tcl8", "ncursesw", "gcc_s"}, []string{"expat"}},
	} {
		t.Run(tc.tag, func(t *testing.T) {
			src := t.TempDir()
			writeMakePortable(t, src, releaseMakePortable(t, tc.tag))
			got, err := UpstreamBundle(src)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.has {
				if !slices.Contains(got, s) {
					t.Errorf("%v lacks %s", got, s)
				}
			}
			for _, s := range tc.lack {
				if slices.Contains(got, s) {
					t.Errorf("%v has %s", got, s)
				}
			}
			if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
				t.Errorf("%v is not sorted and unique", got)
			}
		})
	}
}

func TestUpstreamBundleRefusesWhatItCannotRead(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"no file", "", "no such file"},
		{"no list", "print('hello')\n", "has no `bundle = [...]` list"},
		{"an expression", "bundle = ['ssl', os.environ['X']]\n", "is not a quoted library stem"},
		{"a path", "bundle = ['../../etc/passwd']\n", "is not a quoted library stem"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := t.TempDir()
			if tc.body != "" {
				writeMakePortable(t, src, tc.body)
			}
			_, err := UpstreamBundle(src)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v, want %q", err, tc.want)
			}
		})
	}
}
