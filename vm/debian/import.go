// Package debian imports an already-translated PyPy from Debian's pypy3
// packages: it fetches the pinned .debs (apt-get download), verifies them,
// unpacks them with Go code, maps Debian's paths onto upstream's release
// layout and undoes the Debian changes that break a standalone tree.
package debian

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/ensurepip"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever the mapping or the patches change, so
// store keys of older imports stop matching.
const StageVersion = 1

// Package is a fetched, verified .deb and its pin.
type Package struct {
	Pin  platforms.DebPackage
	Path string
}

// IsWheel reports whether the package carries ensurepip wheels rather than
// parts of the VM (python3-pip-whl and friends).
func (p Package) IsWheel() bool { return strings.HasSuffix(p.Pin.Name, "-whl") }

// Import unpacks the VM packages into outDir as a vm directory (see package
// vm) for the release and target.
func Import(ctx context.Context, pkgs []Package, r *platforms.Release, t *platforms.Target, outDir string) error {
	py := r.PythonShort()
	m := mapper{py: py, triplet: t.Triplet}
	meta := &vm.Metadata{
		Origin:        "debian",
		PyPyVersion:   r.PyPyVersion,
		PythonVersion: r.PythonVersion,
		Arch:          t.Arch,
		Triplet:       t.Triplet,
		Interpreter:   "bin/pypy" + py,
		Library:       "bin/libpypy" + py + "-c.so",
	}
	for _, p := range pkgs {
		if p.IsWheel() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		d, err := Open(p.Path)
		if err != nil {
			return err
		}
		if got := d.Control["Package"]; got != p.Pin.Name {
			return fmt.Errorf("%s: control says package %q, the matrix pins %q", p.Path, got, p.Pin.Name)
		}
		if err := d.WalkData(func(h *tar.Header, body io.Reader) error { return m.extract(outDir, h, body) }); err != nil {
			return err
		}
		meta.Inputs = append(meta.Inputs, vm.Input{Name: p.Pin.Name, Version: p.Pin.Version, Arch: p.Pin.Arch, SHA256: p.Pin.SHA256})
		if p.Pin.Name == "pypy3" {
			meta.RuntimeDepends = runtimeDepends(d.Control)
		}
	}
	tree := vm.TreeDir(outDir)
	for _, must := range []string{meta.Interpreter, meta.Library, "lib/pypy" + py + "/site.py", "include/pypy" + py + "/Python.h"} {
		if _, err := os.Lstat(filepath.Join(tree, must)); err != nil {
			return fmt.Errorf("debian import: %s missing after unpacking %d packages (are pypy3, pypy3-lib and pypy3-dev all pinned?)", must, len(meta.Inputs))
		}
	}
	if err := vm.CheckRunpath(filepath.Join(tree, meta.Interpreter)); err != nil {
		return err
	}
	stdlib := filepath.Join(tree, "lib", "pypy"+py)
	if err := applyPatches(stdlib); err != nil {
		return err
	}
	// Debian's ensurepip refuses to run outside a venv and reads wheels
	// from /usr/share/python-wheels; put back one that uses _bundled/.
	if err := fsutil.WriteFileAtomic(filepath.Join(stdlib, "ensurepip", "__init__.py"), ensurepip.InitModule(), 0o644); err != nil {
		return err
	}
	soabi, ext, err := vm.Tags(stdlib, t.Triplet)
	if err != nil {
		return err
	}
	meta.SOABI, meta.ExtSuffix = soabi, ext
	return vm.WriteMetadata(outDir, meta)
}

// mapper turns Debian paths into vm-directory paths.
type mapper struct{ py, triplet string }

// target returns where a Debian path goes, or "" to leave it out. Only
// what a release tree holds is kept; Debian's docs, man pages, lintian
// overrides and helper scripts (pypy3clean, pypy3compile) are dropped.
func (m mapper) target(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	lib := "usr/lib/pypy" + m.py
	inc := "usr/include/pypy" + m.py
	switch {
	case p == "usr/bin/pypy"+m.py:
		return "tree/bin/pypy" + m.py
	case p == "usr/lib/"+m.triplet+"/libpypy"+m.py+"-c.so":
		return "tree/bin/libpypy" + m.py + "-c.so"
	case p == lib || strings.HasPrefix(p, lib+"/"):
		return "tree/lib/pypy" + m.py + strings.TrimPrefix(p, lib)
	case p == inc || strings.HasPrefix(p, inc+"/"):
		return "tree/include/pypy" + m.py + strings.TrimPrefix(p, inc)
	case p == "usr/share/doc/pypy3/copyright":
		return "LICENSE"
	}
	return ""
}

func (m mapper) extract(outDir string, h *tar.Header, body io.Reader) error {
	rel := m.target(h.Name)
	if rel == "" {
		return nil
	}
	dst := filepath.Join(outDir, filepath.FromSlash(rel))
	switch h.Typeflag {
	case tar.TypeDir:
		return os.MkdirAll(dst, 0o755)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, body); err != nil {
			f.Close()
			return fmt.Errorf("unpack %s: %w", h.Name, err)
		}
		return f.Close()
	case tar.TypeSymlink:
		// Links inside the mapped tree must stay inside it.
		if path.IsAbs(h.Linkname) || strings.HasPrefix(path.Clean(path.Join(path.Dir(rel), h.Linkname)), "..") {
			return fmt.Errorf("unpack %s: link to %q leaves the tree", h.Name, h.Linkname)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, dst)
	}
	return fmt.Errorf("unpack %s: unsupported entry type %q", h.Name, h.Typeflag)
}

// runtimeDepends keeps the library dependencies of the interpreter package
// (Pre-Depends and Depends), without its sibling pypy3-lib, each clause as
// Debian wrote it: vm.json records them and store keys hash them; the one
// relation parser, debrepo.Relations, reads them later.
func runtimeDepends(c Control) []string {
	var out []string
	for _, field := range []string{"Pre-Depends", "Depends"} {
		for _, d := range strings.Split(c[field], ",") {
			d = strings.TrimSpace(d)
			if d == "" || strings.HasPrefix(d, "pypy3") {
				continue
			}
			out = append(out, d)
		}
	}
	return out
}

// WheelsStageVersion changes whenever what ExtractWheels takes out of the
// python3-*-whl packages changes (the pipeline's ensurepip stage).
const WheelsStageVersion = 1

// ExtractWheels copies the .whl files a python3-*-whl package carries
// (usr/share/python-wheels/) into dir.
func ExtractWheels(debPath, dir string) error {
	d, err := Open(debPath)
	if err != nil {
		return err
	}
	return d.WalkData(func(h *tar.Header, body io.Reader) error {
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if h.Typeflag != tar.TypeReg || path.Dir(name) != "usr/share/python-wheels" || !strings.HasSuffix(name, ".whl") {
			return nil
		}
		return fsutil.WriteAtomic(filepath.Join(dir, path.Base(name)), 0o644, func(w io.Writer) error {
			_, err := io.Copy(w, body)
			return err
		})
	})
}
