package builder

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

//go:embed builders.lock.yaml
var embeddedLock []byte

// EmbeddedLockName is how messages name the lock compiled into pypyctl.
const EmbeddedLockName = "translator/builder/builders.lock.yaml (embedded)"

// maxLockSize bounds a lock file read from disk: a real one is tens of kB.
const maxLockSize = 4 << 20

// Lock is builders.lock.yaml: every builder image and its pins.
type Lock struct {
	Schema int     `yaml:"schema"`
	Images []*Spec `yaml:"images"`
	// Path is where the lock was read from; "" for the embedded one,
	// which cannot be rewritten.
	Path string `yaml:"-"`
}

// Spec is one builder image: what it is made from.
type Spec struct {
	Name  string   `yaml:"name"`
	Suite string   `yaml:"suite"`
	Roots []string `yaml:"roots"`
	// Links are symlinks update-alternatives (or another maintainer
	// script) would have made: path in the image → target.
	Links map[string]string `yaml:"links"`
	// Packages are the pins per Debian architecture.
	Packages map[string][]platforms.DebPackage `yaml:"packages"`
}

var (
	imageNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{0,62}$`)
	debNameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	sha256RE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// DefaultLock is the lock compiled into pypyctl.
func DefaultLock() (*Lock, error) { return ParseLock(embeddedLock, "") }

// LoadLock reads a lock file (a size-capped read: it is user input).
func LoadLock(p string) (*Lock, error) {
	b, err := fsutil.ReadFileLimit(p, maxLockSize)
	if err != nil {
		return nil, fmt.Errorf("builder lock: %w", err)
	}
	return ParseLock(b, p)
}

// ParseLock decodes and validates a lock; unknown keys are errors.
func ParseLock(b []byte, p string) (*Lock, error) {
	name := p
	if name == "" {
		name = EmbeddedLockName
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	l := &Lock{}
	if err := dec.Decode(l); err != nil {
		return nil, fmt.Errorf("builder lock %s: %w", name, err)
	}
	l.Path = p
	if l.Schema != 1 {
		return nil, fmt.Errorf("builder lock %s: schema %d, want 1", name, l.Schema)
	}
	seen := map[string]bool{}
	for _, s := range l.Images {
		if err := s.validate(); err != nil {
			return nil, fmt.Errorf("builder lock %s: %w", name, err)
		}
		if seen[s.Name] {
			return nil, fmt.Errorf("builder lock %s: image %s twice", name, s.Name)
		}
		seen[s.Name] = true
	}
	return l, nil
}

func (s *Spec) validate() error {
	if !imageNameRE.MatchString(s.Name) {
		return fmt.Errorf("image name %q: want lowercase letters, digits, '.' and '-'", s.Name)
	}
	if !debNameRE.MatchString(s.Suite) {
		return fmt.Errorf("image %s: suite %q is not a Debian suite name", s.Name, s.Suite)
	}
	if len(s.Roots) == 0 {
		return fmt.Errorf("image %s: no roots", s.Name)
	}
	for _, r := range s.Roots {
		if !debNameRE.MatchString(r) {
			return fmt.Errorf("image %s: root %q is not a Debian package name", s.Name, r)
		}
	}
	for p, target := range s.Links {
		if p != path.Clean(p) || strings.HasPrefix(p, "/") || strings.HasPrefix(p, "..") || target == "" {
			return fmt.Errorf("image %s: link %q → %q: want a clean relative path and a target", s.Name, p, target)
		}
	}
	for arch, pkgs := range s.Packages {
		if !debNameRE.MatchString(arch) {
			return fmt.Errorf("image %s: architecture %q", s.Name, arch)
		}
		for _, p := range pkgs {
			if !debNameRE.MatchString(p.Name) || p.Version == "" || strings.ContainsAny(p.Version, "/ \n") ||
				(p.Arch != arch && p.Arch != "all") || !sha256RE.MatchString(p.SHA256) {
				return fmt.Errorf("image %s (%s): bad pin %s %s (%s) sha256 %q", s.Name, arch, p.Name, p.Version, p.Arch, p.SHA256)
			}
		}
	}
	return nil
}

// Image returns the named image's spec.
func (l *Lock) Image(name string) (*Spec, error) {
	var names []string
	for _, s := range l.Images {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return nil, fmt.Errorf("no builder image %q in %s (it has: %s)", name, l.Name(), strings.Join(names, ", "))
}

// Name is how messages name the lock.
func (l *Lock) Name() string {
	if l.Path == "" {
		return EmbeddedLockName
	}
	return l.Path
}

// Marshal writes the lock in its canonical form: one flow mapping per
// pin, packages sorted, so diffs of an update read as package changes.
func (l *Lock) Marshal() []byte {
	var b strings.Builder
	b.WriteString("# pypyctl builder-image lock: the Debian packages of each builder image,\n" +
		"# pinned by sha256 per architecture. Written by\n" +
		"# `pypyctl translate image lock --lock FILE --arch ARCH`; checked on every use.\n")
	fmt.Fprintf(&b, "schema: %d\nimages:\n", l.Schema)
	q := func(s string) string { return fmt.Sprintf("%q", s) }
	for _, s := range l.Images {
		fmt.Fprintf(&b, "  - name: %s\n    suite: %s\n    roots: [%s]\n", s.Name, s.Suite, strings.Join(s.Roots, ", "))
		if len(s.Links) > 0 {
			b.WriteString("    links:\n")
			for _, p := range sortedKeys(s.Links) {
				fmt.Fprintf(&b, "      %s: %s\n", p, q(s.Links[p]))
			}
		}
		if len(s.Packages) == 0 {
			b.WriteString("    packages: {}\n")
			continue
		}
		b.WriteString("    packages:\n")
		for _, arch := range sortedKeys(s.Packages) {
			fmt.Fprintf(&b, "      %s:\n", arch)
			pkgs := append([]platforms.DebPackage(nil), s.Packages[arch]...)
			sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
			for _, p := range pkgs {
				fmt.Fprintf(&b, "        - {name: %s, version: %s, arch: %s, sha256: %s}\n", q(p.Name), q(p.Version), q(p.Arch), p.SHA256)
			}
		}
	}
	return []byte(b.String())
}

// Save writes the lock back to its file (temp file, then rename).
func (l *Lock) Save() error {
	if l.Path == "" {
		return errors.New("the embedded builder lock cannot be rewritten: pass --lock FILE")
	}
	if _, err := ParseLock(l.Marshal(), l.Path); err != nil {
		return fmt.Errorf("refusing to write an invalid lock: %w", err)
	}
	if err := fsutil.WriteFileAtomic(l.Path, l.Marshal(), 0o644); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("write builder lock: %w", err)
	}
	return nil
}

// WriteEmbedded copies the embedded lock to p, the start of an update.
func WriteEmbedded(p string) error {
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("%s exists", p)
	}
	return fsutil.WriteFileAtomic(p, embeddedLock, 0o644)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
