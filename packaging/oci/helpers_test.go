package oci

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

// makeELF returns a minimal 64-bit little-endian ELF executable that
// debug/elf (and so scanTree) reads like a real one: a PT_INTERP naming
// the loader and a dynamic section with DT_NEEDED entries.
func makeELF(machine elf.Machine, interp string, needed []string) []byte {
	le := binary.LittleEndian
	// Layout: ehdr(64) | 2 phdrs (112) | interp | dynstr | dynamic | shstrtab | 5 shdrs
	dynstr := []byte{0}
	var offs []uint64
	for _, n := range needed {
		offs = append(offs, uint64(len(dynstr)))
		dynstr = append(append(dynstr, n...), 0)
	}
	var dynamic bytes.Buffer
	for _, o := range offs {
		binary.Write(&dynamic, le, uint64(elf.DT_NEEDED))
		binary.Write(&dynamic, le, o)
	}
	binary.Write(&dynamic, le, uint64(elf.DT_NULL))
	binary.Write(&dynamic, le, uint64(0))
	shstr := []byte("\x00.interp\x00.dynstr\x00.dynamic\x00.shstrtab\x00")
	interpB := append([]byte(interp), 0)

	const ehsize, phsize, shsize = 64, 56, 64
	offInterp := uint64(ehsize + 2*phsize)
	offDynstr := offInterp + uint64(len(interpB))
	offDynamic := (offDynstr + uint64(len(dynstr)) + 7) &^ 7
	offShstr := offDynamic + uint64(dynamic.Len())
	offSh := (offShstr + uint64(len(shstr)) + 7) &^ 7

	var b bytes.Buffer
	ident := [16]byte{0x7f, 'E', 'L', 'F', byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)}
	b.Write(ident[:])
	binary.Write(&b, le, uint16(elf.ET_EXEC))
	binary.Write(&b, le, uint16(machine))
	binary.Write(&b, le, uint32(elf.EV_CURRENT))
	binary.Write(&b, le, uint64(0))      // entry
	binary.Write(&b, le, uint64(ehsize)) // phoff
	binary.Write(&b, le, offSh)          // shoff
	binary.Write(&b, le, uint32(0))      // flags
	binary.Write(&b, le, uint16(ehsize))
	binary.Write(&b, le, uint16(phsize))
	binary.Write(&b, le, uint16(2))
	binary.Write(&b, le, uint16(shsize))
	binary.Write(&b, le, uint16(5))
	binary.Write(&b, le, uint16(4)) // shstrndx
	prog := func(typ elf.ProgType, off, size uint64) {
		binary.Write(&b, le, uint32(typ))
		binary.Write(&b, le, uint32(elf.PF_R))
		binary.Write(&b, le, off)
		binary.Write(&b, le, off) // vaddr
		binary.Write(&b, le, off) // paddr
		binary.Write(&b, le, size)
		binary.Write(&b, le, size)
		binary.Write(&b, le, uint64(1))
	}
	prog(elf.PT_INTERP, offInterp, uint64(len(interpB)))
	prog(elf.PT_DYNAMIC, offDynamic, uint64(dynamic.Len()))
	pad := func(to uint64) {
		for uint64(b.Len()) < to {
			b.WriteByte(0)
		}
	}
	b.Write(interpB)
	b.Write(dynstr)
	pad(offDynamic)
	b.Write(dynamic.Bytes())
	b.Write(shstr)
	pad(offSh)
	sect := func(name uint32, typ elf.SectionType, off, size uint64, link uint32, entsize uint64) {
		binary.Write(&b, le, name)
		binary.Write(&b, le, uint32(typ))
		binary.Write(&b, le, uint64(elf.SHF_ALLOC))
		binary.Write(&b, le, off) // addr
		binary.Write(&b, le, off)
		binary.Write(&b, le, size)
		binary.Write(&b, le, link)
		binary.Write(&b, le, uint32(0))
		binary.Write(&b, le, uint64(1))
		binary.Write(&b, le, entsize)
	}
	sect(0, elf.SHT_NULL, 0, 0, 0, 0)
	sect(1, elf.SHT_PROGBITS, offInterp, uint64(len(interpB)), 0, 0)
	sect(9, elf.SHT_STRTAB, offDynstr, uint64(len(dynstr)), 0, 0)
	sect(17, elf.SHT_DYNAMIC, offDynamic, uint64(dynamic.Len()), 2, 16)
	sect(26, elf.SHT_STRTAB, offShstr, uint64(len(shstr)), 0, 0)
	return b.Bytes()
}

// entry is one file of a test package or tree.
type entry struct {
	name string
	typ  byte
	mode int64
	body string
	link string
}

func reg(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o644, body: body}
}
func exe(name, body string) entry {
	return entry{name: name, typ: tar.TypeReg, mode: 0o755, body: body}
}
func dir(name string) entry { return entry{name: name, typ: tar.TypeDir, mode: 0o755} }
func sym(name, target string) entry {
	return entry{name: name, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

func tarGz(t *testing.T, entries []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, Size: int64(len(e.body)), Uname: "builder", Uid: 1234}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return b.Bytes()
}

// makeDeb writes a .deb (ar of debian-binary, control.tar.gz, data.tar.gz).
func makeDeb(t *testing.T, path string, control map[string]string, files []entry) {
	t.Helper()
	var c strings.Builder
	keys := make([]string, 0, len(control))
	for k := range control {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(&c, "Package: %s\n", control["Package"])
	for _, k := range keys {
		if k != "Package" {
			fmt.Fprintf(&c, "%s: %s\n", k, control[k])
		}
	}
	members := []struct {
		name string
		body []byte
	}{
		{"debian-binary", []byte("2.0\n")},
		{"control.tar.gz", tarGz(t, []entry{reg("./control", c.String())})},
		{"data.tar.gz", tarGz(t, files)},
	}
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		fmt.Fprintf(&b, "%-16s%-12s%-6s%-6s%-8s%-10d`\n", m.name, "0", "0", "0", "100644", len(m.body))
		b.Write(m.body)
		if len(m.body)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakePkg is a package the fake archive serves.
type fakePkg struct {
	name, version, arch string
	depends             string
	files               []entry
}

// fakeArchive is an apt stand-in serving .debs the test made, so the
// resolver, the lock and the layers are exercised without a network.
type fakeArchive struct {
	dir   string
	pkgs  map[string]Candidate // arch/name
	paths map[string]string    // arch/name → .deb
	// shows counts Show calls, to see when the lock was used instead.
	shows int
}

func newFakeArchive(t *testing.T, pkgs []fakePkg) *fakeArchive {
	t.Helper()
	a := &fakeArchive{dir: t.TempDir(), pkgs: map[string]Candidate{}, paths: map[string]string{}}
	for _, p := range pkgs {
		a.add(t, p)
	}
	return a
}

func (a *fakeArchive) add(t *testing.T, p fakePkg) {
	t.Helper()
	ctl := map[string]string{"Package": p.name, "Version": p.version, "Architecture": p.arch, "Description": "test package\n of " + p.name}
	if p.depends != "" {
		ctl["Depends"] = p.depends
	}
	path := filepath.Join(a.dir, fmt.Sprintf("%s_%s_%s.deb", p.name, strings.ReplaceAll(p.version, ":", "%3a"), p.arch))
	makeDeb(t, path, ctl, p.files)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	a.pkgs[p.arch+"/"+p.name] = Candidate{
		DebPackage: platforms.DebPackage{Name: p.name, Version: p.version, Arch: p.arch, SHA256: hex.EncodeToString(sum[:])},
		Depends:    p.depends,
	}
	a.paths[p.arch+"/"+p.name] = path
}

func (a *fakeArchive) Show(_ context.Context, arch string, names []string) (map[string]Candidate, error) {
	a.shows++
	out := map[string]Candidate{}
	for _, n := range names {
		if c, ok := a.pkgs[arch+"/"+n]; ok {
			out[n] = c
		} else if c, ok := a.pkgs["all/"+n]; ok {
			out[n] = c
		}
	}
	return out, nil
}

func (a *fakeArchive) Download(_ context.Context, dir string, pkgs []platforms.DebPackage) error {
	for _, p := range pkgs {
		src, ok := a.paths[p.Arch+"/"+p.Name]
		if !ok || a.pkgs[p.Arch+"/"+p.Name].Version != p.Version {
			return fmt.Errorf("E: Version '%s' for '%s' was not found", p.Version, p.Name)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

type testArch struct {
	machine elf.Machine
	interp  string
	triplet string
}

// archOf gives the loader and library paths of a Debian architecture, as
// bookworm has them.
func archOf(arch string) testArch {
	if arch == "arm64" {
		return testArch{elf.EM_AARCH64, "/lib/ld-linux-aarch64.so.1", "aarch64-linux-gnu"}
	}
	return testArch{elf.EM_X86_64, "/lib64/ld-linux-x86-64.so.2", "x86_64-linux-gnu"}
}

// basePkgs is a small Debian: what basePackages names plus libffi8
// (which the test trees need), with bookworm's shapes: libc6 ships its
// loader under /lib and /lib64, ca-certificates depends on openssl and
// debconf, documentation and scripts to be dropped.
func basePkgs(arch string) []fakePkg {
	a := archOf(arch)
	libdir := "./lib/" + a.triplet + "/"
	ldso := filepath.Base(a.interp)
	libc6 := []entry{
		dir("./lib/"), dir("./lib/" + a.triplet + "/"),
		exe(libdir+ldso, string(makeELF(a.machine, "", nil))),
		reg(libdir+"libc.so.6", string(makeELF(a.machine, "", []string{ldso}))),
		reg(libdir+"libm.so.6", string(makeELF(a.machine, "", []string{"libc.so.6"}))),
		dir("./usr/share/doc/libc6/"),
		reg("./usr/share/doc/libc6/copyright", "glibc licence\n"),
		reg("./usr/share/doc/libc6/changelog.Debian.gz", "changes"),
		reg("./usr/share/lintian/overrides/libc6", "x"),
		reg("./usr/lib/"+a.triplet+"/gconv/UTF-16.so", "charset"),
	}
	if arch == "amd64" {
		libc6 = append(libc6, dir("./lib64/"), sym("./lib64/"+ldso, "/lib/"+a.triplet+"/"+ldso))
	} else {
		libc6 = append(libc6, sym("./lib/"+ldso, a.triplet+"/"+ldso))
	}
	return []fakePkg{
		{name: "libc6", version: "2.36-9+deb12u14", arch: arch, depends: "libgcc-s1", files: libc6},
		{name: "libgcc-s1", version: "12.2.0-14", arch: arch, depends: "gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)", files: []entry{
			reg("./lib/"+a.triplet+"/libgcc_s.so.1", string(makeELF(a.machine, "", []string{"libc.so.6"}))),
		}},
		{name: "gcc-12-base", version: "12.2.0-14", arch: arch, files: []entry{reg("./usr/share/doc/gcc-12-base/copyright", "gcc")}},
		{name: "libc-bin", version: "2.36-9+deb12u14", arch: arch, depends: "libc6 (>> 2.36), libc6 (<< 2.37)", files: []entry{
			exe("./sbin/ldconfig", string(makeELF(a.machine, a.interp, []string{"libc.so.6"}))),
			exe("./usr/bin/ldd", "#!/bin/bash\necho ldd\n"),
			reg("./usr/lib/locale/C.utf8/LC_CTYPE", "ctype"),
		}},
		{name: "libffi8", version: "3.4.4-1", arch: arch, depends: "libc6 (>= 2.34)", files: []entry{
			reg("./usr/lib/"+a.triplet+"/libffi.so.8.1.2", string(makeELF(a.machine, "", []string{"libc.so.6"}))),
			sym("./usr/lib/"+a.triplet+"/libffi.so.8", "libffi.so.8.1.2"),
		}},
		{name: "ca-certificates", version: "20250419", arch: "all", depends: "openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0", files: []entry{
			reg("./usr/share/ca-certificates/mozilla/B_Root.crt", "-----BEGIN CERTIFICATE-----\nBBBB\n-----END CERTIFICATE-----"),
			reg("./usr/share/ca-certificates/mozilla/A_Root.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
			exe("./usr/sbin/update-ca-certificates", "#!/bin/sh\nexit 0\n"),
			dir("./etc/ca-certificates/update.d/"),
			dir("./etc/ssl/certs/"),
		}},
		{name: "tzdata", version: "2026f", arch: "all", depends: "debconf (>= 0.5) | debconf-2.0", files: []entry{
			reg("./usr/share/zoneinfo/Etc/UTC", "TZif2 UTC"),
			sym("./usr/share/zoneinfo/UTC", "Etc/UTC"),
			reg("./usr/share/man/man8/tzconfig.8.gz", "man"),
		}},
		{name: "netbase", version: "6.4", arch: "all", files: []entry{reg("./etc/services", "https 443/tcp\n"), reg("./etc/protocols", "tcp 6 TCP\n")}},
		{name: "ncurses-base", version: "6.4-4", arch: "all", files: []entry{reg("./lib/terminfo/x/xterm", "terminfo")}},
		{name: "openssl", version: "3.0.22", arch: arch, depends: "libc6", files: []entry{exe("./usr/bin/openssl", "elf")}},
		{name: "debconf", version: "1.5.82", arch: "all", depends: "perl-base", files: []entry{reg("./usr/share/debconf/confmodule", "x")}},
	}
}

// makeTree writes a release tree like assemble's: a launcher naming the
// loader, libpypy needing libffi, symlinks, the stdlib.
func makeTree(t *testing.T, root, arch string, needed ...string) {
	t.Helper()
	a := archOf(arch)
	files := map[string]string{
		"bin/pypy3.9":                          string(makeELF(a.machine, a.interp, []string{"libpypy3.9-c.so", "libc.so.6"})),
		"bin/libpypy3.9-c.so":                  string(makeELF(a.machine, "", append([]string{"libffi.so.8", "libm.so.6", "libc.so.6"}, needed...))),
		"lib/pypy3.9/os.py":                    "import sys\n",
		"lib/pypy3.9/site-packages/README.txt": "site\n",
		"include/pypy3.9/Python.h":             "/* header */\n",
		"LICENSE":                              "MIT\n",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if name == "bin/pypy3.9" {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range []string{"pypy3", "python3", "pypy"} {
		if err := os.Symlink("pypy3.9", filepath.Join(root, "bin", l)); err != nil {
			t.Fatal(err)
		}
	}
}
