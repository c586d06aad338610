package deb

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
)

func needTool(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
}

// hostTarget is the matrix target this machine runs, and the default
// release, so built trees are real ELF files of the package's arch.
func hostTarget(t *testing.T) (*platforms.Matrix, *platforms.Release, *platforms.Target) {
	t.Helper()
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Release("")
	if err != nil {
		t.Fatal(err)
	}
	name := map[string]string{"amd64": "linux-amd64", "arm64": "linux-arm64"}[runtime.GOARCH]
	if name == "" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skipf("no matrix target for GOARCH %s", runtime.GOARCH)
	}
	tg, err := m.Target(name)
	if err != nil {
		t.Fatal(err)
	}
	return m, r, tg
}

func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeFile(t *testing.T, p, body string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// makeTree compiles a miniature release tree with gcc: a launcher with
// RUNPATH $ORIGIN that needs bin/libpypy3.9-c.so (bundled), which needs
// zlib; a cffi-like module that needs sqlite3; plus stdlib-like files.
// Real ELF files, so the Depends scan and lintian see what they would
// see in a release.
func makeTree(t *testing.T, r *platforms.Release, tg *platforms.Target) string {
	t.Helper()
	needTool(t, "gcc")
	root := filepath.Join(t.TempDir(), r.ArchiveBase(tg))
	src := t.TempDir()
	py := r.PythonShort()
	lib := "libpypy" + py + "-c.so"
	writeFile(t, filepath.Join(src, "vm.c"), "#include <zlib.h>\nconst char *pypy_zlib(void) { return zlibVersion(); }\n", 0o644)
	writeFile(t, filepath.Join(src, "main.c"), "#include <stdio.h>\nconst char *pypy_zlib(void);\nint main(void) { printf(\"%s\\n\", pypy_zlib()); return 0; }\n", 0o644)
	writeFile(t, filepath.Join(src, "mod.c"), "extern const char *sqlite3_libversion(void);\nconst char *mod_version(void) { return sqlite3_libversion(); }\n", 0o644)
	bin := filepath.Join(root, "bin")
	stdlib := filepath.Join(root, r.StdlibDir())
	for _, d := range []string{bin, stdlib, filepath.Join(root, r.SitePackagesDir()), filepath.Join(root, "include", "pypy"+py)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	flags := []string{"-O2", "-g0", "-s", "-Wl,-z,relro,-z,now", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong"}
	run(t, src, "gcc", append(flags, "-shared", "-fPIC", "-Wl,-soname,"+lib, "-o", filepath.Join(bin, lib), "vm.c", "-l:libz.so.1", "-lc")...)
	run(t, src, "gcc", append(flags, "-fPIE", "-pie", "-o", filepath.Join(bin, r.Interpreter()), "main.c", "-L"+bin, "-l:"+lib, "-Wl,--enable-new-dtags,-rpath,$ORIGIN")...)
	mod := "_sqlite3_cffi.pypy" + r.PythonNoDot() + "-pp73-" + tg.Triplet + ".so"
	run(t, src, "gcc", append(flags, "-shared", "-fPIC", "-o", filepath.Join(stdlib, mod), "mod.c", "-l:libsqlite3.so.0", "-lc")...)
	if err := os.Chmod(filepath.Join(stdlib, mod), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(bin, lib), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{"pypy3", "pypy", "python", "python3", "python" + py} {
		if err := os.Symlink(r.Interpreter(), filepath.Join(bin, l)); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(stdlib, "os.py"), "import sys\n", 0o644)
	writeFile(t, filepath.Join(stdlib, "timeit.py"), "#! /usr/bin/env python3\nprint('timeit')\n", 0o644)
	writeFile(t, filepath.Join(root, r.SitePackagesDir(), "README"), "site-packages\n", 0o644)
	writeFile(t, filepath.Join(root, "include", "pypy"+py, "Python.h"), "/* C API */\n", 0o644)
	writeFile(t, filepath.Join(root, "LICENSE"), "PyPy licence (MIT)\n", 0o644)
	writeFile(t, filepath.Join(root, "README.rst"), "PyPy\n", 0o644)
	return root
}
