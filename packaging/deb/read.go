package deb

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
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

var errStop = errors.New("stop")

// Open reads a .deb's ar members and control paragraph.
func Open(path string) (*Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p := &Package{Path: path}
	err = readAr(f, func(m arMember, body io.Reader) error {
		p.Members = append(p.Members, m.Name)
		if m.Name == "debian-binary" {
			p.MTime = m.MTime
		}
		if !strings.HasPrefix(m.Name, "control.tar") {
			return nil
		}
		return walkTar(m.Name, body, func(h *tar.Header, r io.Reader) error {
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
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	found := false
	err = readAr(f, func(m arMember, body io.Reader) error {
		if !strings.HasPrefix(m.Name, member+".tar") {
			return nil
		}
		found = true
		return walkTar(m.Name, body, fn)
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err == nil && !found {
		err = fmt.Errorf("no %s.tar member", member)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	return nil
}

func walkTar(name string, r io.Reader, fn func(h *tar.Header, r io.Reader) error) error {
	zr, err := decompress(name, r)
	if err != nil {
		return err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if err := fn(h, tr); err != nil {
			return err
		}
	}
}

func decompress(name string, r io.Reader) (io.ReadCloser, error) {
	switch {
	case strings.HasSuffix(name, ".tar.xz"):
		x, err := xz.NewReader(r)
		return io.NopCloser(x), err
	case strings.HasSuffix(name, ".tar.gz"):
		return kgzip.NewReader(r)
	case strings.HasSuffix(name, ".tar.zst"):
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".tar"):
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("member %s: unknown compression", name)
}
