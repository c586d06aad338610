package deb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// The ar container of a .deb: the magic, then per member a 60-byte text
// header and the member's bytes padded to an even offset. dpkg-deb writes
// names without GNU ar's trailing "/", owner 0/0 and mode 100644; so do we.

const arMagic = "!<arch>\n"

type arWriter struct {
	w     io.Writer
	mtime int64
}

func newArWriter(w io.Writer, mtime int64) (*arWriter, error) {
	if _, err := io.WriteString(w, arMagic); err != nil {
		return nil, err
	}
	return &arWriter{w: w, mtime: mtime}, nil
}

// add writes one member of exactly size bytes read from r.
func (a *arWriter) add(name string, size int64, r io.Reader) error {
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

// arMember is one member header read back.
type arMember struct {
	Name  string
	Size  int64
	MTime int64
}

// readAr calls fn for each member with a reader limited to its bytes.
func readAr(r io.Reader, fn func(m arMember, body io.Reader) error) error {
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
		m := arMember{Name: strings.TrimSuffix(strings.TrimSpace(string(hdr[0:16])), "/")}
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
		if m.Size%2 == 1 {
			if _, err := br.ReadByte(); err != nil && err != io.EOF {
				return err
			}
		}
	}
}
