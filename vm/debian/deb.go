package debian

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debfile"
)

// Deb is an opened .deb: its control fields and a way to walk its data.
type Deb struct {
	Path    string
	Control Control
}

// Control is the package's control paragraph.
type Control map[string]string

// Open reads a .deb's control file.
func Open(path string) (*Deb, error) {
	d := &Deb{Path: path}
	err := d.walk("control", func(h *tar.Header, r io.Reader) error {
		if strings.TrimPrefix(h.Name, "./") != "control" {
			return nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		d.Control = parseControl(b)
		return debfile.ErrStop
	})
	if err != nil {
		return nil, err
	}
	if d.Control == nil {
		return nil, fmt.Errorf("%s: no control file", path)
	}
	return d, nil
}

// WalkData calls fn for every entry of the package's data.tar.
func (d *Deb) WalkData(fn func(h *tar.Header, r io.Reader) error) error {
	return d.walk("data", fn)
}

func (d *Deb) walk(member string, fn func(h *tar.Header, r io.Reader) error) error {
	return debfile.Walk(d.Path, member, fn)
}

// parseControl reads an RFC822-style paragraph; continuation lines are
// joined with newlines.
func parseControl(b []byte) Control {
	c := Control{}
	var last string
	for _, line := range strings.Split(string(bytes.TrimSpace(b)), "\n") {
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			c[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		c[last] = strings.TrimSpace(v)
	}
	return c
}

// ExtractAll unpacks every file, directory and symlink of the package's
// data into dir (used for emulation sysroots, where everything is wanted).
// Paths are cleaned and kept inside dir; absolute link targets are kept
// as they are, since they resolve inside the sysroot under emulation.
func (d *Deb) ExtractAll(dir string) error {
	return d.WalkData(func(h *tar.Header, body io.Reader) error {
		name := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if name == "" {
			return nil
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch h.Typeflag {
		case tar.TypeDir:
			return os.MkdirAll(dst, 0o755)
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, body); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			os.Remove(dst)
			return os.Symlink(h.Linkname, dst)
		case tar.TypeLink:
			src := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/")))
			os.Remove(dst)
			return os.Link(src, dst)
		}
		return nil
	})
}
