// Package vm defines the "translated VM" artifact every importer and the
// translator produce and assemble consumes: a directory holding
//
//	vm.json   Metadata (versions, tags, arch, where it came from)
//	tree/     bin/pypyX.Y, bin/libpypyX.Y-c.so, lib/pypyX.Y/, include/pypyX.Y/
//	LICENSE   the licence text that travels with the binaries
//
// tree/ is already in upstream's relocatable layout, so assemble only adds
// what every release tree has (symlinks, site-packages, ensurepip wheels).
package vm

import (
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// MetadataFile is the name of the metadata file in a VM directory.
const MetadataFile = "vm.json"

// Metadata describes a translated VM.
type Metadata struct {
	Origin        string  `json:"origin"` // debian | upstream | translate
	PyPyVersion   string  `json:"pypy_version"`
	PythonVersion string  `json:"python_version"`
	Arch          string  `json:"arch"`    // GOARCH spelling
	Triplet       string  `json:"triplet"` // multiarch triplet, e.g. x86_64-linux-gnu
	SOABI         string  `json:"soabi"`   // pypy39-pp73
	ExtSuffix     string  `json:"ext_suffix"`
	Interpreter   string  `json:"interpreter"` // relative to tree/: bin/pypy3.9
	Library       string  `json:"library"`     // bin/libpypy3.9-c.so
	Inputs        []Input `json:"inputs"`
	// RuntimeDepends are the Debian dependencies of the VM's shared
	// libraries, as the source packages declared them (debian origin only).
	RuntimeDepends []string `json:"runtime_depends,omitempty"`
}

// Input is one pinned input the VM was made from.
type Input struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"`
	SHA256  string `json:"sha256"`
}

// TreeDir is the upstream-layout tree inside a VM directory.
func TreeDir(vmDir string) string { return filepath.Join(vmDir, "tree") }

// ReadMetadata loads vm.json from a VM directory.
func ReadMetadata(vmDir string) (*Metadata, error) {
	b, err := os.ReadFile(filepath.Join(vmDir, MetadataFile))
	if err != nil {
		return nil, fmt.Errorf("read VM metadata: %w", err)
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", filepath.Join(vmDir, MetadataFile), err)
	}
	return &m, nil
}

// WriteMetadata writes vm.json into a VM directory.
func WriteMetadata(vmDir string, m *Metadata) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(vmDir, MetadataFile), append(b, '\n'), 0o644)
}

// Tags reads SOABI and EXT_SUFFIX off the prebuilt cffi modules' names
// (e.g. _sqlite3_cffi.pypy39-pp73-x86_64-linux-gnu.so); the smoke test
// later checks that the interpreter reports the same.
func Tags(stdlib, triplet string) (soabi, ext string, err error) {
	matches, _ := filepath.Glob(filepath.Join(stdlib, "*_cffi.*-"+triplet+".so"))
	sort.Strings(matches)
	for _, m := range matches {
		base := filepath.Base(m)
		ext = base[strings.Index(base, "."):]                                      // .pypy39-pp73-x86_64-linux-gnu.so
		abi := strings.TrimSuffix(strings.TrimPrefix(ext, "."), "-"+triplet+".so") // pypy39-pp73
		if strings.HasPrefix(abi, "pypy") {
			return abi, ext, nil
		}
	}
	return "", "", fmt.Errorf("no compiled cffi module for %s in %s: cannot tell SOABI", triplet, stdlib)
}

// CheckRunpath makes sure a launcher finds libpypy next to itself
// (RUNPATH or RPATH $ORIGIN), which is what keeps a tree relocatable.
func CheckRunpath(launcher string) error {
	f, err := elf.Open(launcher)
	if err != nil {
		return fmt.Errorf("read launcher %s: %w", launcher, err)
	}
	defer f.Close()
	rp, _ := f.DynString(elf.DT_RUNPATH)
	rpath, _ := f.DynString(elf.DT_RPATH)
	for _, p := range append(rp, rpath...) {
		for _, e := range strings.Split(p, ":") {
			if strings.TrimSuffix(e, "/") == "$ORIGIN" {
				return nil
			}
		}
	}
	return fmt.Errorf("launcher %s has RUNPATH %v, not $ORIGIN: the tree would not be relocatable", launcher, append(rp, rpath...))
}

// DebianDepends is RuntimeDepends of a possibly missing VM description:
// only Debian-imported VMs declare any.
func (m *Metadata) DebianDepends() []string {
	if m == nil {
		return nil
	}
	return m.RuntimeDepends
}
