// Package debfile reads and writes the containers of a Debian binary
// package: the ar archive around debian-binary, control.tar.* and
// data.tar.*, and the compressed tar members inside it. It is also the
// one reader of a package's control file (Open) and of deb822 paragraphs
// (ParseParagraphs). The ar format is
// a 60-byte text header per member and nothing else, so it is written by
// hand rather than pulled in as a dependency; the tar members use
// archive/tar and the project's compression libraries.
package debfile

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ArMagic starts every ar archive.
const ArMagic = "!<arch>\n"

// Member is one ar member header.
type Member struct {
	Name  string
	Size  int64
	MTime int64
}

// WalkAr calls fn for each member of an ar archive with a reader limited
// to the member's bytes; what fn leaves unread is skipped.
func WalkAr(r io.Reader, fn func(m Member, body io.Reader) error) error {
	br := bufio.NewReader(r)
	magic := make([]byte, len(ArMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != ArMagic {
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
		// GNU ar ends names with "/"; dpkg-deb does not.
		m := Member{Name: strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")}
		var err error
		if m.MTime, err = strconv.ParseInt(strings.TrimSpace(string(hdr[16:28])), 10, 64); err != nil {
			return fmt.Errorf("ar member %q: bad mtime", m.Name)
		}
		if m.Size, err = strconv.ParseInt(strings.TrimSpace(string(hdr[48:58])), 10, 64); err != nil || m.Size < 0 {
			return fmt.Errorf("ar member %q: bad size", m.Name)
		}
		body := io.LimitReader(br, m.Size)
		if err := fn(m, body); err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, body); err != nil {
			return fmt.Errorf("ar member %q: %w", m.Name, err)
		}
		if m.Size%2 == 1 { // members are padded to even offsets
			if _, err := br.ReadByte(); err != nil && err != io.EOF {
				return err
			}
		}
	}
}

// ArWriter writes an ar archive the way dpkg-deb does: names without
// GNU ar's trailing "/", owner 0/0, mode 100644, one fixed mtime.
type ArWriter struct {
	w     io.Writer
	mtime int64
}

// NewArWriter writes the magic and returns a writer for the members.
func NewArWriter(w io.Writer, mtime int64) (*ArWriter, error) {
	if _, err := io.WriteString(w, ArMagic); err != nil {
		return nil, err
	}
	return &ArWriter{w: w, mtime: mtime}, nil
}

// Add writes one member of exactly size bytes read from r.
func (a *ArWriter) Add(name string, size int64, r io.Reader) error {
	if len(name) > 16 || strings.ContainsAny(name, " /\n") {
		return fmt.Errorf("ar member name %q does not fit an ar header", name)
	}
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, a.mtime, 0, 0, "100644", size)
	if len(hdr) != 60 {
		return fmt.Errorf("ar header for %s: value too large", name)
	}
	if _, err := io.WriteString(a.w, hdr); err != nil {
		return err
	}
	n, err := io.Copy(a.w, io.LimitReader(r, size))
	if err != nil {
		return fmt.Errorf("ar member %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("ar member %s: got %d bytes, header says %d", name, n, size)
	}
	if size%2 == 1 {
		_, err = io.WriteString(a.w, "\n")
	}
	return err
}

// Decompress opens a control/data member by its name's extension.
func Decompress(name string, r io.Reader) (io.ReadCloser, error) {
	switch {
	case strings.HasSuffix(name, ".tar.xz"):
		x, err := xz.NewReader(r)
		return io.NopCloser(x), err
	case strings.HasSuffix(name, ".tar.gz"):
		return gzip.NewReader(r)
	case strings.HasSuffix(name, ".tar.zst"):
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case strings.HasSuffix(name, ".tar"):
		return io.NopCloser(r), nil
	}
	return nil, fmt.Errorf("member %s: unsupported compression", name)
}

// WalkTar calls fn for every entry of the compressed tar member name.
func WalkTar(name string, r io.Reader, fn func(h *tar.Header, r io.Reader) error) error {
	zr, err := Decompress(name, r)
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

// ErrStop, returned by a Walk callback, ends the walk without an error.
var ErrStop = errors.New("stop walking")

// Walk calls fn for every entry of the package's control or data tar
// (member "control" or "data"), in archive order.
func Walk(path, member string, fn func(h *tar.Header, r io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	found := false
	err = WalkAr(f, func(m Member, body io.Reader) error {
		if found || !strings.HasPrefix(m.Name, member+".tar") {
			return nil
		}
		found = true
		return WalkTar(m.Name, body, fn)
	})
	if errors.Is(err, ErrStop) {
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
