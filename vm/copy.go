package vm

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Copy copies a whole VM directory (vm.json, tree/, LICENSE, …) into dst,
// keeping symlinks as links and permissions as they are. Post-VM stages
// (cffi rebuild, portable bundling, strip) start from such a copy because
// store outputs are read-only.
func Copy(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("copy VM: %w", err)
			}
			return os.Symlink(l, to)
		case d.IsDir():
			return os.MkdirAll(to, 0o755)
		case d.Type().IsRegular():
			return copyRegular(p, to)
		}
		return fmt.Errorf("copy VM: %s: unsupported file type", p)
	})
}

func copyRegular(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("copy VM: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("copy VM: %w", err)
	}
	// Owner-writable, so later stages can patch binaries in the copy.
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm()|0o200)
	if err != nil {
		return fmt.Errorf("copy VM: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy VM: %w", err)
	}
	return out.Close()
}
