// Package assemble turns a translated VM into a release tree in upstream
// PyPy's layout:
//
//	pypyX.Y-vV-<plat>/
//	  bin/pypyX.Y, bin/libpypyX.Y-c.so, bin/{pypy,pypy3,python,python3,pythonX.Y} -> pypyX.Y
//	  lib/pypyX.Y/ (stdlib + lib_pypy), lib/pypyX.Y/site-packages/
//	  lib/pypyX.Y/ensurepip/_bundled/*.whl
//	  include/pypyX.Y/, LICENSE, README.rst
//
// The tree is relocatable: the launcher finds libpypy through RUNPATH
// $ORIGIN and the VM finds its stdlib relative to its own real path.
package assemble

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/pypyctl/pypyctl/ensurepip"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever the tree this package writes changes.
const StageVersion = 1

// Input is everything a tree is made from.
type Input struct {
	VMDir   string   // a vm directory (see package vm)
	Wheels  []string // verified ensurepip wheels
	Release *platforms.Release
	Target  *platforms.Target
}

// Assemble writes the release tree into outDir/<archive base>/ and returns
// that directory.
func Assemble(ctx context.Context, in Input, outDir string) (string, error) {
	meta, err := vm.ReadMetadata(in.VMDir)
	if err != nil {
		return "", err
	}
	if meta.PythonVersion != in.Release.PythonVersion || meta.PyPyVersion != in.Release.PyPyVersion {
		return "", fmt.Errorf("assemble: VM is PyPy %s for Python %s, release %s wants %s for %s",
			meta.PyPyVersion, meta.PythonVersion, in.Release.Name, in.Release.PyPyVersion, in.Release.PythonVersion)
	}
	root := filepath.Join(outDir, in.Release.ArchiveBase(in.Target))
	if err := fsutil.CopyTree(ctx, vm.TreeDir(in.VMDir), root, 0); err != nil {
		return "", fmt.Errorf("assemble: copy VM: %w", err)
	}
	interp := filepath.Base(meta.Interpreter)
	for _, link := range binLinks(in.Release) {
		if link == interp {
			continue
		}
		if err := os.Symlink(interp, filepath.Join(root, "bin", link)); err != nil {
			return "", fmt.Errorf("assemble: %w", err)
		}
	}
	stdlib := filepath.Join(root, filepath.FromSlash(in.Release.StdlibDir()))
	site := filepath.Join(root, filepath.FromSlash(in.Release.SitePackagesDir()))
	if err := os.MkdirAll(site, 0o755); err != nil {
		return "", fmt.Errorf("assemble: %w", err)
	}
	// A file keeps the directory alive through tools that drop empty ones;
	// a translated VM brings the source's own (README.txt, README).
	if entries, err := os.ReadDir(site); err != nil || len(entries) == 0 {
		if err := os.WriteFile(filepath.Join(site, "README"), []byte("This directory exists so that 3rd party packages can be installed here.\n"), 0o644); err != nil {
			return "", fmt.Errorf("assemble: %w", err)
		}
	}
	// Without pinned wheels the VM's own bundled ones (upstream's) stay.
	if len(in.Wheels) > 0 {
		if err := ensurepip.Place(stdlib, in.Wheels); err != nil {
			return "", err
		}
	}
	if err := fsutil.CopyFile(filepath.Join(in.VMDir, "LICENSE"), filepath.Join(root, "LICENSE"), 0); err != nil {
		return "", fmt.Errorf("assemble: LICENSE: %w", err)
	}
	// A tree made from source ships the source's README.rst, as
	// upstream's package.py does; an imported one says where it came from.
	readme, err := os.ReadFile(filepath.Join(in.VMDir, "README.rst"))
	if meta.Origin != "translate" || err != nil {
		if readme, err = renderReadme(in, meta); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "README.rst"), readme, 0o644); err != nil {
		return "", fmt.Errorf("assemble: %w", err)
	}
	if err := normalise(root); err != nil {
		return "", fmt.Errorf("assemble: %w", err)
	}
	return root, nil
}

// binLinks are the names upstream's package step links to the interpreter.
func binLinks(r *platforms.Release) []string {
	if r.Major() == "2" {
		return []string{"pypy", "pypy2", "pypy" + r.PythonShort(), "python", "python2", "python" + r.PythonShort()}
	}
	return []string{"pypy", "pypy3", "python", "python3", "python" + r.PythonShort()}
}

// normalise does what upstream's `chmod -R a+rX,g-w` does, without
// depending on the umask of whoever ran the build, and drops bytecode
// caches: trees ship no .pyc (see docs/architecture.md).
func normalise(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil
		case d.IsDir():
			if d.Name() == "__pycache__" {
				if err := os.RemoveAll(p); err != nil {
					return err
				}
				return filepath.SkipDir
			}
			return os.Chmod(p, 0o755)
		default:
			if strings.HasSuffix(p, ".pyc") {
				return os.Remove(p)
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := os.FileMode(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			return os.Chmod(p, mode)
		}
	})
}

var readmeTmpl = template.Must(template.New("readme").Parse(`=====================================
PyPy {{.R.PyPyVersion}} for Python {{.R.PythonVersion}}
=====================================

This is {{.Base}}, a relocatable PyPy tree in upstream PyPy's release
layout, built by pypyctl from its platform matrix (release {{.R.Name}},
target {{.T.Name}}).

The VM was {{.How}}.

Running it
==========

Unpack anywhere and run ` + "``bin/pypy{{.R.PythonShort}}``" + ` (also ` + "``bin/pypy3``" + ` and
` + "``bin/python3``" + `). The tree finds its standard library relative to the real
path of the executable; PYTHONHOME is not needed.

pip is not preinstalled, as in upstream releases. Install it offline from
the bundled wheels with::

    bin/pypy3 -m ensurepip

or create a virtual environment, which gets pip the same way::

    bin/pypy3 -m venv venv

PyPy is free software; see LICENSE. More at {{.Home}}.
`))

func renderReadme(in Input, meta *vm.Metadata) ([]byte, error) {
	how := "translated from source by RPython"
	switch meta.Origin {
	case "debian":
		var names []string
		for _, i := range meta.Inputs {
			names = append(names, i.Name+" "+i.Version)
		}
		how = "imported from Debian's packages (" + strings.Join(names, ", ") + ")"
	case "upstream":
		how = "imported from an upstream PyPy release archive"
	}
	var b bytes.Buffer
	err := readmeTmpl.Execute(&b, map[string]any{
		"R": in.Release, "T": in.Target, "Base": in.Release.ArchiveBase(in.Target), "How": how, "Home": "https://www.pypy.org/",
	})
	if err != nil {
		return nil, fmt.Errorf("assemble: README.rst: %w", err)
	}
	return b.Bytes(), nil
}
