package sbom

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// Tree is what Scan found in a built tree.
type Tree struct {
	Root     string
	ELF      []ELFFile       // sorted by path
	Python   []PythonPackage // wheels and installed dist-infos, sorted
	Stdlib   string          // slash path of the stdlib dir ("" if none)
	NumFiles int             // regular files in the tree
}

// ELFFile is an executable or shared object in the tree.
type ELFFile struct {
	Path    string   // slash path relative to the root
	SHA256  string   //
	Soname  string   // DT_SONAME, "" if none
	Needed  []string // DT_NEEDED in file order
	Machine string   // e.g. EM_X86_64
}

// PythonPackage is a wheel file or an installed distribution.
type PythonPackage struct {
	Name    string
	Version string
	License string // SPDX id or licence text from its METADATA ("" if unknown)
	Path    string // slash path of the .whl or .dist-info dir
	SHA256  string // of the .whl; "" for an installed dist-info
}

// Scan walks root (not following symlinks) and reads every ELF file's
// NEEDED and SONAME entries, every wheel's and dist-info's METADATA, and
// where the stdlib is.
func Scan(ctx context.Context, root string) (*Tree, error) {
	t := &Tree{Root: root}
	stdlibDepth := -1
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir() && strings.HasSuffix(d.Name(), ".dist-info"):
			pp, err := readDistInfo(p, rel)
			if err != nil {
				return err
			}
			if pp != nil {
				t.Python = append(t.Python, *pp)
			}
			return nil
		case !d.Type().IsRegular():
			return nil
		}
		t.NumFiles++
		if d.Name() == "os.py" {
			// The stdlib is the shallowest directory holding os.py.
			if depth := strings.Count(rel, "/"); stdlibDepth < 0 || depth < stdlibDepth {
				stdlibDepth, t.Stdlib = depth, path.Dir(rel)
			}
		}
		if strings.HasSuffix(d.Name(), ".whl") {
			pp, err := readWheel(p, rel)
			if err != nil {
				return err
			}
			t.Python = append(t.Python, *pp)
			return nil
		}
		ef, err := readELF(p, rel)
		if err != nil {
			return err
		}
		if ef != nil {
			t.ELF = append(t.ELF, *ef)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", root, err)
	}
	sort.Slice(t.ELF, func(i, j int) bool { return t.ELF[i].Path < t.ELF[j].Path })
	sort.Slice(t.Python, func(i, j int) bool { return t.Python[i].Path < t.Python[j].Path })
	return t, nil
}

// Sonames returns every NEEDED soname no file in the tree provides,
// sorted: the libraries the tree needs from the system.
func (t *Tree) Sonames() []string {
	var out []string
	for _, f := range t.ELF {
		for _, n := range f.Needed {
			if t.provider(n) == nil {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// provider is the tree's ELF file that satisfies a NEEDED soname: one
// with that SONAME or, for libraries without one (libpypy3.9-c.so), that
// file name.
func (t *Tree) provider(soname string) *ELFFile {
	for i := range t.ELF {
		if t.ELF[i].Soname == soname {
			return &t.ELF[i]
		}
	}
	for i := range t.ELF {
		if t.ELF[i].Soname == "" && path.Base(t.ELF[i].Path) == soname {
			return &t.ELF[i]
		}
	}
	return nil
}

func readELF(p, rel string) (*ELFFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var magic [4]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil || string(magic[:]) != elf.ELFMAG {
		return nil, nil
	}
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	defer ef.Close()
	out := &ELFFile{Path: rel, Machine: ef.Machine.String()}
	// A static binary has no dynamic section: DynString gives nothing.
	if out.Needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("%s: NEEDED: %w", rel, err)
	}
	sonames, err := ef.DynString(elf.DT_SONAME)
	if err != nil {
		return nil, fmt.Errorf("%s: SONAME: %w", rel, err)
	}
	if len(sonames) > 0 {
		out.Soname = sonames[0]
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("hash %s: %w", rel, err)
	}
	out.SHA256 = hex.EncodeToString(h.Sum(nil))
	return out, nil
}

// readWheel takes name and version from the wheel's METADATA (falling
// back to its file name) and hashes the file.
func readWheel(p, rel string) (*PythonPackage, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	pp := &PythonPackage{Path: rel, SHA256: hex.EncodeToString(sum[:])}
	// File name: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl
	parts := strings.Split(strings.TrimSuffix(path.Base(rel), ".whl"), "-")
	if len(parts) >= 5 {
		pp.Name, pp.Version = parts[0], parts[1]
	}
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rel, err)
	}
	for _, f := range zr.File {
		dir, base := path.Split(f.Name)
		if base != "METADATA" || strings.Count(dir, "/") != 1 || !strings.HasSuffix(dir, ".dist-info/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		m, err := parseMetadata(io.LimitReader(rc, 4<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: METADATA: %w", rel, err)
		}
		m.apply(pp)
		break
	}
	if pp.Name == "" || pp.Version == "" {
		return nil, fmt.Errorf("%s: cannot tell the wheel's name and version", rel)
	}
	return pp, nil
}

func readDistInfo(dir, rel string) (*PythonPackage, error) {
	f, err := os.Open(filepath.Join(dir, "METADATA"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := parseMetadata(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%s/METADATA: %w", rel, err)
	}
	pp := &PythonPackage{Path: rel}
	m.apply(pp)
	if pp.Name == "" || pp.Version == "" {
		return nil, nil
	}
	return pp, nil
}

// metadata is the part of a core-metadata file the SBOM uses.
type metadata struct {
	name, version, license, licenseExpr string
	classifiers                         []string
}

func (m metadata) apply(pp *PythonPackage) {
	if m.name != "" {
		pp.Name = m.name
	}
	if m.version != "" {
		pp.Version = m.version
	}
	pp.License = pythonLicense(m)
}

// parseMetadata reads the RFC 822 style header of a METADATA file.
func parseMetadata(r io.Reader) (metadata, error) {
	var m metadata
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break // the body (description) starts
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			continue // continuation lines of a long field
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(k) {
		case "name":
			m.name = v
		case "version":
			m.version = v
		case "license":
			m.license = v
		case "license-expression":
			m.licenseExpr = v
		case "classifier":
			m.classifiers = append(m.classifiers, v)
		}
	}
	return m, sc.Err()
}
