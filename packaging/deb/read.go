package deb

import (
	"archive/tar"
	"io"

	"github.com/pypyctl/pypyctl/internal/debfile"
)

// Field, Paragraph and ParseParagraphs are internal/debfile's, the one
// deb822 reader; the names stay here for the package and repository
// writers.
type (
	Field     = debfile.Field
	Paragraph = debfile.Paragraph
)

// ParseParagraphs reads deb822 paragraphs (debfile.ParseParagraphs).
func ParseParagraphs(r io.Reader) ([]Paragraph, error) { return debfile.ParseParagraphs(r) }

// Package is a .deb read back: its control paragraph.
type Package struct {
	Path    string
	Control Paragraph
	// MTime is the ar members' mtime; pypyctl's packages set it to
	// SOURCE_DATE_EPOCH, so it dates the package.
	MTime int64
}

// Open reads a .deb's control paragraph with debfile.Open.
func Open(path string) (*Package, error) {
	d, err := debfile.Open(path)
	if err != nil {
		return nil, err
	}
	return &Package{Path: d.Path, Control: d.Paragraph, MTime: d.MTime}, nil
}

// Walk calls fn for every entry of the package's control or data tar
// (member "control" or "data").
func Walk(path, member string, fn func(h *tar.Header, r io.Reader) error) error {
	return debfile.Walk(path, member, fn)
}
