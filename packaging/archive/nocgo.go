//go:build !cgo

package archive

import (
	"context"
	"errors"
	"io"
)

const haveCgo = false

// errNoCgo: bzip2, xz and zstd are written with the C reference encoders;
// a pure-Go stand-in would silently change the archive bytes.
var errNoCgo = errors.New("pypyctl was built without cgo: tar.bz2, tar.xz and tar.zst need the C encoders (gzip and zip work)")

func bz2CompressBlock(*poolWorker, []byte) ([]byte, error) { return nil, errNoCgo }

func newXzWriter(context.Context, io.Writer, int, func(int64)) (io.WriteCloser, error) {
	return nil, errNoCgo
}

func newZstdWriter(context.Context, io.Writer, int, int64, func(int64)) (io.WriteCloser, error) {
	return nil, errNoCgo
}
