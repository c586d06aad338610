package deb

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pypyctl/pypyctl/internal/debfile"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
)

// Options describe one .deb.
type Options struct {
	Tree    string // the assembled release tree's root
	Release *platforms.Release
	Target  *platforms.Target
	Project platforms.Project
	// Revision is the Debian revision (the -1 of 7.3.11-1); 0 means 1.
	Revision int
	// Version replaces the computed Debian version (nightlies, whose PyPy
	// version is not a number: e.g. 7.3.21~dev4711-1).
	Version string
	// RuntimeDepends are the VM's Debian dependencies when it was
	// imported from Debian (vm.Metadata.RuntimeDepends); see Depends.
	RuntimeDepends []string
	// Resolver maps sonames to packages; nil means the host's dpkg.
	Resolver    Resolver
	Compression Compression // "" means xz
	OutDir      string
	// SourceDateEpoch is every mtime and the changelog date; 0 means the
	// release's source_date_epoch.
	SourceDateEpoch int64
	Logger          *slog.Logger // nil: log nothing
}

// Result describes the written .deb.
type Result struct {
	Path          string    `json:"path"`
	Name          string    `json:"name"`
	Package       string    `json:"package"`
	Version       string    `json:"version"`
	Architecture  string    `json:"architecture"`
	Prefix        string    `json:"prefix"`
	InstalledSize int64     `json:"installed_size_kib"`
	Depends       []string  `json:"depends"`
	Libraries     []Library `json:"libraries"`
	Bundled       []string  `json:"bundled,omitempty"`
	Size          int64     `json:"size"`
	SHA256        string    `json:"sha256"`
}

var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)

// PackageName is the Debian package of a release: its release name
// (pypy3.9-v7.3.11). The version in the name lets releases coexist, and
// no Debian package is named like it, so it never replaces Debian's pypy3.
func PackageName(r *platforms.Release) (string, error) {
	n := strings.ToLower(r.Name)
	if !packageName.MatchString(n) {
		return "", fmt.Errorf("release name %q is not a valid Debian package name", r.Name)
	}
	return n, nil
}

// Prefix is where the tree is installed: /opt/pypy/<release>.
func Prefix(r *platforms.Release) string { return "/opt/pypy/" + r.Name }

// FileName is the .deb's conventional name: package_version_arch.deb
// (without an epoch).
func FileName(pkg, version, arch string) string {
	if _, v, ok := strings.Cut(version, ":"); ok {
		version = v
	}
	return fmt.Sprintf("%s_%s_%s.deb", pkg, version, arch)
}

// Build writes the .deb of a release tree into o.OutDir and returns what
// it wrote. The bytes depend only on the tree, the options and the
// resolved Depends: two builds of one tree are identical.
func Build(ctx context.Context, o Options) (*Result, error) {
	r, t := o.Release, o.Target
	if t.OS != "linux" || t.DebianArch == "" {
		return nil, fmt.Errorf("target %s has no Debian architecture: .debs are made for Linux targets only", t.Name)
	}
	pkg, err := PackageName(r)
	if err != nil {
		return nil, err
	}
	version := o.Version
	if version == "" {
		rev := o.Revision
		if rev == 0 {
			rev = 1
		}
		if version, err = Version(r.PyPyVersion, rev); err != nil {
			return nil, err
		}
	}
	if err := ValidVersion(version); err != nil {
		return nil, err
	}
	epoch := o.SourceDateEpoch
	if epoch == 0 {
		epoch = r.SourceDateEpoch
	}
	if epoch <= 0 {
		return nil, fmt.Errorf("release %s has no source_date_epoch: package mtimes need one", r.Name)
	}
	comp := o.Compression
	if comp == "" {
		comp = XZ
	}
	if _, err := ParseCompression(string(comp)); err != nil {
		return nil, err
	}
	if o.Project.Maintainer == "" {
		return nil, fmt.Errorf("the matrix names no project maintainer: a .deb needs a Maintainer")
	}
	priority, err := AlternativePriority(r.PythonVersion, r.PyPyVersion)
	if err != nil {
		return nil, err
	}
	interp := "bin/" + r.Interpreter()
	if fi, err := os.Stat(filepath.Join(o.Tree, interp)); err != nil || fi.IsDir() {
		return nil, fmt.Errorf("tree %s has no %s: is it an assembled %s tree?", o.Tree, interp, r.Name)
	}
	log := logging.OrDiscard(o.Logger)

	log.Info("scanning ELF files", "tree", o.Tree)
	link, err := ScanTree(o.Tree, t.DebianArch)
	if err != nil {
		return nil, err
	}
	res := o.Resolver
	if res == nil {
		res = DpkgResolver{Triplet: t.Triplet}
	}
	depends, libs, err := Depends(ctx, DependsInput{Linkage: link, RuntimeDepends: o.RuntimeDepends, Resolver: res})
	if err != nil {
		return nil, fmt.Errorf("Depends of %s: %w", pkg, err)
	}

	prefix := Prefix(r)
	info := pkgInfo{
		Package: pkg, Version: version, Release: r.Name, Target: t.Name,
		Prefix: prefix, Interpreter: interp, Priority: priority,
		Maintainer: o.Project.Maintainer, Homepage: o.Project.Homepage, Source: o.Project.Source,
		PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion,
		Date: time.Unix(epoch, 0).UTC(),
	}
	if info.Source == "" {
		info.Source = info.Homepage
	}
	info.License, info.LicenseText = licenseParagraph(o.Project.License, prefix)
	for _, name := range linkNames(r) {
		info.Alternatives = append(info.Alternatives, alternative{Name: name, Link: "/usr/bin/" + name, Path: prefix + "/" + interp})
	}

	data, err := dataEntries(o.Tree, r, &info)
	if err != nil {
		return nil, err
	}
	control := Paragraph{
		{Name: "Package", Value: pkg},
		{Name: "Version", Value: version},
		{Name: "Architecture", Value: t.DebianArch},
		{Name: "Maintainer", Value: o.Project.Maintainer},
		{Name: "Installed-Size", Value: strconv.FormatInt(installedSize(data), 10)},
	}
	if len(depends) > 0 {
		control = append(control, Field{Name: "Depends", Value: strings.Join(depends, ", ")})
	}
	control = append(control,
		Field{Name: "Section", Value: "interpreters"},
		Field{Name: "Priority", Value: "optional"},
	)
	if o.Project.Homepage != "" {
		control = append(control, Field{Name: "Homepage", Value: o.Project.Homepage})
	}
	control = append(control, Field{Name: "Description", Value: description(r, prefix, linkNames(r))})
	if err := control.Validate(); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output dir: %w", err)
	}
	name := FileName(pkg, version, t.DebianArch)
	out := filepath.Join(o.OutDir, name)
	log.Info("packing", "deb", name, "installed_kib", installedSize(data), "compression", comp)
	if err := writeDeb(ctx, out, control, data, &info, comp, epoch); err != nil {
		return nil, err
	}
	sum, size, err := fsutil.SHA256File(out)
	if err != nil {
		return nil, err
	}
	return &Result{
		Path: out, Name: name, Package: pkg, Version: version, Architecture: t.DebianArch,
		Prefix: prefix, InstalledSize: installedSize(data), Depends: depends, Libraries: libs,
		Bundled: link.Bundled, Size: size, SHA256: sum,
	}, nil
}

// linkNames are the update-alternatives groups: pypyX.Y and pypyX.
func linkNames(r *platforms.Release) []string {
	return []string{"pypy" + r.PythonShort(), "pypy" + r.Major()}
}

func description(r *platforms.Release, prefix string, links []string) string {
	synopsis := fmt.Sprintf("fast Python %s interpreter with a JIT compiler (PyPy %s)", r.PythonShort(), r.PyPyVersion)
	paras := []string{
		fmt.Sprintf("PyPy is a fast, compliant implementation of the Python language with a just-in-time compiler. This package installs the PyPy release tree %s unchanged under %s, so that several PyPy releases can be installed side by side.", r.Name, prefix),
		fmt.Sprintf("The commands %s in /usr/bin are managed with update-alternatives (the newest release has the highest priority). They never replace the files of Debian's own PyPy packages.", strings.Join(links, " and ")),
	}
	lines := []string{synopsis}
	for i, p := range paras {
		if i > 0 {
			lines = append(lines, ".")
		}
		lines = append(lines, wrap(p, 72)...)
	}
	return strings.Join(lines, "\n")
}

// dataEntries lists everything data.tar holds: the tree under the
// prefix, the PEP 668 marker, the documentation and lintian overrides.
func dataEntries(tree string, r *platforms.Release, info *pkgInfo) ([]entry, error) {
	root := "." + info.Prefix + "/"
	es, err := treeEntries(tree, root)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, e := range es {
		have[e.name] = true
	}
	add := func(e entry) {
		for _, p := range parents(e.name) {
			if !have[p] {
				have[p] = true
				es = append(es, dirEntry(p))
			}
		}
		have[e.name] = true
		es = append(es, e)
	}
	// apt owns the tree: pip run with this interpreter outside a venv
	// should refuse to write into it (PEP 668) and point at venvs.
	if marker := root + r.StdlibDir() + "/EXTERNALLY-MANAGED"; r.Major() == "3" && !have[marker] {
		msg := fmt.Sprintf("[externally-managed]\nError=This PyPy (%s) is installed by the Debian package %s and managed by apt.\n To install Python packages, make a virtual environment:\n   %s/%s -m venv ~/venvs/%s\n and use its pip.\n", r.Name, info.Package, info.Prefix, info.Interpreter, r.Name)
		add(fileEntry(marker, 0o644, []byte(msg)))
	}
	doc := "./usr/share/doc/" + info.Package + "/"
	copyright, err := render(copyrightTmpl, info)
	if err != nil {
		return nil, err
	}
	add(fileEntry(doc+"copyright", 0o644, copyright))
	changelog, err := render(changelogTmpl, info)
	if err != nil {
		return nil, err
	}
	gz, err := gzipBytes(changelog)
	if err != nil {
		return nil, err
	}
	add(fileEntry(doc+"changelog.Debian.gz", 0o644, gz))
	add(fileEntry("./usr/share/lintian/overrides/"+info.Package, 0o644, overridesFile(info.Package, info.Prefix)))
	if err := sortEntries(es); err != nil {
		return nil, err
	}
	return es, nil
}

// writeDeb packs data.tar first into a temp file (its md5sums go into the
// control tar, and ar needs each member's size up front), then writes the
// ar archive atomically.
func writeDeb(ctx context.Context, out string, control Paragraph, data []entry, info *pkgInfo, comp Compression, epoch int64) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), ".data-*.tar")
	if err != nil {
		return fmt.Errorf("temp file: %w", err)
	}
	defer func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}()
	md5s := map[string]string{}
	if err := compressTar(ctx, tmp, data, epoch, md5s, comp); err != nil {
		return fmt.Errorf("data.tar of %s: %w", filepath.Base(out), err)
	}
	dataSize, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}

	postinst, err := render(postinstTmpl, info)
	if err != nil {
		return err
	}
	prerm, err := render(prermTmpl, info)
	if err != nil {
		return err
	}
	ctl := []entry{
		dirEntry("./"),
		fileEntry("./control", 0o644, []byte(control.String())),
		fileEntry("./md5sums", 0o644, md5sumsFile(md5s)),
		fileEntry("./postinst", 0o755, postinst),
		fileEntry("./prerm", 0o755, prerm),
	}
	var ctlBuf bytes.Buffer
	if err := compressTar(ctx, &ctlBuf, ctl, epoch, nil, comp); err != nil {
		return fmt.Errorf("control.tar of %s: %w", filepath.Base(out), err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	ext := ".tar." + string(comp)
	return fsutil.WriteAtomic(out, 0o644, func(w io.Writer) error {
		aw, err := debfile.NewArWriter(w, epoch)
		if err != nil {
			return err
		}
		if err := aw.Add("debian-binary", 4, strings.NewReader("2.0\n")); err != nil {
			return err
		}
		if err := aw.Add("control"+ext, int64(ctlBuf.Len()), &ctlBuf); err != nil {
			return err
		}
		return aw.Add("data"+ext, dataSize, tmp)
	})
}

func compressTar(ctx context.Context, w io.Writer, es []entry, epoch int64, md5s map[string]string, comp Compression) error {
	zw, err := comp.newWriter(w)
	if err != nil {
		return err
	}
	if err := writeTar(ctx, zw, es, epoch, md5s); err != nil {
		zw.Close()
		return err
	}
	return zw.Close()
}
