package deb

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debfile"
)

// Package is a .deb read back: its control paragraph and the members of
// its ar container.
type Package struct {
	Path    string
	Control Paragraph
	// MTime is the ar members' mtime; pypyctl's packages set it to
	// SOURCE_DATE_EPOCH, so it dates the package.
	MTime   int64
	Members []string
}

// Open reads a .deb's ar members and control paragraph.
func Open(path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Package{Path: path}
	err = debfile.WalkAr(f, func(m debfile.Member, body io.Reader) error {
		p.Members = append(p.Members, m.Name)
		if m.Name == "debian-binary" {
			p.MTime = m.MTime
		}
		if !strings.HasPrefix(m.Name, "control.tar") {
			return nil
		}
		return debfile.WalkTar(m.Name, body, func(h *tar.Header, r io.Reader) error {
			if strings.TrimPrefix(h.Name, "./") != "control" {
				return nil
			}
			ps, err := ParseParagraphs(r)
			if err != nil {
				return fmt.Errorf("control: %w", err)
			}
			if len(ps) != 1 {
				return fmt.Errorf("control file has %d paragraphs, want 1", len(ps))
			}
			p.Control = ps[0]
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if len(p.Members) == 0 || p.Members[0] != "debian-binary" {
		return nil, fmt.Errorf("read %s: not a Debian package (first member %v)", path, p.Members)
	}
	if p.Control == nil {
		return nil, fmt.Errorf("read %s: no control file", path)
	}
	return p, nil
}

// Walk calls fn for every entry of the package's control or data tar
// (member "control" or "data").
func Walk(path, member string, fn func(h *tar.Header, r io.Reader) error) error {
	return debfile.Walk(path, member, fn)
}
