package translator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/pypyctl/pypyctl/internal/fsutil"
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

// copyFile copies one regular file with exactly mode, creating dst's
// directory. In place: every copy lands in a scratch directory or a store
// stage's output, which is renamed into place whole.
func copyFile(from, to string, mode os.FileMode) error {
	_, _, err := fsutil.CopyHashed(from, to, fsutil.CopyOptions{Perm: mode, InPlace: true})
	return err
}

// dirDigest is the sha256 of a directory output's listing: one line per
// regular file, "path\x00sha256\n" in path order, and its total size.
func dirDigest(dir string) (string, int64, error) {
	var lines []string
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", p)
		}
		sum, size, err := fsutil.SHA256File(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		total += size
		lines = append(lines, filepath.ToSlash(rel)+"\x00"+sum+"\n")
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		io.WriteString(h, l)
	}
	return hex.EncodeToString(h.Sum(nil)), total, nil
}
