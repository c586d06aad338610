package vm

import (
	"context"
	"fmt"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Copy copies a whole VM directory (vm.json, tree/, LICENSE, …) into dst,
// keeping symlinks as links and permissions as they are. Post-VM stages
// (cffi rebuild, portable bundling, strip) start from such a copy because
// store outputs are read-only.
func Copy(ctx context.Context, src, dst string) error {
	// Owner-writable, so later stages can patch binaries in the copy.
	if err := fsutil.CopyTree(ctx, src, dst, 0o200); err != nil {
		return fmt.Errorf("copy VM: %w", err)
	}
	return nil
}
