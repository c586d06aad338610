package debian

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// A .deb is an ar archive of debian-binary, control.tar.* and data.tar.*.
// The ar format is a 60-byte header per member and nothing else, so reading
// it by hand is shorter than adding a dependency for it.

const arMagic = "!<arch>\n"

// arMember calls fn for each member of an ar archive, with a reader
// limited to the member's bytes.
func arMembers(r io.Reader, fn func(name string, size int64, body io.Reader) error) error {
	br := bufio.NewReader(r)
	magic := make([]byte, len(arMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != arMagic {
		return errors.New("not an ar archive (bad magic)")
	}
	hdr := make([]byte, 60)
	for {
		if _, err := io.ReadFull(br, hdr); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("ar header: %w", err)
		}
		if hdr[58] != '`' || hdr[59] != '\n' {
			return errors.New("ar header: bad terminator")
		}
		name := strings.TrimRight(strings.TrimSpace(string(hdr[0:16])), "/")
		size, err := strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("ar member %q: bad size", name)
		}
		body := io.LimitReader(br, size)
		if err := fn(name, size, body); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("ar member %q: %w", name, err)
		}
		if size%2 == 1 { // members are padded to even offsets
			if _, err := br.ReadByte(); err != nil && err != io.EOF {
				return err
			}
		}
	}
}

// decompressor picks the reader for a control/data member by extension.
func decompressor(name string, r io.Reader) (io.Reader, error) {
	switch {
	case strings.HasSuffix(name, ".tar.xz"):
		return xz.NewReader(r)
	case strings.HasSuffix(name, ".tar.zst"):
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".tar.gz"):
		return gzip.NewReader(r)
	case strings.HasSuffix(name, ".tar"):
		return r, nil
	}
	return nil, fmt.Errorf("unsupported member compression %q", name)
}

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
	err := d.walk("control.tar", func(h *tar.Header, r io.Reader) error {
		if strings.TrimPrefix(h.Name, "./") != "control" {
			return nil
		}
		b, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		d.Control = parseControl(b)
		return errStop
	})
	if err != nil {
		return nil, err
	}
	if d.Control == nil {
		return nil, fmt.Errorf("%s: no control file", path)
	}
	return d, nil
}

var errStop = errors.New("stop")

// WalkData calls fn for every entry of the package's data.tar.
func (d *Deb) WalkData(fn func(h *tar.Header, r io.Reader) error) error {
	return d.walk("data.tar", fn)
}

func (d *Deb) walk(prefix string, fn func(h *tar.Header, r io.Reader) error) error {
	f, err := os.Open(d.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	found := false
	err = arMembers(f, func(name string, _ int64, body io.Reader) error {
		if !strings.HasPrefix(name, prefix) || found {
			return nil
		}
		found = true
		zr, err := decompressor(name, body)
		if err != nil {
			return err
		}
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
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", d.Path, err)
	}
	if !found {
		return fmt.Errorf("read %s: no %s member", d.Path, prefix)
	}
	return nil
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
