package debian

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// makeDeb builds a real .deb with dpkg-deb from a file map.
func makeDeb(t *testing.T, compression string, files map[string]string) string {
	t.Helper()
	testtool.Need(t, "dpkg-deb")
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	os.WriteFile(filepath.Join(root, "DEBIAN", "control"), []byte("Package: pypyctl-test\nVersion: 1.0-1\nArchitecture: all\nMaintainer: t <t@example.invalid>\nPre-Depends: libssl3 (>= 3.0.0), pypy3-lib (= 1.0)\nDepends: zlib1g | libz\nDescription: test\n a longer\n description\n"), 0o644)
	for name, body := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if strings.HasPrefix(body, "->") {
			os.Symlink(strings.TrimPrefix(body, "->"), p)
			continue
		}
		os.WriteFile(p, []byte(body), 0o644)
	}
	out := filepath.Join(t.TempDir(), "test_"+compression+".deb")
	cmd := exec.Command("dpkg-deb", "--root-owner-group", "-Z"+compression, "--build", root, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, b)
	}
	return out
}

func TestOpenAndWalkRealDebs(t *testing.T) {
	for _, comp := range []string{"xz", "zstd", "gzip", "none"} {
		t.Run(comp, func(t *testing.T) {
			deb := makeDeb(t, comp, map[string]string{
				"usr/share/python-wheels/pip-1.0-py3-none-any.whl": "wheel-bytes",
				"usr/share/doc/x/README":                           "doc",
				"usr/bin/link":                                     "->../share/doc/x/README",
			})
			d, err := Open(deb)
			if err != nil {
				t.Fatal(err)
			}
			if d.Control["Package"] != "pypyctl-test" || d.Control["Description"] != "test\n a longer\n description" {
				t.Fatalf("control: %#v", d.Control)
			}
			var names []string
			err = d.WalkData(func(h *tar.Header, r io.Reader) error {
				if h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink {
					names = append(names, strings.TrimPrefix(h.Name, "./"))
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(names) != 3 {
				t.Fatalf("entries: %v", names)
			}
			wheels := t.TempDir()
			if err := ExtractWheels(deb, wheels); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(wheels, "pip-1.0-py3-none-any.whl")); string(b) != "wheel-bytes" {
				t.Fatalf("wheel content %q", b)
			}
		})
	}
}

func TestOpenRejectsNonDeb(t *testing.T) {
	for name, body := range map[string]string{
		"empty":     "",
		"not ar":    "hello world, not an archive at all..........................................",
		"truncated": "!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.",
	} {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.deb")
			os.WriteFile(p, []byte(body), 0o644)
			if _, err := Open(p); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestMapperTarget(t *testing.T) {
	m := mapper{py: "3.9", triplet: "aarch64-linux-gnu"}
	for in, want := range map[string]string{
		"./usr/bin/pypy3.9":                                 "tree/bin/pypy3.9",
		"./usr/bin/pypy3":                                   "",
		"./usr/bin/pypy3clean":                              "",
		"./usr/lib/aarch64-linux-gnu/libpypy3.9-c.so":       "tree/bin/libpypy3.9-c.so",
		"./usr/lib/x86_64-linux-gnu/libpypy3.9-c.so":        "",
		"./usr/lib/pypy3.9/site.py":                         "tree/lib/pypy3.9/site.py",
		"./usr/lib/pypy3.9/":                                "tree/lib/pypy3.9",
		"./usr/lib/pypy3.9x/evil.py":                        "",
		"./usr/lib/pypy3/runtime.d/public_modules.rtupdate": "",
		"./usr/include/pypy3.9/Python.h":                    "tree/include/pypy3.9/Python.h",
		"./usr/share/doc/pypy3/copyright":                   "LICENSE",
		"./usr/share/doc/pypy3-lib/copyright":               "",
		"./usr/lib/pypy3.9/../../../etc/passwd":             "",
	} {
		if got := m.target(in); got != want {
			t.Errorf("target(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestApplyPatches(t *testing.T) {
	lib := t.TempDir()
	for _, p := range undoPatches {
		path := filepath.Join(lib, filepath.FromSlash(p.file))
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, []byte("# before\n"+p.old+"# after\n"), 0o644)
	}
	os.WriteFile(filepath.Join(lib, "EXTERNALLY-MANAGED"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(lib, "dist-packages"), 0o755)
	if err := applyPatches(lib); err != nil {
		t.Fatal(err)
	}
	for _, p := range undoPatches {
		b, _ := os.ReadFile(filepath.Join(lib, filepath.FromSlash(p.file)))
		if string(b) != "# before\n"+p.new+"# after\n" {
			t.Errorf("%s not patched:\n%s", p.file, b)
		}
	}
	for _, r := range removedPaths {
		if _, err := os.Stat(filepath.Join(lib, r)); !os.IsNotExist(err) {
			t.Errorf("%s still there", r)
		}
	}
	// A second run finds no Debian text: it must fail, not half-patch.
	if err := applyPatches(lib); err == nil || !strings.Contains(err.Error(), "found it 0 times") {
		t.Fatalf("re-applying: %v", err)
	}
}

func TestRuntimeDepends(t *testing.T) {
	got := runtimeDepends(Control{"Pre-Depends": "pypy3-lib (= 1), libc6 (>= 2.35), libssl3", "Depends": " zlib1g | libz "})
	want := []string{"libc6 (>= 2.35)", "libssl3", "zlib1g | libz"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q", got)
	}
}
