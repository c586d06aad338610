package deb

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"

	kgzip "github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"
)

// Compression is how the control and data tars of a .deb are compressed.
// Each has one fixed setting (single stream, one encoder thread), so the
// bytes depend on nothing but the input. zstd is left out on purpose:
// dpkg ≥ 1.21.18 reads it, but lintian calls such a .deb malformed.
type Compression string

const (
	// XZ is what Debian's archive uses; every dpkg reads it.
	XZ Compression = "xz"
	// Gzip is the oldest member format, for very old dpkg.
	Gzip Compression = "gz"
)

// ParseCompression accepts xz or gz (gzip).
func ParseCompression(s string) (Compression, error) {
	switch s {
	case "", "xz":
		return XZ, nil
	case "gz", "gzip":
		return Gzip, nil
	}
	return "", fmt.Errorf("compression %q: choose xz or gz", s)
}

func (c Compression) newWriter(w io.Writer) (io.WriteCloser, error) {
	switch c {
	case XZ:
		// ulikunitz/xz writes one stream with CRC64 and an 8 MiB
		// dictionary (like xz -6) from a single goroutine.
		return xz.WriterConfig{DictCap: 8 << 20, CheckSum: xz.CRC64}.NewWriter(w)
	case Gzip:
		// No name and zero mtime in the header, as gzip -n writes.
		return kgzip.NewWriterLevel(w, kgzip.BestCompression)
	}
	return nil, fmt.Errorf("unknown compression %q", c)
}

// gzipBytes is gzip -9n of b, for files inside the package
// (changelog.Debian.gz): no name, mtime 0.
func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
