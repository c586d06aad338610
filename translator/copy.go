package translator

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// copyFiles copies the listed files (slash-separated, relative to src)
// into dst, keeping symlinks as links and the executable bit.
func copyFiles(ctx context.Context, src string, files []string, dst string) error {
	for i, f := range files {
		if i%1000 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		from := filepath.Join(src, filepath.FromSlash(f))
		to := filepath.Join(dst, filepath.FromSlash(f))
		st, err := os.Lstat(from)
		if err != nil {
			return fmt.Errorf("copy source: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("copy source: %w", err)
		}
		switch {
		case st.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(from)
			if err != nil {
				return fmt.Errorf("copy source: %w", err)
			}
			if err := os.Symlink(target, to); err != nil {
				return fmt.Errorf("copy source: %w", err)
			}
		case st.Mode().IsRegular():
			mode := os.FileMode(0o644)
			if st.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			if err := copyFile(from, to, mode); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyFile copies one regular file, creating dst's directory.
func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := out.Chmod(mode); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return nil
}
