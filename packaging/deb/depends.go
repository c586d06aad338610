package deb

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"pault.ag/go/debian/dependency"

	"github.com/pypyctl/pypyctl/internal/soname"
)

// Linkage is what the ELF files of a tree link against.
type Linkage struct {
	// Needed maps each soname the tree does not ship itself to the
	// tree-relative paths of the ELF files that need it.
	Needed map[string][]string `json:"needed"`
	// Bundled are the sonames (or file names) NEEDED and found in the tree.
	Bundled []string `json:"bundled,omitempty"`
	// GLIBC is the newest GLIBC_x.y symbol version any file needs ("2.34").
	GLIBC string `json:"glibc,omitempty"`
	// ELFFiles counts the ELF files scanned.
	ELFFiles int `json:"elf_files"`
}

var debianArchOfMachine = map[elf.Machine]string{
	elf.EM_X86_64:  "amd64",
	elf.EM_AARCH64: "arm64",
	elf.EM_386:     "i386",
	elf.EM_S390:    "s390x",
}

// ScanTree reads every ELF file under root (debug/elf; symlinks are not
// followed) and returns what they need from outside the tree. Every ELF
// must be built for debArch, or packaging it under that architecture
// would be a lie.
func ScanTree(root, debArch string) (*Linkage, error) {
	needers := map[string][]string{}
	provided := map[string]bool{}
	glibc := ""
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		f, err := openELF(p)
		if err != nil || f == nil {
			return err
		}
		defer f.Close()
		n++
		if a := debianArchOfMachine[f.Machine]; a != debArch {
			return fmt.Errorf("%s is an ELF file for %s (%s), not for %s", rel, f.Machine, orUnknown(a), debArch)
		}
		provided[path.Base(rel)] = true
		if sonames, _ := f.DynString(elf.DT_SONAME); len(sonames) > 0 {
			provided[sonames[0]] = true
		}
		needed, err := f.DynString(elf.DT_NEEDED)
		if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
			return fmt.Errorf("%s: dynamic section: %w", rel, err)
		}
		for _, s := range needed {
			needers[s] = append(needers[s], rel)
		}
		vn, _ := f.DynamicVersionNeeds()
		for _, need := range vn {
			for _, dep := range need.Needs {
				if v, ok := strings.CutPrefix(dep.Dep, "GLIBC_"); ok && v != "PRIVATE" {
					if glibc == "" || CompareVersions(v, glibc) > 0 {
						glibc = v
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan ELF files in %s: %w", root, err)
	}
	l := &Linkage{Needed: map[string][]string{}, GLIBC: glibc, ELFFiles: n}
	for s, who := range needers {
		if provided[s] {
			l.Bundled = append(l.Bundled, s)
			continue
		}
		sort.Strings(who)
		l.Needed[s] = who
	}
	sort.Strings(l.Bundled)
	return l, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "an architecture Debian packages are not built for here"
	}
	return s
}

// elfFile is an open ELF file whose Close also closes the file under it
// (elf.NewFile does not own its reader).
type elfFile struct {
	*elf.File
	fh *os.File
}

func (f *elfFile) Close() error {
	f.File.Close()
	return f.fh.Close()
}

// openELF opens p as an ELF file, or returns nil when it is not one.
func openELF(p string) (*elfFile, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, 4)
	if _, err := io.ReadFull(fh, magic); err != nil || string(magic) != elf.ELFMAG {
		fh.Close()
		return nil, nil
	}
	f, err := elf.NewFile(fh)
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &elfFile{File: f, fh: fh}, nil
}

// Resolver maps sonames to the Debian packages that ship them, and reads
// the dependency a library package declares for its soname (its shlibs
// file), as dpkg-shlibdeps would.
type Resolver interface {
	// Packages returns, for every soname it can place, the package that
	// ships it ("libssl3:amd64"; the architecture qualifier is kept so
	// Shlibs can ask about the right instance).
	Packages(ctx context.Context, sonames []string) (map[string]string, error)
	// Shlibs returns the dependency a package's shlibs file declares for
	// a soname ("libssl3 (>= 3.0.0)"), or "" when it declares none.
	Shlibs(ctx context.Context, pkg, soname string) (string, error)
}

// DpkgResolver asks the build host's dpkg database (dpkg-query -S and the
// packages' shlibs control files). Package names are the same on every
// architecture, so an amd64 host names the packages of an arm64 tree as
// long as it has the amd64 instances of those libraries installed.
type DpkgResolver struct {
	Triplet string // preferred multiarch directory, e.g. aarch64-linux-gnu
}

var libDir = regexp.MustCompile(`^/(usr/)?lib(32|64)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$`)

// Packages asks dpkg once for all sonames (soname.Search) and prefers, of
// the files found, one in the triplet's multiarch directory, then another
// multiarch one, then a plain lib directory.
func (r DpkgResolver) Packages(ctx context.Context, sonames []string) (map[string]string, error) {
	if len(sonames) == 0 {
		return map[string]string{}, nil
	}
	owners, err := soname.Search(ctx, sonames)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, s := range sonames {
		want[s] = true
	}
	type hit struct {
		pkg  string
		rank int
	}
	best := map[string]hit{}
	for _, o := range owners {
		dir, base := path.Split(o.Path)
		dir = strings.TrimSuffix(dir, "/")
		if !want[base] || !libDir.MatchString(dir) {
			continue
		}
		rank := 2 // a plain lib dir
		if strings.HasSuffix(dir, "/"+r.Triplet) {
			rank = 0
		} else if strings.Contains(dir, "-linux-") {
			rank = 1
		}
		h := hit{slices.Min(o.Packages), rank}
		if old, ok := best[base]; !ok || h.rank < old.rank || (h.rank == old.rank && h.pkg < old.pkg) {
			best[base] = h
		}
	}
	res := map[string]string{}
	for s, h := range best {
		res[s] = h.pkg
	}
	return res, nil
}

// Shlibs reads the package's shlibs control file through dpkg-query.
func (r DpkgResolver) Shlibs(ctx context.Context, pkg, soname string) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-query", "--control-path", pkg, "shlibs").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "", nil // no shlibs file: the dependency stays unversioned
	}
	b, err := os.ReadFile(strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0]))
	if err != nil {
		return "", fmt.Errorf("shlibs of %s: %w", pkg, err)
	}
	return shlibsDep(b, soname), nil
}

// shlibsDep finds a soname's entry in a shlibs file: lines of
// "[type:] library version dependencies"; typed (udeb) lines are skipped.
func shlibsDep(b []byte, soname string) string {
	name, ver, ok := splitSoname(soname)
	if !ok {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if strings.HasSuffix(f[0], ":") || len(f) < 3 {
			continue
		}
		if f[0] == name && f[1] == ver {
			return strings.Join(f[2:], " ")
		}
	}
	return ""
}

// splitSoname splits libfoo.so.1.2 and libfoo-1.2.so into (libfoo, 1.2).
func splitSoname(s string) (name, version string, ok bool) {
	if i := strings.Index(s, ".so."); i > 0 {
		return s[:i], s[i+4:], true
	}
	if base, ok := strings.CutSuffix(s, ".so"); ok {
		if i := strings.LastIndexByte(base, '-'); i > 0 {
			return base[:i], base[i+1:], true
		}
	}
	return "", "", false
}

// DependsInput is what Depends needs.
type DependsInput struct {
	Linkage *Linkage
	// RuntimeDepends, when set, are the Depends of the Debian packages the
	// tree was imported from: dpkg-shlibdeps computed them from these very
	// binaries, so their version constraints are used as they are.
	RuntimeDepends []string
	Resolver       Resolver
}

// Library is one external soname and the package that provides it.
type Library struct {
	Soname   string   `json:"soname"`
	Package  string   `json:"package"`
	NeededBy []string `json:"needed_by"`
}

// Depends maps the tree's external sonames to Debian packages and returns
// the Depends field's entries (sorted by package) and the mapping.
func Depends(ctx context.Context, in DependsInput) ([]string, []Library, error) {
	l := in.Linkage
	sonames := make([]string, 0, len(l.Needed)+1)
	hasLoader := false
	for s := range l.Needed {
		if soname.IsLoader(s) {
			hasLoader = true
			continue
		}
		sonames = append(sonames, s)
	}
	if hasLoader && l.Needed["libc.so.6"] == nil {
		sonames = append(sonames, "libc.so.6")
	}
	sort.Strings(sonames)
	pkgs, err := in.Resolver.Packages(ctx, sonames)
	if err != nil {
		return nil, nil, err
	}
	for s := range l.Needed {
		if soname.IsLoader(s) && pkgs["libc.so.6"] != "" {
			pkgs[s] = pkgs["libc.so.6"]
		}
	}
	var libs []Library
	var missing []string
	for s, who := range l.Needed {
		p, ok := pkgs[s]
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (needed by %s)", s, strings.Join(who, ", ")))
			continue
		}
		libs = append(libs, Library{Soname: s, Package: p, NeededBy: who})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, nil, fmt.Errorf("no installed package ships %s: install the libraries on the build host (dpkg -S finds nothing), or bundle them in the tree", strings.Join(missing, "; "))
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].Soname < libs[j].Soname })

	declared := map[string]string{}
	for _, d := range in.RuntimeDepends {
		name, err := depName(d)
		if err != nil {
			return nil, nil, fmt.Errorf("runtime Depends: %w", err)
		}
		declared[name] = strings.TrimSpace(d)
	}
	libcPkg := pkgs["libc.so.6"]
	byPkg := map[string][]string{}
	for _, lib := range libs {
		name := strings.SplitN(lib.Package, ":", 2)[0]
		var dep string
		switch {
		case len(in.RuntimeDepends) > 0:
			var ok bool
			if dep, ok = declared[name]; !ok {
				return nil, nil, fmt.Errorf("%s needs %s from %s, but the packages the tree was imported from do not depend on %s", strings.Join(lib.NeededBy, ", "), lib.Soname, name, name)
			}
		case lib.Package == libcPkg && l.GLIBC != "":
			// The GLIBC_x.y symbol versions the files need are exactly
			// what libc's symbols file would give dpkg-shlibdeps.
			dep = fmt.Sprintf("%s (>= %s)", name, l.GLIBC)
		default:
			if dep, err = in.Resolver.Shlibs(ctx, lib.Package, lib.Soname); err != nil {
				return nil, nil, err
			}
			if dep == "" {
				dep = name
			}
		}
		byPkg[name] = append(byPkg[name], dep)
	}
	names := make([]string, 0, len(byPkg))
	for n := range byPkg {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []string
	for _, n := range names {
		deps, err := strongest(byPkg[n])
		if err != nil {
			return nil, nil, err
		}
		out = append(out, deps...)
	}
	for i := range libs {
		libs[i].Package = strings.SplitN(libs[i].Package, ":", 2)[0]
	}
	return out, libs, nil
}

// depName is the package of a dependency's first alternative.
func depName(d string) (string, error) {
	dep, err := dependency.Parse(d)
	if err != nil {
		return "", fmt.Errorf("dependency %q: %w", d, err)
	}
	if len(dep.Relations) == 0 {
		return "", fmt.Errorf("empty dependency %q", d)
	}
	return dep.Relations[0].Possibilities[0].Name, nil
}

// strongest merges the dependencies on one package that several sonames
// produced: of "p (>= v)" entries the highest v wins, other constraints
// are kept once, and a bare name is dropped when anything stronger exists.
func strongest(deps []string) ([]string, error) {
	seen := map[string]bool{}
	best, bestVersion, bare := "", "", ""
	var other []string
	for _, d := range deps {
		if seen[d] {
			continue
		}
		seen[d] = true
		dep, err := dependency.Parse(d)
		if err != nil {
			return nil, fmt.Errorf("dependency %q: %w", d, err)
		}
		var p *dependency.Possibility
		if len(dep.Relations) == 1 && len(dep.Relations[0].Possibilities) == 1 {
			p = &dep.Relations[0].Possibilities[0]
		}
		plain := p != nil && p.Arch == nil && (p.Architectures == nil || len(p.Architectures.Architectures) == 0) && len(p.StageSets) == 0
		switch {
		case plain && p.Version != nil && p.Version.Operator == ">=":
			if best == "" || CompareVersions(p.Version.Number, bestVersion) > 0 {
				best, bestVersion = d, p.Version.Number
			}
		case plain && p.Version == nil:
			bare = d
		default:
			other = append(other, d)
		}
	}
	sort.Strings(other)
	if best != "" {
		other = append([]string{best}, other...)
	}
	if len(other) == 0 {
		other = []string{bare}
	}
	return other, nil
}
