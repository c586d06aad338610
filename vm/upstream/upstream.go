// Package upstream imports a pypy.org-style release archive
// (pypyX.Y-vV-<plat>.tar.bz2, .tar.gz, .tar.xz, .tar.zst or .zip) as a
// translated VM: the archive is checked against its pinned sha256 before
// it is opened, unpacked safely, and its tree kept as the VM's tree, less
// what assemble adds again (bin links, README.rst).
package upstream

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/archive"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes when the import's output changes.
const StageVersion = 1

// Import verifies archivePath against sha256 and writes a vm directory for
// the release and target into outDir.
func Import(ctx context.Context, archivePath, sha256 string, r *platforms.Release, t *platforms.Target, outDir string) error {
	if err := fsutil.VerifySHA256(archivePath, sha256); err != nil {
		var dm *fsutil.DigestMismatchError
		if errors.As(err, &dm) {
			return fmt.Errorf("upstream archive %s does not match its pin: expected sha256 %s, got %s", filepath.Base(archivePath), dm.Expected, dm.Actual)
		}
		return err
	}
	tmp, err := os.MkdirTemp(outDir, ".unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	unpacked := filepath.Join(tmp, "x")
	if err := archive.Extract(ctx, archivePath, unpacked, archive.ExtractOptions{}); err != nil {
		return fmt.Errorf("upstream archive: %w", err)
	}
	entries, err := os.ReadDir(unpacked)
	if err != nil {
		return err
	}
	if len(entries) != 1 || !entries[0].IsDir() {
		return fmt.Errorf("upstream archive %s: expected one top directory, found %d entries", filepath.Base(archivePath), len(entries))
	}
	top := filepath.Join(unpacked, entries[0].Name())
	py := r.PythonShort()
	meta := &vm.Metadata{
		Origin:        "upstream",
		PyPyVersion:   r.PyPyVersion,
		PythonVersion: r.PythonVersion,
		Arch:          t.Arch,
		Triplet:       t.Triplet,
		Interpreter:   "bin/" + r.Interpreter(),
		Library:       "bin/lib" + r.Interpreter() + "-c.so",
		Inputs:        []vm.Input{{Name: filepath.Base(archivePath), SHA256: sha256}},
	}
	for _, must := range []string{meta.Interpreter, meta.Library, r.StdlibDir(), "LICENSE"} {
		if fi, err := os.Lstat(filepath.Join(top, must)); err != nil || fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("upstream archive %s: no %s in %s/ (is it a PyPy %s release for Python %s?)", filepath.Base(archivePath), must, entries[0].Name(), r.PyPyVersion, py)
		}
	}
	if err := vm.CheckRunpath(filepath.Join(top, meta.Interpreter)); err != nil {
		return err
	}
	if err := os.Rename(filepath.Join(top, "LICENSE"), filepath.Join(outDir, "LICENSE")); err != nil {
		return err
	}
	// assemble makes the bin links and README.rst again.
	os.Remove(filepath.Join(top, "README.rst"))
	bins, _ := os.ReadDir(filepath.Join(top, "bin"))
	for _, b := range bins {
		if b.Type()&fs.ModeSymlink != 0 {
			os.Remove(filepath.Join(top, "bin", b.Name()))
		}
	}
	if err := os.Rename(top, vm.TreeDir(outDir)); err != nil {
		return err
	}
	// PyPy2.7 keeps its cffi modules in lib_pypy; Python 3 trees in the stdlib.
	modules := filepath.Join(vm.TreeDir(outDir), filepath.FromSlash(r.StdlibDir()))
	if r.Major() == "2" {
		modules = filepath.Join(vm.TreeDir(outDir), "lib_pypy")
	}
	if meta.SOABI, meta.ExtSuffix, err = vm.Tags(modules, t.Triplet); err != nil {
		return err
	}
	return vm.WriteMetadata(outDir, meta)
}
