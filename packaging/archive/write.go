package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Options tune Write. None of them changes the archive bytes except
// SourceDateEpoch.
type Options struct {
	// SourceDateEpoch is the mtime of every entry (seconds since 1970, ≥ 0).
	SourceDateEpoch int64
	// Workers bounds the compression goroutines/threads; 0 = GOMAXPROCS.
	Workers int
	// Progress, when set, is called from one goroutine at a time with the
	// bytes packed so far (tar stream bytes, or file bytes for zip) and the
	// total.
	Progress func(done, total int64)
}

// Write packs srcDir into w in format f. Every entry is named topDir/…,
// topDir/ itself first; see the package doc for what keeps it
// deterministic.
func Write(ctx context.Context, w io.Writer, srcDir, topDir string, f Format, opt Options) error {
	if _, err := ParseFormat(string(f)); err != nil {
		return err
	}
	if opt.SourceDateEpoch < 0 {
		return fmt.Errorf("SOURCE_DATE_EPOCH %d is before 1970", opt.SourceDateEpoch)
	}
	if !haveCgo && (f == TarBz2 || f == TarXz || f == TarZst) {
		_, err := bz2CompressBlock(nil, nil)
		return err
	}
	entries, err := scanTree(srcDir, topDir)
	if err != nil {
		return err
	}
	if f == Zip {
		var total int64
		for _, e := range entries {
			total += e.size
		}
		return writeZip(ctx, w, entries, opt, progressFunc(opt.Progress, total))
	}
	total, err := tarSize(entries, opt.SourceDateEpoch)
	if err != nil {
		return err
	}
	progress := progressFunc(opt.Progress, total)
	comp, err := newCompressor(ctx, w, f, opt.Workers, total, progress)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(comp, 1<<20)
	err = writeTar(ctx, bw, entries, opt.SourceDateEpoch)
	if err == nil {
		err = bw.Flush()
	}
	// Close always: it stops workers and frees the C encoders.
	if cerr := comp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pack %s as %s: %w", srcDir, f, err)
	}
	if opt.Progress != nil {
		opt.Progress(total, total)
	}
	return nil
}

// WriteFile writes the archive to path atomically: a temp file beside it
// is renamed into place only when the archive is complete.
func WriteFile(ctx context.Context, path, srcDir, topDir string, f Format, opt Options) error {
	return fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		return Write(ctx, w, srcDir, topDir, f, opt)
	})
}

func progressFunc(p func(done, total int64), total int64) func(int64) {
	if p == nil {
		return nil
	}
	return func(done int64) { p(min(done, total), total) }
}

func newCompressor(ctx context.Context, w io.Writer, f Format, workers int, size int64, progress func(int64)) (io.WriteCloser, error) {
	switch f {
	case TarBz2:
		return newBz2Writer(ctx, w, workers, progress), nil
	case TarGz:
		return newGzipWriter(ctx, w, workers, progress), nil
	case TarXz:
		return newXzWriter(ctx, w, workers, progress)
	case TarZst:
		return newZstdWriter(ctx, w, workers, size, progress)
	}
	return nil, fmt.Errorf("no compressor for %s", f)
}

// tarHeader is the one header shape: GNU format (what upstream's GNU tar
// writes; long names go into ././@LongLink records, never PAX records),
// uid/gid 0 with empty names, mtime = SOURCE_DATE_EPOCH, no atime/ctime.
func tarHeader(e *srcEntry, epoch int64) *tar.Header {
	h := &tar.Header{
		Name:    e.name,
		Mode:    e.mode,
		ModTime: time.Unix(epoch, 0),
		Format:  tar.FormatGNU,
	}
	switch e.kind {
	case kindDir:
		h.Typeflag = tar.TypeDir
	case kindSymlink:
		h.Typeflag, h.Linkname = tar.TypeSymlink, e.target
	default:
		h.Typeflag, h.Size = tar.TypeReg, e.size
	}
	return h
}

// tarSize is the exact length of the tar stream writeTar produces.
func tarSize(entries []srcEntry, epoch int64) (int64, error) {
	var cw countWriter
	tw := tar.NewWriter(&cw)
	var data int64
	for i := range entries {
		h := tarHeader(&entries[i], epoch)
		data += (h.Size + 511) &^ 511
		h.Size = 0
		if err := tw.WriteHeader(h); err != nil {
			return 0, fmt.Errorf("tar header for %s: %w", entries[i].name, err)
		}
	}
	if err := tw.Close(); err != nil {
		return 0, err
	}
	return cw.n + data, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
}

func writeTar(ctx context.Context, w io.Writer, entries []srcEntry, epoch int64) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, 1<<20)
	for i := range entries {
		e := &entries[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := tw.WriteHeader(tarHeader(e, epoch)); err != nil {
			return fmt.Errorf("tar header for %s: %w", e.name, err)
		}
		if e.kind == kindFile {
			if err := copyFile(ctx, tw, e, buf); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// copyFile copies exactly e.size bytes of the file, checking ctx between
// reads, and fails if the file changed size meanwhile.
func copyFile(ctx context.Context, w io.Writer, e *srcEntry, buf []byte) error {
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	left := e.size
	for left > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := f.Read(buf[:min(int64(len(buf)), left)])
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			left -= int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", e.src, err)
		}
	}
	if left > 0 {
		return fmt.Errorf("%s changed size while being archived (%d bytes missing)", e.src, left)
	}
	return checkUnchanged(f, e)
}
