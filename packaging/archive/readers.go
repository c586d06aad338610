package archive

import (
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Readers are pure Go, so extraction needs no C library at all.

// formatTar is an uncompressed tar, read only by tests and the fuzzer.
const formatTar Format = "tar"

func decompressor(r io.Reader, f Format) (io.Reader, func(), error) {
	nop := func() {}
	switch f {
	case formatTar:
		return r, nop, nil
	case TarBz2:
		return bzip2Reader(r), nop, nil
	case TarGz:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return zr, func() { zr.Close() }, nil
	case TarXz:
		zr, err := xz.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return zr, nop, nil
	case TarZst:
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return zr, zr.Close, nil
	}
	return nil, nop, fmt.Errorf("no decompressor for %s", f)
}

// bzip2Reader reads concatenated bzip2 streams (pbzip2 output included).
func bzip2Reader(r io.Reader) io.Reader { return bzip2.NewReader(r) }
