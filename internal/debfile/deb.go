package debfile

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
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
		return ErrStop
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
	return Walk(d.Path, member, fn)
}

// parseControl reads a control file's (first) paragraph.
func parseControl(b []byte) Control {
	if ps := ParseParagraphs(b); len(ps) > 0 {
		return ps[0]
	}
	return Control{}
}

// ParseParagraphs reads deb822 paragraphs (control files, apt's package
// lists); continuation lines are joined with newlines.
func ParseParagraphs(b []byte) []Control {
	var out []Control
	cur := Control{}
	var last string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = Control{}
			}
			last = ""
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			cur[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		cur[last] = strings.TrimSpace(v)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
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
