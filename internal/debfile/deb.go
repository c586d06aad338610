package debfile

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// Deb is an opened .deb: its control paragraph and a way to walk its data.
type Deb struct {
	Path string
	// Paragraph is the control file, field order kept; Control is the
	// same as a map.
	Paragraph Paragraph
	Control   Control
	// MTime is the debian-binary member's mtime; pypyctl's packages set
	// it to SOURCE_DATE_EPOCH, so it dates the package.
	MTime int64
}

// Open reads a .deb's control file, the one reader of it: the first ar
// member must be debian-binary and the control.tar member must hold one
// ./control paragraph. The data member is left unread.
func Open(path string) (*Deb, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d := &Deb{Path: path}
	members := 0
	control := false
	err = WalkAr(f, func(m Member, body io.Reader) error {
		members++
		if members == 1 {
			if m.Name != "debian-binary" {
				return fmt.Errorf("not a Debian package (first member %s)", m.Name)
			}
			d.MTime = m.MTime
			return nil
		}
		if !strings.HasPrefix(m.Name, "control.tar") {
			return nil
		}
		control = true
		err := WalkTar(m.Name, body, func(h *tar.Header, r io.Reader) error {
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
			d.Paragraph = ps[0]
			return ErrStop
		})
		if err == nil {
			err = ErrStop // what follows is data
		}
		return err
	})
	switch {
	case errors.Is(err, ErrStop):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", path, err)
	case members == 0:
		return nil, fmt.Errorf("read %s: not a Debian package (no members)", path)
	case !control:
		return nil, fmt.Errorf("read %s: no control.tar member", path)
	}
	if d.Paragraph == nil {
		return nil, fmt.Errorf("read %s: no control file", path)
	}
	d.Control = d.Paragraph.Control()
	return d, nil
}

// WalkData calls fn for every entry of the package's data.tar.
func (d *Deb) WalkData(fn func(h *tar.Header, r io.Reader) error) error {
	return Walk(d.Path, "data", fn)
}

// ExtractAll unpacks every file, directory and symlink of the package's
// data into dir (emulation sysroots, builder images: everything is
// wanted). Writes go through an os.Root, so no entry and no symlink a
// package ships can make a write land outside dir; absolute link targets
// are kept as they are, since they resolve inside the root once it is
// the sandbox's /. Modes keep only the executable bits (no setuid), and
// directories are 0755 whatever the umask.
func (d *Deb) ExtractAll(dir string) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	mkdir := func(name string) error {
		if name == "." {
			return nil
		}
		if err := root.MkdirAll(name, 0o755); err != nil {
			return err
		}
		return root.Chmod(name, 0o755)
	}
	return d.WalkData(func(h *tar.Header, body io.Reader) error {
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			return nil
		}
		var err error
		switch h.Typeflag {
		case tar.TypeDir:
			err = mkdir(name)
		case tar.TypeReg:
			if err = mkdir(path.Dir(name)); err != nil {
				break
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			_ = root.Remove(name)
			var f *os.File
			if f, err = root.OpenFile(name, os.O_CREATE|os.O_WRONLY|os.O_EXCL, mode); err != nil {
				break
			}
			if _, err = io.Copy(f, body); err != nil {
				f.Close()
				break
			}
			if err = f.Close(); err == nil {
				err = root.Chmod(name, mode)
			}
		case tar.TypeSymlink:
			if err = mkdir(path.Dir(name)); err != nil {
				break
			}
			_ = root.Remove(name)
			err = root.Symlink(h.Linkname, name)
		case tar.TypeLink:
			_ = root.Remove(name)
			err = root.Link(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"), name)
		}
		if err != nil {
			return fmt.Errorf("%s: %s: %w", filepath.Base(d.Path), name, err)
		}
		return nil
	})
}
