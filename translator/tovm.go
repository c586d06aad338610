package translator

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// VMStageVersion changes whenever the VM directory ToVM lays out would
// change for the same translation and source.
const VMStageVersion = 1

// ToVM turns a stored translation (rep, from Translate) and the source
// tree it was translated from into a VM directory in the vm package's
// layout, which the pipeline's post-VM stages and assemble read:
//
//	tree/bin/pypyX.Y            the executable RPython made (pypyX.Y-c)
//	tree/bin/libpypyX.Y-c.so    the shared library, under its own name
//	tree/lib/pypyX.Y/           lib-python/3/, then lib_pypy/ over it
//	                            (without lib_pypy/__init__.py)
//	tree/include/               the translation's include/ (README and
//	                            pypyX.Y/ with cpyext's generated headers)
//	LICENSE, README.rst, vm.json
//
// as upstream's package.py lays out a 3.x release; a 2.7 tree is
// bin/pypy, lib-python/2.7/, lib_pypy/, include/ and site-packages/README,
// as 2.7's package.py makes it. The cffi stdlib modules are not built
// here: that is the pipeline's cffi stage, run with this VM.
func ToVM(ctx context.Context, rep *Report, srcDir string, r *platforms.Release, t *platforms.Target, outDir string) error {
	if rep == nil || rep.Plan == nil {
		return fmt.Errorf("to VM: no translation report")
	}
	p := rep.Plan
	short := r.PythonShort()
	tree := vm.TreeDir(outDir)
	meta := &vm.Metadata{
		Origin: "translate", PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion,
		Arch: t.Arch, Triplet: t.Triplet,
		Interpreter: "bin/" + r.Interpreter(),
	}
	meta.SOABI, meta.ExtSuffix = Tags(r, t)
	headers := false
	for _, out := range rep.Outputs {
		var kind string
		for _, po := range p.Outputs {
			if po.Name == out.Name {
				kind = po.Kind
			}
		}
		if kind == KindHeaders {
			if err := copyDir(ctx, out.Path, filepath.Join(tree, "include")); err != nil {
				return fmt.Errorf("to VM: %w", err)
			}
			headers = true
			continue
		}
		var dst string
		switch kind {
		case "executable":
			if dst = meta.Interpreter; strings.HasSuffix(out.Name, "w.exe") || t.OS == "windows" {
				dst = "bin/" + filepath.Base(out.Name) // Windows keeps RPython's names
			}
		case "library":
			dst = "bin/" + filepath.Base(out.Name)
			meta.Library = dst
		default:
			dst = "libs/" + filepath.Base(out.Name)
		}
		mode := os.FileMode(0o644)
		if kind == "executable" || kind == "library" {
			mode = 0o755
		}
		if err := copyFile(out.Path, filepath.Join(tree, filepath.FromSlash(dst)), mode); err != nil {
			return fmt.Errorf("to VM: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(tree, filepath.FromSlash(meta.Interpreter))); t.OS != "windows" && err != nil {
		return fmt.Errorf("to VM: the translation stored no executable: %w", err)
	}
	if !headers {
		return errors.New("to VM: the translation stored no include/ (cpyext's generated headers): translate it again with this pypyctl")
	}
	type copy struct{ from, to string }
	dirs := []copy{ // lib_pypy last: it goes over lib-python's files
		{filepath.Join("lib-python", "3"), filepath.FromSlash(r.StdlibDir())},
		{"lib_pypy", filepath.FromSlash(r.StdlibDir())},
	}
	files := []copy{{"LICENSE", "../LICENSE"}, {"README.rst", "../README.rst"}}
	if r.Major() == "2" {
		dirs = []copy{{filepath.Join("lib-python", short), filepath.FromSlash(r.StdlibDir())}, {"lib_pypy", "lib_pypy"}}
		files = append(files, copy{filepath.Join("site-packages", "README"), filepath.Join("site-packages", "README")})
	}
	for _, d := range dirs {
		if err := copyDir(ctx, filepath.Join(srcDir, d.from), filepath.Join(tree, d.to)); err != nil {
			return fmt.Errorf("to VM: %w", err)
		}
	}
	for _, f := range files {
		if err := copyFile(filepath.Join(srcDir, f.from), filepath.Join(tree, f.to), 0o644); err != nil {
			return fmt.Errorf("to VM: the source has no %s: %w", f.from, err)
		}
	}
	if r.Major() != "2" {
		// package.py removes it: the stdlib directory is not a package.
		if err := os.Remove(filepath.Join(tree, filepath.FromSlash(r.StdlibDir()), "__init__.py")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("to VM: %w", err)
		}
	}
	meta.Inputs = []vm.Input{{Name: "pypy-source", Version: p.Source.Describe(), SHA256: p.Source.Digest}}
	return vm.WriteMetadata(outDir, meta)
}

// Tags are the SOABI and EXT_SUFFIX a translated VM reports (pypy311-pp73
// and .pypy311-pp73-x86_64-linux-gnu.so): "pp" plus PyPy's major and minor
// version, as pypy/module/imp/importing.py spells them. 2.7's are
// pypy-73 and .pypy-73.so (its DEFAULT_SOABI, and no platform tag).
func Tags(r *platforms.Release, t *platforms.Target) (soabi, ext string) {
	v := strings.SplitN(r.PyPyVersion, ".", 3)
	pp := v[0]
	if len(v) > 1 {
		pp += v[1]
	}
	if r.Major() == "2" {
		return "pypy-" + pp, ".pypy-" + pp + ".so"
	}
	soabi = "pypy" + r.PythonNoDot() + "-pp" + pp
	return soabi, "." + soabi + "-" + t.Triplet + ".so"
}

// copyDir copies src's files into dst (merging with what is there),
// leaving out bytecode caches: trees ship no .pyc.
func copyDir(ctx context.Context, src, dst string) error {
	var files []string
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(p, ".pyc") {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return err
	}
	return copyFiles(ctx, src, files, dst)
}
