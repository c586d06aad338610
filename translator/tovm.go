package translator

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// ToVM turns a stored translation (rep, from Translate) and the source
// tree it was translated from into a VM directory in the vm package's
// layout, which build's post-VM stages and assemble read:
//
//	tree/bin/pypyX.Y            the executable RPython made (pypyX.Y-c)
//	tree/bin/libpypyX.Y-c.so    the shared library, under its own name
//	tree/lib/pypyX.Y/           lib-python/<major>/, then lib_pypy/ over it
//	tree/include/pypyX.Y/       the source's include/
//	LICENSE, vm.json
//
// as upstream's package.py lays out a release. The cffi stdlib modules are
// not built here: that is build's --rebuild-cffi stage, run with this VM.
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
		Interpreter: "bin/pypy" + short,
	}
	meta.SOABI, meta.ExtSuffix = Tags(r, t)
	for _, out := range rep.Outputs {
		var kind string
		for _, po := range p.Outputs {
			if po.Name == out.Name {
				kind = po.Kind
			}
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
	stdlib := filepath.Join(tree, "lib", "pypy"+short)
	for _, d := range []struct{ from, to string }{
		{filepath.Join("lib-python", r.Major()), stdlib},
		{"lib_pypy", stdlib},
		{"include", filepath.Join(tree, "include", "pypy"+short)},
	} {
		if err := copyDir(ctx, filepath.Join(srcDir, d.from), d.to); err != nil {
			return fmt.Errorf("to VM: %w", err)
		}
	}
	if err := copyFile(filepath.Join(srcDir, "LICENSE"), filepath.Join(outDir, "LICENSE"), 0o644); err != nil {
		return fmt.Errorf("to VM: the source has no LICENSE: %w", err)
	}
	meta.Inputs = []vm.Input{{Name: "pypy-source", Version: p.Source.Describe(), SHA256: p.Source.Digest}}
	return vm.WriteMetadata(outDir, meta)
}

// Tags are the SOABI and EXT_SUFFIX a translated VM reports (pypy311-pp73
// and .pypy311-pp73-x86_64-linux-gnu.so): "pp" plus PyPy's major and minor
// version, as pypy/module/imp/importing.py spells them.
func Tags(r *platforms.Release, t *platforms.Target) (soabi, ext string) {
	v := strings.SplitN(r.PyPyVersion, ".", 3)
	pp := v[0]
	if len(v) > 1 {
		pp += v[1]
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
