package install

import (
	"context"
	"os"

	"github.com/pypyctl/pypyctl/internal/archive"
)

// Bounds on what an archive may expand to. PyPy release trees are
// 100–300 MB, 3–6 times their archives; a decompression bomb stops at
// the cap instead of filling the disk.
const (
	MaxTreeSize    int64 = 4 << 30
	maxExpandRatio int64 = 50
)

// minTreeCap is a variable so that tests can build small bombs.
var minTreeCap int64 = 256 << 20

// treeCap is the most an archive of size n may expand to.
func treeCap(n int64) int64 {
	return min(MaxTreeSize, max(minTreeCap, n*maxExpandRatio))
}

// ArchiveExtractor is the production Extractor: packaging/archive's safe
// extraction (tar.bz2, tar.gz, tar.xz, tar.zst, zip), which refuses
// absolute paths, "..", links leaving the root, devices and duplicates
// with *archive.UnsafeEntryError, and trees larger than treeCap with
// *archive.TooLargeError. progress, when not nil, gets the bytes of file
// data written.
func ArchiveExtractor(progress func(done, total int64)) Extractor {
	return ExtractFunc(func(ctx context.Context, archivePath, dest string) error {
		st, err := os.Stat(archivePath)
		if err != nil {
			return err
		}
		return archive.Extract(ctx, archivePath, dest, archive.ExtractOptions{Progress: progress, MaxBytes: treeCap(st.Size())})
	})
}
