package oci

import (
	"archive/tar"
	"debug/elf"
	"path/filepath"
	"strings"
	"testing"
)

func TestUsrMerge(t *testing.T) {
	tests := map[string]string{
		"lib/x86_64-linux-gnu/libc.so.6": "usr/lib/x86_64-linux-gnu/libc.so.6",
		"lib64/ld-linux-x86-64.so.2":     "usr/lib64/ld-linux-x86-64.so.2",
		"sbin/ldconfig":                  "usr/sbin/ldconfig",
		"bin":                            "usr/bin",
		"library/x":                      "library/x",
		"usr/lib/x":                      "usr/lib/x",
		"etc/ssl":                        "etc/ssl",
	}
	for in, want := range tests {
		if got := usrMerge(in); got != want {
			t.Errorf("usrMerge(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDropped(t *testing.T) {
	tests := []struct {
		path string
		data string
		typ  byte
		drop bool
	}{
		{"usr/share/doc/libc6/copyright", "", tar.TypeReg, false},
		{"usr/share/doc/libc6/changelog.Debian.gz", "", tar.TypeReg, true},
		{"usr/share/doc/libc6/examples/x", "", tar.TypeReg, true},
		{"usr/share/doc/libtinfo6", "", tar.TypeSymlink, false},
		{"usr/share/man/man8/ldconfig.8.gz", "", tar.TypeReg, true},
		{"usr/share/locale/de/LC_MESSAGES/gdbm.mo", "", tar.TypeReg, true},
		{"usr/share/lintian/overrides/libc6", "", tar.TypeReg, true},
		{"usr/lib/x86_64-linux-gnu/gconv/UTF-16.so", "", tar.TypeReg, true},
		{"usr/lib/locale/C.utf8/LC_CTYPE", "", tar.TypeReg, false},
		{"usr/sbin/update-ca-certificates", "#!/bin/sh\n", tar.TypeReg, true},
		{"usr/bin/getent", "\x7fELF", tar.TypeReg, false},
		{"usr/share/zoneinfo/Etc/UTC", "TZif", tar.TypeReg, false},
		{"etc/ca-certificates/update.d", "", tar.TypeDir, true},
	}
	for _, tt := range tests {
		if got, _ := dropped(tt.path, []byte(tt.data), tt.typ); got != tt.drop {
			t.Errorf("dropped(%q) = %v, want %v", tt.path, got, tt.drop)
		}
	}
}

func TestRootfsResolveAndConflicts(t *testing.T) {
	f := newRootfs()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.add("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", &node{typ: tar.TypeReg, mode: 0o755, data: []byte("ld"), pkg: "libc6"}))
	must(f.add("usr/lib64/ld-linux-x86-64.so.2", &node{typ: tar.TypeSymlink, link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", pkg: "libc6"}))
	must(f.add("lib", &node{typ: tar.TypeSymlink, link: "usr/lib"}))
	must(f.add("lib64", &node{typ: tar.TypeSymlink, link: "usr/lib64"}))
	// A package writing through a directory link lands where dpkg puts it.
	must(f.add("usr/share/doc/a/copyright", &node{typ: tar.TypeReg, data: []byte("a"), pkg: "a"}))
	must(f.add("usr/share/doc/b", &node{typ: tar.TypeSymlink, link: "a", pkg: "b"}))
	must(f.add("usr/share/doc/b/extra", &node{typ: tar.TypeReg, data: []byte("x"), pkg: "b"}))
	if _, n, _ := f.resolve("usr/share/doc/a/extra", false); n == nil {
		t.Errorf("a file added through a directory symlink is not in the link's target")
	}

	tests := []struct {
		path   string
		follow bool
		canon  string
		exists bool
	}{
		{"/lib64/ld-linux-x86-64.so.2", true, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", true},
		{"/lib64/ld-linux-x86-64.so.2", false, "usr/lib64/ld-linux-x86-64.so.2", true},
		{"lib/x86_64-linux-gnu/../x86_64-linux-gnu/ld-linux-x86-64.so.2", true, "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", true},
		{"/lib/missing/file", true, "usr/lib/missing/file", false},
	}
	for _, tt := range tests {
		canon, n, err := f.resolve(tt.path, tt.follow)
		if err != nil || canon != tt.canon || (n != nil) != tt.exists {
			t.Errorf("resolve(%q, %v) = %q, %v, %v; want %q, exists %v", tt.path, tt.follow, canon, n != nil, err, tt.canon, tt.exists)
		}
	}

	// Same bytes from two packages are one file; different bytes are an error.
	must(f.add("etc/services", &node{typ: tar.TypeReg, data: []byte("s"), pkg: "netbase"}))
	must(f.add("etc/services", &node{typ: tar.TypeReg, data: []byte("s"), pkg: "other"}))
	err := f.add("etc/services", &node{typ: tar.TypeReg, data: []byte("t"), pkg: "evil"})
	if err == nil || !strings.Contains(err.Error(), "netbase") || !strings.Contains(err.Error(), "evil") {
		t.Errorf("conflicting files: %v", err)
	}
	must(f.add("x", &node{typ: tar.TypeSymlink, link: "y"}))
	must(f.add("y", &node{typ: tar.TypeSymlink, link: "x"}))
	if _, _, err := f.resolve("x/z", true); err == nil {
		t.Errorf("a symlink loop resolved")
	}
}

func TestCheckLinks(t *testing.T) {
	a := archOf("amd64")
	base := func() *rootfs {
		f := newRootfs()
		f.add("usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", &node{typ: tar.TypeReg, data: makeELF(a.machine, "", nil), pkg: "libc6"})
		f.add("usr/lib/x86_64-linux-gnu/libc.so.6", &node{typ: tar.TypeReg, data: makeELF(a.machine, "", []string{"ld-linux-x86-64.so.2"}), pkg: "libc6"})
		f.add("usr/lib64/ld-linux-x86-64.so.2", &node{typ: tar.TypeSymlink, link: "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"})
		f.add("lib", &node{typ: tar.TypeSymlink, link: "usr/lib"})
		f.add("lib64", &node{typ: tar.TypeSymlink, link: "usr/lib64"})
		return f
	}
	tests := []struct {
		name   string
		modify func(f *rootfs)
		needs  elfNeeds
		want   string
	}{
		{"complete", nil, elfNeeds{Needed: map[string][]string{"libc.so.6": {"bin/pypy3.9"}}, Interp: map[string][]string{a.interp: {"bin/pypy3.9"}}}, ""},
		{"no loader", func(f *rootfs) { delete(f.nodes, "lib64") }, elfNeeds{Interp: map[string][]string{a.interp: {"bin/pypy3.9"}}}, "dynamic loader /lib64/ld-linux-x86-64.so.2"},
		{"missing library", nil, elfNeeds{Needed: map[string][]string{"libssl.so.3": {"lib/pypy3.9/_ssl.so"}}}, "needs libssl.so.3, which no base package provides (Debian ships it in libssl3)"},
		{"base library's own need", func(f *rootfs) {
			f.add("usr/lib/x86_64-linux-gnu/libffi.so.8", &node{typ: tar.TypeReg, data: makeELF(a.machine, "", []string{"libmissing.so.1"}), pkg: "libffi8"})
		}, elfNeeds{}, "(from libffi8) needs libmissing.so.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			if tt.modify != nil {
				tt.modify(f)
			}
			err := f.checkLinks(&tt.needs, a.triplet)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("checkLinks: %v, want %q", err, tt.want)
			}
		})
	}
}

func TestScanTree(t *testing.T) {
	root := t.TempDir()
	makeTree(t, root, "arm64", "libssl.so.3")
	n, err := scanTree(root, "arm64")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := n.Needed["libpypy3.9-c.so"]; ok {
		t.Errorf("a library the tree ships counts as needed: %v", n.Needed)
	}
	if got := n.Needed["libssl.so.3"]; len(got) != 1 || got[0] != "bin/libpypy3.9-c.so" {
		t.Errorf("libssl.so.3 needed by %v", got)
	}
	if got := n.Interp["/lib/ld-linux-aarch64.so.1"]; len(got) != 1 || got[0] != "bin/pypy3.9" {
		t.Errorf("loader: %v", n.Interp)
	}
	if _, err := scanTree(root, "amd64"); err == nil || !strings.Contains(err.Error(), "wrong tree") {
		t.Errorf("an arm64 tree scanned as amd64: %v", err)
	}
	// The hand-made ELF must read like a real one.
	f, err := elf.Open(filepath.Join(root, "bin", "pypy3.9"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if libs, _ := f.ImportedLibraries(); len(libs) != 2 {
		t.Errorf("test ELF has NEEDED %v", libs)
	}
}
