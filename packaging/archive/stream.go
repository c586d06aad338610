package archive

import (
	"context"
	"fmt"
	"io"
)

// NewStreamCompressor compresses a tar stream made elsewhere (such as
// `git archive`) with the same encoders Write uses. tar.bz2 is
// byte-identical to `bzip2 -9` (bzip2 -c) of the same stream; tar.gz is
// one gzip member with no name and mtime 0, but its deflate blocks are
// pypyctl's parallel ones, not gzip(1)'s, so it does not reproduce
// `gzip -9 -n` bytes. Close must be called, even after an error.
func NewStreamCompressor(ctx context.Context, w io.Writer, f Format, workers int) (io.WriteCloser, error) {
	switch f {
	case TarBz2:
		if !haveCgo {
			_, err := bz2CompressBlock(nil, nil)
			return nil, err
		}
		return newBz2Writer(ctx, w, workers, nil), nil
	case TarGz:
		return newGzipWriter(ctx, w, workers, nil), nil
	}
	return nil, fmt.Errorf("no stream compressor for %s (want tar.bz2 or tar.gz)", f)
}
