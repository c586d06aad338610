package oci

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

// LockSchema is the version of the lock file format.
const LockSchema = 1

// EmbeddedLockName is the Path of the lock built into the binary.
const EmbeddedLockName = "<embedded>/packaging/oci/oci-lock.yaml"

//go:embed oci-lock.yaml
var embeddedLock []byte

// Lock pins every Debian package of the images' base layers by sha256,
// per Debian architecture. pypyctl writes it when an architecture has no
// entry yet (or with --update-lock) and otherwise only reads it: every
// .deb is checked against it before it is unpacked.
type Lock struct {
	Schema int    `yaml:"schema"`
	Suite  string `yaml:"suite"`
	// Packages by Debian architecture, each list sorted by name.
	Packages map[string][]platforms.DebPackage `yaml:"packages"`
	Path     string                            `yaml:"-"`
}

// LoadLock reads a lock file; "" is the lock embedded in pypyctl. A file
// that does not exist yet is an empty lock (the first run writes it).
func LoadLock(path string) (*Lock, error) {
	data, name := embeddedLock, EmbeddedLockName
	if path != "" {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return &Lock{Schema: LockSchema, Packages: map[string][]platforms.DebPackage{}, Path: path}, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read OCI lock: %w", err)
		}
		data, name = b, path
	}
	l, err := ParseLock(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l.Path = name
	if path == "" {
		l.Path = ""
	}
	return l, nil
}

// ParseLock decodes and checks a lock.
func ParseLock(data []byte) (*Lock, error) {
	var l Lock
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("parse OCI lock: %w", err)
	}
	if l.Schema != LockSchema {
		return nil, fmt.Errorf("OCI lock schema %d, this pypyctl reads %d", l.Schema, LockSchema)
	}
	if l.Packages == nil {
		l.Packages = map[string][]platforms.DebPackage{}
	}
	for arch, pkgs := range l.Packages {
		seen := map[string]bool{}
		for _, p := range pkgs {
			switch {
			case p.Name == "" || p.Version == "":
				return nil, fmt.Errorf("OCI lock: %s: an entry without name or version", arch)
			case p.Arch != arch && p.Arch != "all":
				return nil, fmt.Errorf("OCI lock: %s: package %s has arch %q", arch, p.Name, p.Arch)
			case len(p.SHA256) != 64 || strings.Trim(p.SHA256, "0123456789abcdef") != "":
				return nil, fmt.Errorf("OCI lock: %s: package %s: sha256 %q is not 64 hex digits", arch, p.Name, p.SHA256)
			case seen[p.Name]:
				return nil, fmt.Errorf("OCI lock: %s: package %s is listed twice", arch, p.Name)
			}
			seen[p.Name] = true
		}
	}
	return &l, nil
}

// Arch returns the pins of one architecture by name.
func (l *Lock) Arch(arch string) map[string]platforms.DebPackage {
	out := map[string]platforms.DebPackage{}
	for _, p := range l.Packages[arch] {
		out[p.Name] = p
	}
	return out
}

// set replaces one architecture's pins.
func (l *Lock) set(arch string, pkgs []platforms.DebPackage) {
	pkgs = append([]platforms.DebPackage(nil), pkgs...)
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	if l.Packages == nil {
		l.Packages = map[string][]platforms.DebPackage{}
	}
	l.Packages[arch] = pkgs
}

// Marshal renders the lock as YAML, one flow mapping per package so diffs
// of an update read line by line.
func (l *Lock) Marshal() []byte {
	var b strings.Builder
	b.WriteString("# pypyctl OCI base-layer lock: every Debian package of the images' base\n")
	b.WriteString("# layers, pinned by sha256 per architecture. Written by\n")
	b.WriteString("# `pypyctl package oci --lock FILE [--update-lock]`; checked on every build.\n")
	fmt.Fprintf(&b, "schema: %d\n", LockSchema)
	if l.Suite != "" {
		fmt.Fprintf(&b, "suite: %s\n", strconv.Quote(l.Suite))
	}
	b.WriteString("packages:")
	if len(l.Packages) == 0 {
		b.WriteString(" {}\n")
		return []byte(b.String())
	}
	b.WriteString("\n")
	for _, arch := range slices.Sorted(maps.Keys(l.Packages)) {
		fmt.Fprintf(&b, "  %s:\n", arch)
		for _, p := range l.Packages[arch] {
			fmt.Fprintf(&b, "    - {name: %s, version: %s, arch: %s, sha256: %s}\n",
				strconv.Quote(p.Name), strconv.Quote(p.Version), strconv.Quote(p.Arch), p.SHA256)
		}
	}
	return []byte(b.String())
}

// Save writes the lock to its Path atomically.
func (l *Lock) Save() error {
	if l.Path == "" {
		return errors.New("the embedded OCI lock cannot be rewritten: pass --lock FILE (the project's is packaging/oci/oci-lock.yaml)")
	}
	if err := fsutil.WriteFileAtomic(l.Path, l.Marshal(), 0o644); err != nil {
		return fmt.Errorf("write OCI lock: %w", err)
	}
	return nil
}

// Name says where the lock came from, for messages.
func (l *Lock) Name() string {
	if l.Path == "" {
		return EmbeddedLockName
	}
	return l.Path
}
