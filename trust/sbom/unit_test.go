package sbom

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/soname"
	"github.com/pypyctl/pypyctl/internal/testtool"
)

func TestDependsNames(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"libc6 (>= 2.35), libssl3 (>= 3.0.0)", []string{"libc6", "libssl3"}},
		{"pypy3-lib (= 7.3.11+dfsg-2+deb12u3), zlib1g (>= 1:1.2.0)", []string{"pypy3-lib", "zlib1g"}},
		{"default-mta | mail-transport-agent, python3:any", []string{"default-mta", "mail-transport-agent", "python3"}},
		{"libfoo(>=1)", []string{"libfoo"}},
	}
	for _, tt := range tests {
		if got, err := dependsNames(tt.in); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("dependsNames(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPURLs(t *testing.T) {
	tests := []struct{ got, want string }{
		{DebPURL("libssl3", "3.0.15-1~deb12u1", "amd64"), "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64"},
		{DebPURL("pypy3", "7.3.11+dfsg-2+deb12u3", "amd64"), "pkg:deb/debian/pypy3@7.3.11%2Bdfsg-2%2Bdeb12u3?arch=amd64"},
		{DebPURL("zlib1g", "1:1.2.13.dfsg-1", "arm64"), "pkg:deb/debian/zlib1g@1:1.2.13.dfsg-1?arch=arm64"},
		{PyPIPURL("Setuptools", "66.1.1"), "pkg:pypi/setuptools@66.1.1"},
		{PyPIPURL("typing_extensions", "4.4.0"), "pkg:pypi/typing-extensions@4.4.0"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %s, want %s", tt.got, tt.want)
		}
	}
}

// TestUUIDv5 checks the serial-number UUIDs against Python's uuid module.
func TestUUIDv5(t *testing.T) {
	for _, name := range []string{"pypyctl-sbom:sha256:00", "https://www.pypy.org/"} {
		got := uuidV5(urlNamespace, name)
		out, err := exec.Command("python3", "-c", "import sys, uuid; print(uuid.uuid5(uuid.NAMESPACE_URL, sys.argv[1]))", name).Output()
		if err != nil {
			testtool.Missing(t, "python3 cannot cross-check UUIDv5 (%v; %s installs python3)", err, testtool.Setup)
		}
		if want := strings.TrimSpace(string(out)); got != want {
			t.Errorf("uuidV5(%q) = %s, python says %s", name, got, want)
		}
	}
}

func TestOwnerByArch(t *testing.T) {
	out := []byte(`libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3
libssl3:arm64: /usr/lib/aarch64-linux-gnu/libssl.so.3
diversion by foo from: /usr/lib/x86_64-linux-gnu/libz.so.1
libbz2-1.0: /lib/libbz2.so.1.0
libc6:arm64: /lib/aarch64-linux-gnu/libc.so.6
`)
	tests := []struct {
		arch string
		want map[string]string
	}{
		{"amd64", map[string]string{"libssl.so.3": "libssl3:amd64", "libbz2.so.1.0": "libbz2-1.0:amd64"}},
		{"arm64", map[string]string{"libssl.so.3": "libssl3:arm64", "libbz2.so.1.0": "libbz2-1.0:arm64", "libc.so.6": "libc6:arm64"}},
	}
	for _, tt := range tests {
		if got := ownerByArch(soname.ParseSearch(out), tt.arch); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.arch, got, tt.want)
		}
	}
}

func TestPythonLicense(t *testing.T) {
	tests := []struct {
		name string
		m    metadata
		want string
	}{
		{"expression wins", metadata{licenseExpr: "MIT OR Apache-2.0", license: "MIT"}, "MIT OR Apache-2.0"},
		{"spdx field", metadata{license: "MIT"}, "MIT"},
		{"classifier", metadata{license: "UNKNOWN", classifiers: []string{"License :: OSI Approved :: MIT License"}}, "MIT"},
		{"conflicting classifiers", metadata{classifiers: []string{"License :: OSI Approved :: MIT License", "License :: OSI Approved :: Apache Software License"}}, ""},
		{"free text", metadata{license: "BSD-style"}, "BSD-style"},
		{"unknown", metadata{license: "UNKNOWN"}, ""},
	}
	for _, tt := range tests {
		if got := pythonLicense(tt.m); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestScanRealELF scans a copy of a shared library this host really has
// and compares its SONAME and NEEDED with readelf's.
func TestScanRealELF(t *testing.T) {
	var lib string
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/libffi.so.8", "/usr/lib/aarch64-linux-gnu/libffi.so.8", "/lib/x86_64-linux-gnu/libz.so.1"} {
		if _, err := os.Stat(p); err == nil {
			lib = p
			break
		}
	}
	if lib == "" {
		testtool.Missing(t, "no libffi.so.8 or libz.so.1 on this host (%s installs libffi-dev and zlib1g-dev)", testtool.Setup)
	}
	testtool.Need(t, "readelf")
	root := t.TempDir()
	b, _ := os.ReadFile(lib)
	os.MkdirAll(filepath.Join(root, "lib"), 0o755)
	os.WriteFile(filepath.Join(root, "lib", filepath.Base(lib)), b, 0o755)
	os.WriteFile(filepath.Join(root, "lib", "notes.txt"), []byte("\x7fELF but not really"), 0o644)
	os.Symlink(filepath.Base(lib), filepath.Join(root, "lib", "link.so"))
	if _, err := Scan(context.Background(), root); err == nil {
		t.Fatal("a corrupt file with ELF magic scanned without error")
	}
	os.Remove(filepath.Join(root, "lib", "notes.txt"))
	tree, err := Scan(context.Background(), root)
	if err != nil {
		t.Fatal(err)
	}
	if len(tree.ELF) != 1 {
		t.Fatalf("found %d ELF files, want 1 (symlinks are not followed)", len(tree.ELF))
	}
	dyn, _ := exec.Command("readelf", "-d", lib).Output()
	f := tree.ELF[0]
	if !strings.Contains(string(dyn), "Library soname: ["+f.Soname+"]") || f.Soname == "" {
		t.Errorf("soname %q not what readelf says:\n%s", f.Soname, dyn)
	}
	for _, n := range f.Needed {
		if !strings.Contains(string(dyn), "Shared library: ["+n+"]") {
			t.Errorf("NEEDED %s not in readelf's output", n)
		}
	}
	if got := strings.Count(string(dyn), "(NEEDED)"); got != len(f.Needed) {
		t.Errorf("%d NEEDED, readelf lists %d", len(f.Needed), got)
	}
	// The library itself provides its soname, so the tree needs only libc.
	for _, s := range tree.Sonames() {
		if s == f.Soname {
			t.Errorf("Sonames lists %s, which the tree provides", s)
		}
	}
}

func TestGenerateRejects(t *testing.T) {
	tree := &Tree{}
	tests := []struct {
		name string
		d    Description
		want string
	}{
		{"no release", Description{}, "release name"},
		{"bad wheel digest", Description{Release: Release{Name: "r", PyPyVersion: "1"}, Wheels: []Wheel{{Name: "pip", Version: "1", SHA256: "x"}}}, "wheel pip"},
		{"bad deb digest", Description{Release: Release{Name: "r", PyPyVersion: "1"}, Debs: []Deb{{Name: "pypy3", SHA256: ""}}}, "deb pypy3"},
	}
	for _, tt := range tests {
		if _, err := Generate(tree, tt.d); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
