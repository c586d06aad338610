//go:build integration

package e2e

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// The cffi modules a Debian-imported VM can rebuild (Debian's pypy3-lib
// lacks the C sources of _ssl, _blake2 and _sha3, which keep Debian's
// builds), by file name prefix.
var rebuiltModules = []string{"_sqlite3_cffi.", "_lzma_cffi.", "_curses_cffi.", "_gdbm_cffi.", "_syslog_cffi.", "_resource_cffi.", "_audioop_cffi.", "_pwdgrp_cffi."}

// glibcOnly are the only host files the portable sandbox gets.
var glibcOnly = []string{"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1"}

const portableProbe = `
import json, ssl, sqlite3, lzma, curses, dbm.gnu, sys
maps = sorted({l.split()[-1] for l in open("/proc/self/maps") if ".so" in l})
lzma.decompress(lzma.compress(b"x"))
db = sqlite3.connect(":memory:")
g = dbm.gnu.open("/tmp/g", "c"); g[b"k"] = b"v"; g.close()
print(json.dumps({"maps": maps, "openssl": ssl.OPENSSL_VERSION,
    "sqlite": db.execute("select sqlite_version()").fetchone()[0], "exe": sys.executable}))
`

// TestPortableRebuiltCFFI is issue 8's done-when for item 5: a Debian VM
// built with --rebuild-cffi --portable has cffi modules compiled here (not
// the .deb's build-ids), and runs ssl, sqlite3, lzma, curses and dbm.gnu
// in a sandbox whose only host files are glibc's. The same tree without
// --portable fails there, which shows the sandbox really lacks the libs.
func TestPortableRebuiltCFFI(t *testing.T) {
	needTools(t, "bwrap", "patchelf", "cc", "dpkg-deb")
	target := hostTargetName(t)
	work := t.TempDir()
	e := env(t)
	out := mustRun(t, work, e, "build", "--target", target, "--formats", "tar.gz", "--out", "dist", "--rebuild-cffi", "--portable", "--json")
	rep := parseReport(t, out.stdout)
	stages := map[string]bool{}
	for _, s := range rep.Stages {
		stages[s.Name] = true
	}
	if !stages["cffi"] || !stages["portable"] {
		t.Fatalf("stages %v lack cffi and portable", rep.Stages)
	}
	tree := unpackTree(t, filepath.Join(work, "dist"))

	// Build-ids: the rebuilt modules are not the .deb's.
	debs, _ := filepath.Glob(filepath.Join(testCache, "pypyctl", "downloads", "debian", "pypy3_*_"+runtime.GOARCH+".deb"))
	if len(debs) != 1 {
		t.Fatalf("want one pypy3 .deb in the test cache, got %v", debs)
	}
	debRoot := t.TempDir()
	sh(t, work, e, "dpkg-deb -x "+debs[0]+" "+debRoot)
	stdlib := filepath.Join(tree, "lib", "pypy3.9")
	for _, prefix := range rebuiltModules {
		mods, _ := filepath.Glob(filepath.Join(stdlib, prefix+"*.so"))
		debMods := findFiles(t, debRoot, prefix)
		if len(mods) != 1 || len(debMods) != 1 {
			t.Errorf("%s: tree has %v, .deb has %v", prefix, mods, debMods)
			continue
		}
		ours, theirs := buildID(t, mods[0]), buildID(t, debMods[0])
		if ours == "" || ours == theirs {
			t.Errorf("%s: build-id %q, .deb's %q: not rebuilt here", filepath.Base(mods[0]), ours, theirs)
		}
	}

	deps, err := os.ReadFile(filepath.Join(tree, "lib", "PYPY_PORTABLE_DEPS.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, lib := range []string{"libssl.so.3", "libcrypto.so.3", "libsqlite3.so.0", "liblzma.so.5", "libncursesw.so.6", "libgdbm.so.6", "libffi.so.8", "libexpat.so.1"} {
		if !strings.Contains(string(deps), "\n"+lib+"\t") {
			t.Errorf("PYPY_PORTABLE_DEPS.txt lacks %s:\n%s", lib, deps)
		}
		if _, err := os.Stat(filepath.Join(tree, "lib", lib)); err != nil {
			t.Errorf("bundled %s: %v", lib, err)
		}
	}
	for _, lib := range glibcOnly {
		if _, err := os.Stat(filepath.Join(tree, "lib", lib)); err == nil {
			t.Errorf("glibc's %s was bundled", lib)
		}
	}

	got, err := glibcSandbox(t, tree, "/opt/pypy/bin/pypy3", "-c", portableProbe)
	if err != nil {
		t.Fatalf("portable tree in a glibc-only sandbox: %v\n%s", err, got)
	}
	var probe struct {
		Maps    []string `json:"maps"`
		OpenSSL string   `json:"openssl"`
		SQLite  string   `json:"sqlite"`
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &probe); err != nil {
		t.Fatalf("probe output: %v\n%s", err, got)
	}
	for _, lib := range []string{"libssl.so.3", "libcrypto.so.3", "libsqlite3.so.0", "liblzma.so.5", "libncursesw.so.6", "libgdbm.so.6"} {
		if !slices.Contains(probe.Maps, "/opt/pypy/lib/"+lib) {
			t.Errorf("%s not loaded from the tree's lib/; mapped: %v", lib, probe.Maps)
		}
	}
	for _, m := range probe.Maps {
		if !strings.HasPrefix(m, "/opt/pypy/") && !isGlibc(m) {
			t.Errorf("sandbox mapped %s, neither the tree's nor glibc's", m)
		}
	}
	t.Logf("glibc-only sandbox: %s, sqlite %s, %d shared objects mapped", probe.OpenSSL, probe.SQLite, len(probe.Maps))

	// Control: the plain tree needs the host's libraries.
	plain := mustRun(t, work, e, "build", "--target", target, "--formats", "tar.gz", "--out", "plain", "--json")
	parseReport(t, plain.stdout)
	plainTree := unpackTree(t, filepath.Join(work, "plain"))
	if out, err := glibcSandbox(t, plainTree, "/opt/pypy/bin/pypy3", "-c", "import ssl"); err == nil {
		t.Fatalf("the tree built without --portable ran in the glibc-only sandbox, so it proves nothing:\n%s", out)
	}
}

// TestStripKeepsDebugLink builds with --strip and checks that the shipped
// ELF files carry a gnu-debuglink and no debug sections, and still run.
func TestStripKeepsDebugLink(t *testing.T) {
	needTools(t, "objcopy", "strip")
	target := hostTargetName(t)
	work := t.TempDir()
	e := env(t)
	parseReport(t, mustRun(t, work, e, "build", "--target", target, "--formats", "tar.gz", "--out", "dist", "--strip", "--json").stdout)
	tree := unpackTree(t, filepath.Join(work, "dist"))
	// The debug info ships beside the archive, under <base>-debug/ by the
	// tree's paths.
	dbg := t.TempDir()
	sh(t, dbg, nil, "tar xzf "+filepath.Join(work, "dist", "pypy3.9-v7.3.11-"+map[string]string{"linux-amd64": "linux64", "linux-arm64": "aarch64"}[target]+"-debug.tar.gz"))
	for _, rel := range []string{"bin/pypy3.9", "bin/libpypy3.9-c.so"} {
		f, err := elf.Open(filepath.Join(tree, rel))
		if err != nil {
			t.Fatal(err)
		}
		link := f.Section(".gnu_debuglink")
		var name []byte
		var crc uint32
		if link != nil {
			b, _ := link.Data()
			name, _, _ = bytes.Cut(b, []byte{0})
			// The CRC32 of the debug file follows the name, 4-byte aligned.
			if off := (len(name) + 4) &^ 3; len(b) >= off+4 {
				crc = binary.LittleEndian.Uint32(b[off : off+4])
			}
		}
		debugFile, err := os.ReadFile(filepath.Join(dbg, filepath.Base(tree)+"-debug", rel+".debug"))
		if err != nil {
			t.Errorf("debug archive: %v", err)
		} else if crc32.ChecksumIEEE(debugFile) != crc {
			t.Errorf("%s: the debug archive's %s.debug is not the one its debuglink names (crc %08x, want %08x)", rel, rel, crc32.ChecksumIEEE(debugFile), crc)
		}
		for _, s := range f.Sections {
			if strings.HasPrefix(s.Name, ".debug_") {
				t.Errorf("%s still has %s", rel, s.Name)
			}
		}
		f.Close()
		if string(name) != filepath.Base(rel)+".debug" {
			t.Errorf("%s: gnu-debuglink %q, want %s.debug", rel, name, filepath.Base(rel))
		}
	}
	sh(t, tree, e, "bin/pypy3 -c 'import sqlite3, ssl'")
}

func unpackTree(t *testing.T, dist string) string {
	t.Helper()
	archives, _ := filepath.Glob(filepath.Join(dist, "*.tar.gz"))
	archives = slices.DeleteFunc(archives, func(a string) bool { return strings.HasSuffix(a, "-debug.tar.gz") })
	if len(archives) != 1 {
		t.Fatalf("want one tar.gz in %s, got %v", dist, archives)
	}
	where := t.TempDir()
	sh(t, where, nil, "tar xzf "+archives[0])
	return filepath.Join(where, strings.TrimSuffix(filepath.Base(archives[0]), ".tar.gz"))
}

// glibcSandbox runs argv with the tree at /opt/pypy on an empty root
// holding only the tree's ELF interpreter and glibc's libraries.
func glibcSandbox(t *testing.T, tree string, argv ...string) (string, error) {
	t.Helper()
	return glibcSandboxExe(t, tree, "bin/pypy3.9", argv...)
}

// glibcSandboxExe is glibcSandbox for a tree whose launcher is exe.
func glibcSandboxExe(t *testing.T, tree, exe string, argv ...string) (string, error) {
	t.Helper()
	f, err := elf.Open(filepath.Join(tree, filepath.FromSlash(exe)))
	if err != nil {
		t.Fatal(err)
	}
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			p.ReadAt(b, 0)
			interp = string(bytes.TrimRight(b, "\x00"))
		}
	}
	f.Close()
	args := []string{"--unshare-all", "--die-with-parent", "--tmpfs", "/", "--proc", "/proc", "--dev", "/dev",
		"--tmpfs", "/tmp", "--clearenv", "--setenv", "PATH", "/opt/pypy/bin", "--setenv", "TERM", "xterm",
		"--ro-bind", tree, "/opt/pypy", "--ro-bind", interp, interp}
	triplet := map[string]string{"amd64": "x86_64-linux-gnu", "arm64": "aarch64-linux-gnu"}[runtime.GOARCH]
	for _, lib := range glibcOnly {
		p := filepath.Join("/lib", triplet, lib)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("host glibc: %v", err)
		}
		args = append(args, "--ro-bind", p, p)
	}
	out, err := exec.Command("bwrap", append(args, argv...)...).CombinedOutput()
	return string(out), err
}

func isGlibc(path string) bool {
	base := filepath.Base(path)
	if strings.HasPrefix(base, "ld-linux") {
		return true
	}
	return slices.Contains(glibcOnly, base)
}

func findFiles(t *testing.T, root, prefix string) []string {
	t.Helper()
	var out []string
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && strings.HasPrefix(info.Name(), prefix) && strings.HasSuffix(p, ".so") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// buildID reads the NT_GNU_BUILD_ID note of an ELF file.
func buildID(t *testing.T, path string) string {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := f.Section(".note.gnu.build-id")
	if s == nil {
		return ""
	}
	b, err := s.Data()
	if err != nil || len(b) < 16 {
		return ""
	}
	// namesz, descsz, type, then "GNU\0" and the id.
	descsz := f.ByteOrder.Uint32(b[4:8])
	return hex.EncodeToString(b[16 : 16+descsz])
}

// TestPortableReproducible builds --rebuild-cffi --portable --strip twice,
// each with a store of its own (so every post-VM stage really runs twice,
// compiling in different directories), and compares the archives.
func TestPortableReproducible(t *testing.T) {
	needTools(t, "patchelf", "cc", "objcopy", "strip")
	target := hostTargetName(t)
	var sums [2]string
	for i := range sums {
		work := t.TempDir()
		rep := parseReport(t, mustRun(t, work, env(t), "build", "--target", target, "--formats", "tar.gz", "--out", "dist",
			"--store", filepath.Join(work, "store"), "--rebuild-cffi", "--portable", "--strip", "--json").stdout)
		for _, s := range rep.Stages {
			if (s.Name == "cffi" || s.Name == "portable" || s.Name == "strip") && s.Hit {
				t.Fatalf("run %d: stage %s was a store hit in a fresh store", i, s.Name)
			}
		}
		for _, a := range rep.Artifacts {
			if a.Kind == "archive" {
				sums[i] = a.SHA256
			}
		}
	}
	if sums[0] == "" || sums[0] != sums[1] {
		t.Fatalf("archives differ between two builds: %s vs %s", sums[0], sums[1])
	}
}
