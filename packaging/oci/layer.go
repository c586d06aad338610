package oci

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// tarOut writes layer entries with everything that could differ between
// hosts fixed: one mtime, root owner unless told otherwise, no user or
// group names, PAX format throughout.
type tarOut struct {
	tw      *tar.Writer
	mtime   time.Time
	files   int // entries
	regular int // regular files
}

func (t *tarOut) header(h *tar.Header) error {
	h.ModTime = t.mtime
	h.Format = tar.FormatPAX
	t.files++
	if err := t.tw.WriteHeader(h); err != nil {
		return fmt.Errorf("layer entry %s: %w", h.Name, err)
	}
	return nil
}

func (t *tarOut) dir(name string, mode int64, uid, gid int) error {
	return t.header(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: gid})
}

func (t *tarOut) file(name string, mode, size int64, r io.Reader) error {
	if err := t.header(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: size}); err != nil {
		return err
	}
	t.regular++
	n, err := io.Copy(t.tw, r)
	if err != nil {
		return fmt.Errorf("layer entry %s: %w", name, err)
	}
	if n != size {
		return fmt.Errorf("layer entry %s: changed while being read (%d of %d bytes)", name, n, size)
	}
	return nil
}

func (t *tarOut) symlink(name, target string) error {
	return t.header(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777})
}

// gzipLevel is fixed: the compressed bytes, and so the layer digest,
// depend on it (and on the compressor's version, pinned in go.mod).
const gzipLevel = gzip.DefaultCompression

// fileLayer is a gzip-compressed tar layer kept in a file.
type fileLayer struct {
	path    string
	digest  v1.Hash
	diffID  v1.Hash
	size    int64
	files   int
	regular int
}

var _ v1.Layer = (*fileLayer)(nil)

func (l *fileLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *fileLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *fileLayer) Size() (int64, error)                { return l.size, nil }
func (l *fileLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *fileLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *fileLayer) Uncompressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("layer %s: %w", l.digest, err)
	}
	return readCloser{zr, func() error { zr.Close(); return f.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }

// countingHash hashes and counts what passes through it.
type countingHash struct {
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
	n int64
}

func newCountingHash() *countingHash { return &countingHash{h: sha256.New()} }

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) hash() v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(c.h.Sum(nil))}
}

// writeLayer makes a layer file at path from the entries fill writes,
// hashing the tar (diff ID) and the gzip stream (digest) on the way.
func writeLayer(path string, mtime time.Time, fill func(t *tarOut) error) (*fileLayer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create layer: %w", err)
	}
	defer f.Close()
	compressed := newCountingHash()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, compressed), gzipLevel)
	if err != nil {
		return nil, err
	}
	uncompressed := newCountingHash()
	tw := tar.NewWriter(io.MultiWriter(zw, uncompressed))
	t := &tarOut{tw: tw, mtime: mtime}
	if err := fill(t); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("finish layer gzip: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write layer: %w", err)
	}
	return &fileLayer{path: path, digest: compressed.hash(), diffID: uncompressed.hash(), size: compressed.n, files: t.files, regular: t.regular}, nil
}

// writeTree adds a release tree under prefix (opt/pypy): every parent of
// prefix, then the tree's entries sorted by path, with modes normalised,
// bytecode caches left out. Anything but directories, regular files and
// symlinks is refused.
func writeTree(ctx context.Context, t *tarOut, root, prefix string) error {
	parts := strings.Split(prefix, "/")
	for i := range parts {
		if err := t.dir(strings.Join(parts[:i+1], "/"), 0o755, 0, 0); err != nil {
			return err
		}
	}
	type entry struct {
		rel string
		d   fs.DirEntry
	}
	var entries []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		// Trees ship no bytecode (docs/architecture.md); caches an
		// interpreter run left in the tree (the smoke test's) embed
		// source mtimes and would make the layer differ between builds.
		if d.IsDir() && d.Name() == "__pycache__" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".pyc") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		entries = append(entries, entry{filepath.ToSlash(rel), d})
		return nil
	})
	if err != nil {
		return fmt.Errorf("read tree %s: %w", root, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].rel < entries[j].rel })
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := prefix + "/" + e.rel
		full := filepath.Join(root, filepath.FromSlash(e.rel))
		switch {
		case e.d.IsDir():
			err = t.dir(name, 0o755, 0, 0)
		case e.d.Type()&fs.ModeSymlink != 0:
			var target string
			if target, err = os.Readlink(full); err == nil {
				err = t.symlink(name, target)
			}
		case e.d.Type().IsRegular():
			err = addFile(t, name, full)
		default:
			err = fmt.Errorf("tree entry %s is not a file, directory or symlink", e.rel)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func addFile(t *tarOut, name, full string) error {
	f, err := os.Open(full)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return t.file(name, fileMode(int64(st.Mode().Perm())), st.Size(), f)
}
