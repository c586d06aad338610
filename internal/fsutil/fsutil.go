// Package fsutil holds the few file-system habits every stage shares:
// atomic writes (temp file + rename), copying and hashing files, and file
// locks.
package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path through a temp file in the same
// directory and a rename, so readers never see a half-written file.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteAtomic(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomic streams into a temp file beside path, syncs it and renames it
// into place. On any error the temp file is removed and path is untouched.
func WriteAtomic(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temp file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Chmod(perm); err != nil {
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("rename into %s: %w", path, err)
	}
	return nil
}

// CopyOptions says how CopyHashed writes its destination.
type CopyOptions struct {
	// Perm is the destination's mode, set exactly (the umask does not
	// narrow it).
	Perm os.FileMode
	// InPlace writes the destination directly instead of through a temp
	// file and a rename: for files inside a directory that is renamed
	// into place whole (a store stage's output, a scratch copy), where a
	// sync per file would only cost time.
	InPlace bool
	// SHA256, when set, is what the copied bytes must hash to. A copy
	// whose bytes differ (the source changed since it was checked) fails
	// with a *DigestMismatchError and, written atomically, is never
	// renamed into place.
	SHA256 string
}

// CopyHashed copies the regular file src to dst, creating dst's
// directory, and returns the hex sha256 and size of the bytes it copied,
// hashed as they are written so no second read is needed. Unless
// o.InPlace, dst is written with WriteAtomic: readers see the old file or
// the whole new one.
func CopyHashed(src, dst string, o CopyOptions) (sum string, size int64, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", 0, err
	}
	defer in.Close()
	write := func(w io.Writer) error {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, h), in)
		if err != nil {
			return err
		}
		sum, size = hex.EncodeToString(h.Sum(nil)), n
		if o.SHA256 != "" && sum != o.SHA256 {
			return &DigestMismatchError{Path: src, Expected: o.SHA256, Actual: sum}
		}
		return nil
	}
	if !o.InPlace {
		if err := WriteAtomic(dst, o.Perm, write); err != nil {
			return "", 0, err
		}
		return sum, size, nil
	}
	if err := copyInPlace(dst, o.Perm, write); err != nil {
		return "", 0, fmt.Errorf("copy %s: %w", src, err)
	}
	return sum, size, nil
}

// copyInPlace is WriteAtomic without the temp file, the sync and the
// rename.
func copyInPlace(path string, perm os.FileMode, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if err := write(out); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(perm); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// SHA256File returns the hex sha256 and size of a file.
func SHA256File(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, fmt.Errorf("hash %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// DigestMismatchError says a file's bytes are not the pinned ones.
type DigestMismatchError struct {
	Path, Expected, Actual string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("sha256 mismatch for %s: expected %s, got %s", e.Path, e.Expected, e.Actual)
}

// VerifySHA256 checks a file against a pinned hex digest.
func VerifySHA256(path, want string) error {
	got, _, err := SHA256File(path)
	if err != nil {
		return err
	}
	if got != want {
		return &DigestMismatchError{Path: path, Expected: want, Actual: got}
	}
	return nil
}

// HumanSize formats a byte count for people: 27.1 MiB, 3.0 KiB, 12 B.
func HumanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// ReadFileLimit reads a whole file that must not be larger than max
// bytes: a user-named file may be /dev/zero or a FIFO, and a plain
// os.ReadFile of it grows without bound.
func ReadFileLimit(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %s: not a file pypyctl reads", path, HumanSize(max))
	}
	return b, nil
}
