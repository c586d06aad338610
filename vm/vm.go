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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

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
