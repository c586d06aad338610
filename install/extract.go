package install

import (
	"context"

	"github.com/pypyctl/pypyctl/packaging/archive"
)

// ArchiveExtractor is the production Extractor: packaging/archive's safe
// extraction (tar.bz2, tar.gz, tar.xz, tar.zst, zip), which refuses
// absolute paths, "..", links leaving the root, devices and duplicates
// with *archive.UnsafeEntryError. progress, when not nil, gets the bytes
// of file data written.
func ArchiveExtractor(progress func(done, total int64)) Extractor {
	return ExtractFunc(func(ctx context.Context, archivePath, dest string) error {
		return archive.Extract(ctx, archivePath, dest, archive.ExtractOptions{Progress: progress})
	})
}
