package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"compress/bzip2"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ExtractOptions control extraction.
type ExtractOptions struct {
	StripComponents int
	Progress        func(done, total int64) // bytes of file data written
}

// UnsafeEntryError is an entry that would escape the destination or is of
// a kind an installer must never create.
type UnsafeEntryError struct {
	Entry  string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("unsafe archive entry %q: %s", e.Entry, e.Reason)
}

// Extract unpacks archivePath into dest, which must not exist or be an
// empty directory. On any error everything written under dest is removed.
func Extract(ctx context.Context, archivePath, dest string, opt ExtractOptions) (err error) {
	f, err := FormatOf(archivePath)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(dest); err == nil && len(ents) > 0 {
		return fmt.Errorf("extract into %s: directory is not empty", dest)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("extract: %w", err)
	}
	defer func() {
		if err != nil {
			clearDir(dest)
		}
	}()
	x := &extractor{dest: dest, opt: opt, seen: map[string]bool{}, ctx: ctx}
	file, err := os.Open(archivePath)
	if err != nil {
		return err
	}
	defer file.Close()
	if f == Zip {
		err = x.zip(file)
	} else {
		err = x.tar(bufio.NewReaderSize(file, 1<<20), f)
	}
	if err != nil {
		var ue *UnsafeEntryError
		if errors.As(err, &ue) {
			return fmt.Errorf("%s: %w", filepath.Base(archivePath), err)
		}
		return fmt.Errorf("extract %s: %w", filepath.Base(archivePath), err)
	}
	return x.finish()
}

func clearDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

type extractor struct {
	ctx   context.Context
	dest  string
	opt   ExtractOptions
	seen  map[string]bool
	done  int64
	dirs  []string // directories, to set their mtimes last
	mtime map[string]time.Time
}

func decompress(r io.Reader, f Format) (io.Reader, error) {
	switch f {
	case TarBz2:
		return bzip2.NewReader(r), nil
	case TarGz:
		return gzip.NewReader(r)
	case TarXz:
		return xz.NewReader(r)
	case TarZst:
		d, err := zstd.NewReader(r)
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	}
	return nil, fmt.Errorf("no decompressor for %s", f)
}

func (x *extractor) tar(r io.Reader, f Format) error {
	zr, err := decompress(r, f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(zr)
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("corrupt or truncated archive: %w", err)
		}
		var mode fs.FileMode
		switch h.Typeflag {
		case tar.TypeDir:
			mode = fs.ModeDir
		case tar.TypeReg, tar.TypeRegA:
		case tar.TypeSymlink:
			mode = fs.ModeSymlink
		case tar.TypeLink:
			if err := x.hardlink(h.Name, h.Linkname); err != nil {
				return err
			}
			continue
		case tar.TypeXGlobalHeader:
			continue
		default:
			return &UnsafeEntryError{h.Name, fmt.Sprintf("entry type %q (devices, fifos and the like are refused)", h.Typeflag)}
		}
		if err := x.entry(h.Name, mode|fs.FileMode(h.Mode)&0o777, h.Linkname, h.ModTime, tr); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("corrupt or truncated archive: %w", err)
			}
			return err
		}
	}
}

func (x *extractor) zip(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	zr, err := zip.NewReader(f, st.Size())
	if err != nil {
		return fmt.Errorf("corrupt or truncated archive: %w", err)
	}
	for _, zf := range zr.File {
		mode := zf.Mode()
		switch {
		case mode&fs.ModeSymlink != 0, mode.IsDir(), mode.IsRegular():
		default:
			return &UnsafeEntryError{zf.Name, "special file"}
		}
		rc, err := zf.Open()
		if err != nil {
			return fmt.Errorf("corrupt archive entry %s: %w", zf.Name, err)
		}
		link := ""
		if mode&fs.ModeSymlink != 0 {
			b, err := io.ReadAll(io.LimitReader(rc, 4096))
			if err != nil {
				rc.Close()
				return err
			}
			link = string(b)
		}
		err = x.entry(zf.Name, mode.Type()|mode.Perm(), link, zf.Modified, rc)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// clean validates an entry name and returns it relative to dest, or ""
// when stripped away.
func (x *extractor) clean(name string) (string, error) {
	if strings.HasPrefix(name, "/") || (len(name) > 1 && name[1] == ':') || strings.Contains(name, "\\") {
		return "", &UnsafeEntryError{name, "absolute path"}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", &UnsafeEntryError{name, "path contains .."}
		}
	}
	p := path.Clean(name)
	if p == "." {
		return "", nil
	}
	parts := strings.Split(p, "/")
	if len(parts) <= x.opt.StripComponents {
		return "", nil
	}
	return strings.Join(parts[x.opt.StripComponents:], "/"), nil
}

// within reports whether a slash path stays inside dest after resolving
// the symlinks already extracted along it.
func (x *extractor) within(rel string) error {
	full := filepath.Join(x.dest, filepath.FromSlash(rel))
	dir := filepath.Dir(full)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // created later by MkdirAll: no link in the way
		}
		return err
	}
	root, err := filepath.EvalSymlinks(x.dest)
	if err != nil {
		return err
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return &UnsafeEntryError{rel, "a symlink in its path leads outside the destination"}
	}
	return nil
}

func (x *extractor) entry(name string, mode fs.FileMode, link string, mtime time.Time, body io.Reader) error {
	rel, err := x.clean(name)
	if err != nil || rel == "" {
		return err
	}
	if x.seen[rel] && !mode.IsDir() {
		return &UnsafeEntryError{name, "duplicate entry"}
	}
	x.seen[rel] = true
	if err := x.within(rel); err != nil {
		return err
	}
	dst := filepath.Join(x.dest, filepath.FromSlash(rel))
	switch {
	case mode.IsDir():
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		x.setTime(dst, mtime)
		return nil
	case mode&fs.ModeSymlink != 0:
		target := link
		if path.IsAbs(target) {
			return &UnsafeEntryError{name, "symlink to absolute path " + target}
		}
		resolved := path.Join(path.Dir(rel), target)
		if resolved == ".." || strings.HasPrefix(resolved, "../") {
			return &UnsafeEntryError{name, "symlink points outside the destination: " + target}
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(target, dst)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode.Perm()&0o777)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	x.done += n
	if x.opt.Progress != nil {
		x.opt.Progress(x.done, -1)
	}
	// The umask must not change what the archive says.
	if err := os.Chmod(dst, mode.Perm()&0o777); err != nil {
		return err
	}
	x.setTime(dst, mtime)
	return nil
}

func (x *extractor) hardlink(name, target string) error {
	rel, err := x.clean(name)
	if err != nil || rel == "" {
		return err
	}
	trel, err := x.clean(target)
	if err != nil {
		return &UnsafeEntryError{name, "hard link target outside the destination: " + target}
	}
	if trel == "" || !x.seen[trel] {
		return &UnsafeEntryError{name, "hard link to a missing entry " + target}
	}
	if x.seen[rel] {
		return &UnsafeEntryError{name, "duplicate entry"}
	}
	x.seen[rel] = true
	for _, r := range []string{rel, trel} {
		if err := x.within(r); err != nil {
			return err
		}
	}
	src := filepath.Join(x.dest, filepath.FromSlash(trel))
	if fi, err := os.Lstat(src); err != nil || !fi.Mode().IsRegular() {
		return &UnsafeEntryError{name, "hard link to something that is not a regular file"}
	}
	dst := filepath.Join(x.dest, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.Link(src, dst)
}

func (x *extractor) setTime(p string, t time.Time) {
	if t.IsZero() {
		return
	}
	if x.mtime == nil {
		x.mtime = map[string]time.Time{}
	}
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		x.dirs = append(x.dirs, p)
		x.mtime[p] = t
		return
	}
	os.Chtimes(p, t, t)
}

// finish sets directory mtimes after their contents were written.
func (x *extractor) finish() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		os.Chtimes(d, x.mtime[d], x.mtime[d])
	}
	return nil
}

// TopDir returns the single top-level directory of an archive.
func TopDir(ctx context.Context, archivePath string) (string, error) {
	tmp, err := os.MkdirTemp("", "pypyctl-topdir-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	if err := Extract(ctx, archivePath, tmp, ExtractOptions{}); err != nil {
		return "", err
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return "", err
	}
	if len(ents) != 1 || !ents[0].IsDir() {
		return "", fmt.Errorf("%s: expected one top directory, found %d entries", filepath.Base(archivePath), len(ents))
	}
	return ents[0].Name(), nil
}
