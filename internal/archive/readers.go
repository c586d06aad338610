package archive

import (
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// bzip2 and xz are decoded with libbz2 and liblzma when built with cgo
// (decode_cgo.go), with the pure-Go readers below otherwise
// (decode_nocgo.go); gzip and zstd are pure Go either way.

// formatTar is an uncompressed tar, read only by tests and the fuzzer.
const formatTar Format = "tar"

func decompressor(r io.Reader, f Format) (io.Reader, func(), error) {
	nop := func() {}
	switch f {
	case formatTar:
		return r, nop, nil
	case TarBz2:
		return newBzip2Decoder(r)
	case TarGz:
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return zr, func() { zr.Close() }, nil
	case TarXz:
		return newXzDecoder(r)
	case TarZst:
		zr, err := zstd.NewReader(r)
		if err != nil {
			return nil, nop, err
		}
		return zr, zr.Close, nil
	}
	return nil, nop, fmt.Errorf("no decompressor for %s", f)
}

// pureBzip2Reader reads concatenated bzip2 streams (pbzip2 output
// included) in pure Go.
func pureBzip2Reader(r io.Reader) io.Reader { return bzip2.NewReader(r) }

// pureXzReader reads concatenated, padded .xz streams in pure Go.
func pureXzReader(r io.Reader) (io.Reader, error) { return xz.NewReader(r) }
