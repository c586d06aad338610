package portable

import (
	"context"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

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
