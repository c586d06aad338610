// Package portable bundles into a VM tree the shared libraries it needs
// beyond glibc (libssl, libcrypto, libsqlite3, libffi, libexpat, liblzma,
// libgdbm, ncurses, …), as upstream's make_portable does: the libraries go
// to lib/, every ELF file that needs one gets a RUNPATH $ORIGIN/… that
// reaches lib/, and lib/PYPY_PORTABLE_DEPS.txt lists what was bundled.
// The result runs on any Linux with a new enough glibc.
package portable

import (
	"bytes"
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	sonames "github.com/pypyctl/pypyctl/internal/soname"
	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever bundling's output would change.
const StageVersion = 1

// DepsFile lists the bundled libraries, relative to the tree.
const DepsFile = "lib/PYPY_PORTABLE_DEPS.txt"

// IsGlibc tells whether a soname belongs to glibc (dynamic loaders and
// NSS modules included): those are never bundled, they must match the
// ld.so of the machine the tree runs on, and every Linux has them.
// libcrypt.so.1 (libxcrypt) and libgcc_s.so.1 (GCC's) are not glibc's.
func IsGlibc(soname string) bool { return sonames.IsGlibc(soname) }

// DefaultDirs are where the host's libraries are looked up: the
// multiarch directories first, as ld.so's own default search does on
// Debian-like systems, then the classic ones.
func DefaultDirs(triplet string) []string {
	return []string{
		"/usr/local/lib/" + triplet, "/lib/" + triplet, "/usr/lib/" + triplet,
		"/usr/local/lib", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	}
}

// Lib is one library to bundle.
type Lib struct {
	Soname   string   `json:"soname"`
	Source   string   `json:"source"` // real path on the host
	SHA256   string   `json:"sha256"` // of the host file, before patching
	Package  string   `json:"package,omitempty"`
	NeededBy []string `json:"needed_by"` // tree-relative paths, or lib/<soname>
}

// Plan is what bundling will do to a tree.
type Plan struct {
	Libs []Lib `json:"libs"`
	// Patch maps each ELF file (tree-relative) that needs a bundled
	// library to the RUNPATH it gets.
	Patch map[string]string `json:"patch"`
	// Root is the file system the libraries come from: "" for the host,
	// else a builder image's root, in which each Lib.Source is a path.
	// It is not part of the plan's identity (a store key): the image is.
	Root string `json:"-"`
	// Data are directories of Root copied into the tree's lib/: Tcl's and
	// Tk's script libraries when their shared libraries are bundled, as
	// make_portable.py copies them (lib/tcl8.6, lib/tk8.6).
	Data []string `json:"data,omitempty"`
	// DataNames renames a Data directory in lib/ (Python2TclTk).
	DataNames map[string]string `json:"data_names,omitempty"`
}

// tclTkData are the script libraries of a bundled libtcl/libtk, where
// Debian installs them, with the file each must contain and the name
// 2.7's _tkinter looks for.
var tclTkData = []struct{ stem, dir, marker, py2 string }{
	{"tcl8", "/usr/share/tcltk/tcl8.6", "init.tcl", "tcl"},
	{"tk8", "/usr/share/tcltk/tk8.6", "tk.tcl", "tk"},
}

// Python2TclTk names the Tcl and Tk script directories lib/tcl and lib/tk,
// where 2.7's _tkinter looks for them (its app.py; upstream's 2.7
// make_portable copies them there), instead of 3.x's lib/tcl8.6 and
// lib/tk8.6.
func (p *Plan) Python2TclTk() {
	for _, d := range tclTkData {
		if slices.Contains(p.Data, d.dir) {
			if p.DataNames == nil {
				p.DataNames = map[string]string{}
			}
			p.DataNames[d.dir] = d.py2
		}
	}
}

// Discover reads NEEDED of every ELF file in tree, and transitively of the
// host libraries they pull in, and resolves each non-glibc library not
// shipped in the tree itself in dirs.
func Discover(tree string, dirs []string) (*Plan, error) { return DiscoverIn("", tree, dirs, nil) }

// MakePortablePy is upstream's bundling script in a PyPy source tree.
const MakePortablePy = "pypy/tool/release/make_portable.py"

// bundleList is make_portable.py's `bundle = [...]`: the stems it bundles.
var (
	bundleList = regexp.MustCompile(`(?m)^bundle\s*=\s*\[([^\]]*)\]`)
	bundleStem = regexp.MustCompile(`^['"]([A-Za-z0-9_+-]+)['"]$`)
)

// alwaysBundled are bundled whatever the release's list says, for a
// minimal system (a distroless image, a sandbox with only glibc): upstream
// leaves libgcc_s.so.1 to the system, and 7.3.20's list lacks zlib and
// bzip2, which its 2.7 VM links (7.3.23 added them).
var alwaysBundled = []string{"gcc_s", "z", "bz2"}

// UpstreamBundle reads what the release's own make_portable.py (in the
// PyPy source at srcDir) bundles, by the stem of the soname
// (libssl.so.1.1 → ssl, libtcl8.6.so → tcl8): the set changes between
// releases (7.3.20 bundles expat, which its VM links; 7.3.23 bundles z
// and bz2 instead). alwaysBundled are added. Everything else (X11 and
// fontconfig for Tk) is the system's, as upstream's.
func UpstreamBundle(srcDir string) ([]string, error) {
	path := filepath.Join(srcDir, filepath.FromSlash(MakePortablePy))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("portable: upstream's bundle list: %w", err)
	}
	m := bundleList.FindSubmatch(b)
	if m == nil {
		return nil, fmt.Errorf("portable: %s has no `bundle = [...]` list", path)
	}
	out := slices.Clone(alwaysBundled)
	for _, item := range strings.Split(string(m[1]), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		sm := bundleStem.FindStringSubmatch(item)
		if sm == nil {
			return nil, fmt.Errorf("portable: %s: bundle entry %q is not a quoted library stem", path, item)
		}
		out = append(out, sm[1])
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// stem is make_portable.py's name for a soname: "lib" cut off, up to the
// first dot.
func stem(soname string) string {
	s, _, _ := strings.Cut(strings.TrimPrefix(soname, "lib"), ".")
	return s
}

// DiscoverIn is Discover with the libraries looked up in the file system
// at root (a builder image, whose libraries the VM was built against)
// instead of the host's; dirs are paths in that file system. A non-empty
// only bundles just the libraries whose stem it lists (UpstreamBundle);
// the others are left to the system the tree runs on.
func DiscoverIn(root, tree string, dirs []string, only []string) (*Plan, error) {
	if root != "" {
		// Resolved once: libraries are checked to stay below it.
		r, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, fmt.Errorf("portable: %w", err)
		}
		root = r
	}
	elves, err := vm.ELFFiles(tree)
	if err != nil {
		return nil, err
	}
	inTree := map[string]bool{}
	for _, rel := range elves {
		inTree[filepath.Base(rel)] = true
		if so, err := soname(filepath.Join(tree, rel)); err == nil && so != "" {
			inTree[so] = true
		}
	}
	libs := map[string]*Lib{}
	direct := map[string]bool{} // tree files needing some bundled lib
	type item struct{ path, by string }
	var queue []item
	for _, rel := range elves {
		queue = append(queue, item{filepath.Join(tree, rel), rel})
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		f, err := elf.Open(it.path)
		if err != nil {
			return nil, fmt.Errorf("portable: read %s: %w", it.by, err)
		}
		needed, err := f.ImportedLibraries()
		machine, class := f.Machine, f.Class
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("portable: NEEDED of %s: %w", it.by, err)
		}
		for _, n := range needed {
			if IsGlibc(n) || inTree[n] || (len(only) > 0 && !slices.Contains(only, stem(n))) {
				continue
			}
			direct[it.by] = true
			if l, ok := libs[n]; ok {
				l.NeededBy = append(l.NeededBy, it.by)
				continue
			}
			src, err := resolveIn(root, n, dirs, machine, class)
			if err != nil {
				return nil, fmt.Errorf("portable: %s (needed by %s): %w", n, it.by, err)
			}
			sum, _, err := fsutil.SHA256File(filepath.Join(root, src))
			if err != nil {
				return nil, fmt.Errorf("portable: %w", err)
			}
			libs[n] = &Lib{Soname: n, Source: src, SHA256: sum, NeededBy: []string{it.by}}
			queue = append(queue, item{filepath.Join(root, src), "lib/" + n})
		}
	}
	p := &Plan{Patch: map[string]string{}, Root: root}
	for _, d := range tclTkData {
		bundled := false
		for n := range libs {
			bundled = bundled || stem(n) == d.stem
		}
		if bundled && root != "" {
			if _, err := os.Stat(filepath.Join(root, d.dir, d.marker)); err != nil {
				return nil, fmt.Errorf("portable: %s is bundled but the image has no %s: %w", d.stem, d.dir, err)
			}
			p.Data = append(p.Data, d.dir)
		}
	}
	for _, l := range libs {
		sort.Strings(l.NeededBy)
		p.Libs = append(p.Libs, *l)
	}
	sort.Slice(p.Libs, func(i, j int) bool { return p.Libs[i].Soname < p.Libs[j].Soname })
	for rel := range direct {
		rp, err := runpath(tree, rel)
		if err != nil {
			return nil, err
		}
		p.Patch[rel] = rp
	}
	return p, nil
}

// runpath is the RUNPATH a file gets: what it had (keeping $ORIGIN, which
// the launcher needs for libpypy) plus the way from its directory to lib/.
func runpath(tree, rel string) (string, error) {
	want := "$ORIGIN"
	if !strings.HasPrefix(rel, "lib/") || strings.Count(rel, "/") > 1 {
		up, err := filepath.Rel(filepath.Dir(filepath.Join(tree, rel)), filepath.Join(tree, "lib"))
		if err != nil {
			return "", err
		}
		want = "$ORIGIN/" + filepath.ToSlash(up)
	}
	entries := []string{}
	if strings.HasPrefix(rel, "lib/") && strings.Count(rel, "/") == 1 {
		return want, nil // a bundled library: only its siblings
	}
	f, err := elf.Open(filepath.Join(tree, rel))
	if err != nil {
		return "", fmt.Errorf("portable: %w", err)
	}
	defer f.Close()
	old, _ := f.DynString(elf.DT_RUNPATH)
	if len(old) == 0 {
		old, _ = f.DynString(elf.DT_RPATH)
	}
	for _, o := range old {
		for _, e := range strings.Split(o, ":") {
			// Only $ORIGIN-relative entries survive: an absolute one
			// would make the tree depend on the build host.
			if strings.HasPrefix(e, "$ORIGIN") && e != want {
				entries = append(entries, e)
			}
		}
	}
	return strings.Join(append(entries, want), ":"), nil
}

// Resolve finds a soname in dirs, skipping files of another machine or
// ELF class (a 32-bit libssl in /usr/lib, say), and returns its real path.
func Resolve(soname string, dirs []string, machine elf.Machine, class elf.Class) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, soname)
		f, err := elf.Open(p)
		if err != nil {
			continue
		}
		ok := f.Machine == machine && f.Class == class
		f.Close()
		if !ok {
			continue
		}
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return "", err
		}
		return real, nil
	}
	return "", fmt.Errorf("not found in %s (install its package)", strings.Join(dirs, ":"))
}

// resolveIn is Resolve in the file system at root ("" for the host),
// returning the library's path in it. A symlink that leaves root (an
// absolute link resolved on the host) is refused: it would bundle a host
// file instead of the image's.
func resolveIn(root, soname string, dirs []string, machine elf.Machine, class elf.Class) (string, error) {
	if root == "" {
		return Resolve(soname, dirs, machine, class)
	}
	in := make([]string, len(dirs))
	for i, d := range dirs {
		in[i] = filepath.Join(root, d)
	}
	real, err := Resolve(soname, in, machine, class)
	if err != nil {
		return "", fmt.Errorf("not found in the builder image's %s", strings.Join(dirs, ":"))
	}
	rel, err := filepath.Rel(root, real) // root is already its real path

	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("%s resolves outside the builder image (%s)", soname, real)
	}
	return "/" + filepath.ToSlash(rel), nil
}

func soname(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	s, err := f.DynString(elf.DT_SONAME)
	if err != nil || len(s) == 0 {
		return "", err
	}
	return s[0], nil
}

// Packager names the package a host file belongs to ("libssl3=3.0.11-1"),
// or "" when unknown. It only annotates PYPY_PORTABLE_DEPS.txt, for
// licences and security updates.
type Packager func(ctx context.Context, path string) string

// DpkgPackager asks dpkg which package owns a file.
func DpkgPackager(ctx context.Context, path string) string {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-S", path).Output()
	if err != nil {
		// Merged /usr: dpkg knows the /lib spelling.
		if strings.HasPrefix(path, "/usr/lib/") {
			out, err = exec.CommandContext(ctx, "dpkg-query", "-S", strings.TrimPrefix(path, "/usr")).Output()
		}
		if err != nil {
			return ""
		}
	}
	pkg, _, ok := strings.Cut(strings.SplitN(string(out), "\n", 2)[0], ": ")
	if !ok {
		return ""
	}
	ver, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f", "${Version}", pkg).Output()
	if err != nil {
		return pkg
	}
	return pkg + "=" + string(ver)
}

// Annotate fills in each library's package (host libraries only: an
// image's packages are named by its lock, not by the host's dpkg).
func (p *Plan) Annotate(ctx context.Context, pkg Packager) {
	if p.Root != "" {
		return
	}
	for i := range p.Libs {
		p.Libs[i].Package = pkg(ctx, p.Libs[i].Source)
	}
}

// DepsText renders PYPY_PORTABLE_DEPS.txt: a comment header, then one
// tab-separated line per library, sorted by soname.
func (p *Plan) DepsText() []byte {
	var b bytes.Buffer
	b.WriteString("# Shared libraries bundled in lib/ by pypyctl build --portable.\n")
	b.WriteString("# Everything else the tree needs is glibc's.\n")
	b.WriteString("# soname\tsha256\tpackage\tneeded-by\n")
	for _, l := range p.Libs {
		pkg := l.Package
		if pkg == "" {
			pkg = "-"
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%s\n", l.Soname, l.SHA256, pkg, strings.Join(l.NeededBy, ","))
	}
	return b.Bytes()
}

// Apply copies the VM in inDir to outDir and bundles the plan's libraries
// into its tree, patching RUNPATHs with patchelf.
func Apply(ctx context.Context, inDir, outDir string, p *Plan) error {
	if err := vm.Copy(ctx, inDir, outDir); err != nil {
		return err
	}
	tree := vm.TreeDir(outDir)
	if err := os.MkdirAll(filepath.Join(tree, "lib"), 0o755); err != nil {
		return fmt.Errorf("portable: %w", err)
	}
	for _, l := range p.Libs {
		dst := filepath.Join(tree, "lib", l.Soname)
		src := filepath.Join(p.Root, l.Source)
		if err := fsutil.VerifySHA256(src, l.SHA256); err != nil {
			return fmt.Errorf("portable: %s changed since it was planned: %w", src, err)
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return fmt.Errorf("portable: %w", err)
		}
		if err := fsutil.WriteFileAtomic(dst, b, 0o755); err != nil {
			return fmt.Errorf("portable: %w", err)
		}
		if err := patchelf(ctx, "--set-rpath", "$ORIGIN", dst); err != nil {
			return err
		}
	}
	for _, d := range p.Data {
		name := filepath.Base(d)
		if n, ok := p.DataNames[d]; ok {
			name = n
		}
		if err := fsutil.CopyTree(ctx, filepath.Join(p.Root, d), filepath.Join(tree, "lib", name), 0); err != nil {
			return fmt.Errorf("portable: %w", err)
		}
	}
	files := make([]string, 0, len(p.Patch))
	for rel := range p.Patch {
		files = append(files, rel)
	}
	sort.Strings(files)
	for _, rel := range files {
		if strings.HasPrefix(rel, "lib/") && strings.Count(rel, "/") == 1 {
			continue // bundled, patched above
		}
		if err := patchelf(ctx, "--set-rpath", p.Patch[rel], filepath.Join(tree, rel)); err != nil {
			return err
		}
	}
	return fsutil.WriteFileAtomic(filepath.Join(tree, filepath.FromSlash(DepsFile)), p.DepsText(), 0o644)
}

// patchelf edits RUNPATH: Go's debug/elf only reads, and growing
// .dynstr means moving sections, which patchelf does well.
func patchelf(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "patchelf", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("portable: patchelf %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
