package oci

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/internal/soname"
	"github.com/pypyctl/pypyctl/platforms"
)

// basePackages are in every image, whatever the tree links against:
// the C library and loader, libc-bin for the compiled C.UTF-8 locale
// (LANG=C.UTF-8 and setlocale(LC_ALL, "") work) and ldconfig/getent,
// CA certificates (ssl), time zones (zoneinfo), /etc/services and
// /etc/protocols (socket), and terminfo entries for the REPL's
// curses-based line editor.
func basePackages() []string {
	return []string{"ca-certificates", "libc-bin", "libc6", "ncurses-base", "netbase", "tzdata"}
}

// scriptOnly names dependencies that only serve maintainer scripts, which
// never run in an image built without dpkg. Leaving them out keeps perl
// and the openssl CLI out of the image.
func scriptOnly(name string) (why string, ok bool) {
	switch name {
	case "debconf", "debconf-2.0", "cdebconf":
		return "debconf only asks install-time questions", true
	case "openssl":
		return "ca-certificates needs it only for update-ca-certificates; pypyctl builds the bundle itself", true
	case "perl-base", "dpkg", "install-info":
		return "only maintainer scripts run it", true
	}
	return "", false
}

// elfMachine is the ELF machine of each Go architecture pypyctl images.
func elfMachine(goarch string) (elf.Machine, bool) {
	switch goarch {
	case "amd64":
		return elf.EM_X86_64, true
	case "arm64":
		return elf.EM_AARCH64, true
	case "386":
		return elf.EM_386, true
	case "s390x":
		return elf.EM_S390, true
	}
	return 0, false
}

// elfNeeds is what the ELF files of a directory tree ask of the system.
type elfNeeds struct {
	// Needed maps each shared library a file needs to the files needing
	// it (relative paths), leaving out libraries the tree itself ships.
	Needed map[string][]string
	// Interp are the dynamic loaders (PT_INTERP) the executables name.
	Interp map[string][]string
}

// scanTree reads every ELF file of a tree and checks it is built for
// goarch: a tree of the wrong architecture would only fail at run time.
func scanTree(root, goarch string) (*elfNeeds, error) {
	want, ok := elfMachine(goarch)
	if !ok {
		return nil, fmt.Errorf("no ELF machine known for %s", goarch)
	}
	n := &elfNeeds{Needed: map[string][]string{}, Interp: map[string][]string{}}
	provided := map[string]bool{}
	needs := map[string][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		provided[d.Name()] = true
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		magic := make([]byte, 4)
		if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, []byte(elf.ELFMAG)) {
			return nil
		}
		ef, err := elf.NewFile(f)
		if err != nil {
			return fmt.Errorf("read ELF %s: %w", rel, err)
		}
		if ef.Machine != want {
			return fmt.Errorf("%s is built for %s, not for %s: wrong tree for this target", rel, ef.Machine, goarch)
		}
		libs, err := elfInfo(ef)
		if err != nil {
			return fmt.Errorf("read ELF %s: %w", rel, err)
		}
		for _, l := range libs.needed {
			needs[l] = append(needs[l], rel)
		}
		if libs.interp != "" {
			n.Interp[libs.interp] = append(n.Interp[libs.interp], rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan tree %s: %w", root, err)
	}
	for lib, files := range needs {
		if !provided[lib] {
			sort.Strings(files)
			n.Needed[lib] = files
		}
	}
	return n, nil
}

type elfLinks struct {
	needed []string
	interp string
}

func elfInfo(ef *elf.File) (elfLinks, error) {
	var out elfLinks
	libs, err := ef.ImportedLibraries()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return out, err
	}
	out.needed = libs
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return out, err
			}
			out.interp = strings.TrimRight(string(b), "\x00")
		}
	}
	return out, nil
}

// roots are the packages resolution starts from, each with why it is there.
func roots(needs *elfNeeds, runtimeDepends, extra []string) (map[string]string, error) {
	out := map[string]string{}
	for _, p := range basePackages() {
		out[p] = "base"
	}
	interp, err := debrepo.PackageNames(runtimeDepends)
	if err != nil {
		return nil, fmt.Errorf("the interpreter's Depends: %w", err)
	}
	for _, p := range interp {
		out[p] = "runtime dependency of the interpreter"
	}
	for _, p := range extra {
		out[p] = "asked for"
	}
	for _, lib := range slices.Sorted(maps.Keys(needs.Needed)) {
		// A library missing from soname.Package's table may come with a package above;
		// the link check after unpacking says so if not.
		if pkg, ok := soname.Package(lib); ok {
			if _, dup := out[pkg]; !dup {
				out[pkg] = fmt.Sprintf("ships %s, needed by %s", lib, needs.Needed[lib][0])
			}
		}
	}
	return out, nil
}

// pins returns the locked base packages of arch. An architecture the lock
// has no entry for is resolved and recorded (the first run); update
// re-resolves it. Otherwise the lock must name every root.
func pins(ctx context.Context, a Archive, l *Lock, arch string, rootSet map[string]string, update bool, log *slog.Logger) (pkgs []platforms.DebPackage, changed bool, err error) {
	locked := l.Arch(arch)
	if len(locked) > 0 && !update {
		var missing []string
		for _, n := range slices.Sorted(maps.Keys(rootSet)) {
			if _, ok := locked[n]; !ok {
				missing = append(missing, fmt.Sprintf("%s (%s)", n, rootSet[n]))
			}
		}
		if len(missing) > 0 {
			return nil, false, fmt.Errorf("OCI lock %s has no %s pin for %s: rerun with --update-lock (and --lock FILE)", l.Name(), arch, strings.Join(missing, ", "))
		}
		return l.Packages[arch], false, nil
	}
	if l.Path == "" {
		return nil, false, fmt.Errorf("the embedded OCI lock has no %s packages and cannot be rewritten: pass --lock FILE to resolve and record them", arch)
	}
	logging.OrDiscard(log).Info("resolving base packages from apt", "arch", arch, "roots", len(rootSet))
	pkgs, err = debrepo.Resolve(ctx, a, arch, rootSet, isScriptOnly)
	if err != nil {
		return nil, false, err
	}
	for _, p := range pkgs {
		if p.SHA256 == "" {
			return nil, false, fmt.Errorf("apt gives no SHA256 for %s %s", p.Name, p.Version)
		}
	}
	l.set(arch, pkgs)
	return l.Packages[arch], true, nil
}

// fetched is one verified .deb of a base layer.
type fetched = debrepo.Fetched

func fetch(ctx context.Context, a Archive, cacheDir string, pkgs []platforms.DebPackage, lockName string, log *slog.Logger) ([]fetched, error) {
	return debrepo.Fetch(ctx, a, cacheDir, pkgs, lockName, log)
}

func checkClosure(debs []fetched, lockName, arch string) error {
	return debrepo.CheckClosure(debs, lockName, arch, isScriptOnly)
}

func resolve(ctx context.Context, a Archive, arch string, rootSet map[string]string) ([]platforms.DebPackage, error) {
	return debrepo.Resolve(ctx, a, arch, rootSet, isScriptOnly)
}

func isScriptOnly(name string) bool { _, ok := scriptOnly(name); return ok }
