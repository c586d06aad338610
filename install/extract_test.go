package install

import (
	"errors"

	"github.com/pypyctl/pypyctl/internal/archive"
)

func testExtractor() Extractor { return ArchiveExtractor(nil) }

func isUnsafeEntry(err error) bool {
	var ue *archive.UnsafeEntryError
	return errors.As(err, &ue)
}
