package archive

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Options control archive writing.
type Options struct {
	SourceDateEpoch int64 // every entry's mtime
	Workers         int   // reserved for parallel compressors; output never depends on it
	Progress        func(done, total int64)
}

// entry is one file system object to archive, in archive order.
type entry struct {
	name string // slash path inside the archive, with the top dir
	path string // on disk
	mode fs.FileMode
	size int64
	link string
}

// collect walks srcDir and returns its entries sorted by name bytes, a
// directory before its contents, with normalised modes.
func collect(srcDir, topDir string) ([]entry, int64, error) {
	var out []entry
	var total int64
	err := filepath.WalkDir(srcDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(srcDir, p)
		if err != nil {
			return err
		}
		name := topDir
		if rel != "." {
			name = topDir + "/" + filepath.ToSlash(rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{name: name, path: p}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.link, err = os.Readlink(p); err != nil {
				return err
			}
			e.mode = fs.ModeSymlink | 0o777
		case info.IsDir():
			e.mode = fs.ModeDir | 0o755
		case info.Mode().IsRegular():
			e.mode, e.size = 0o644, info.Size()
			if info.Mode()&0o111 != 0 {
				e.mode = 0o755
			}
			total += e.size
		default:
			return fmt.Errorf("%s: unsupported file type %v", p, info.Mode().Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("archive %s: %w", srcDir, err)
	}
	// WalkDir's lexical order puts "a/b" after "a-c"; archives sort by the
	// full path bytes, with a directory's own entry first.
	sort.SliceStable(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, total, nil
}

// Write writes srcDir as format f to w, entries named topDir/….
func Write(ctx context.Context, w io.Writer, srcDir, topDir string, f Format, opt Options) error {
	entries, total, err := collect(srcDir, topDir)
	if err != nil {
		return err
	}
	mtime := time.Unix(opt.SourceDateEpoch, 0).UTC()
	prog := &progress{fn: opt.Progress, total: total}
	if f == Zip {
		return writeZip(ctx, w, entries, mtime, prog)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	zw, err := compressor(bw, f)
	if err != nil {
		return err
	}
	if err := writeTar(ctx, zw, entries, mtime, prog); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress %s: %w", f, err)
	}
	return bw.Flush()
}

// WriteFile writes the archive to path atomically.
func WriteFile(ctx context.Context, path, srcDir, topDir string, f Format, opt Options) error {
	return fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		return Write(ctx, w, srcDir, topDir, f, opt)
	})
}

// compressor returns a writer with fixed settings: no names, no times,
// no dependence on the machine, so the same tar gives the same bytes.
func compressor(w io.Writer, f Format) (io.WriteCloser, error) {
	switch f {
	case TarBz2:
		return bzip2.NewWriter(w, &bzip2.WriterConfig{Level: bzip2.BestCompression})
	case TarGz:
		zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
		if err != nil {
			return nil, err
		}
		zw.Header.OS = 3 // unix, whatever the build host
		return zw, nil
	case TarXz:
		cfg := xz.WriterConfig{DictCap: 8 << 20, CheckSum: xz.CRC64}
		return cfg.NewWriter(w)
	case TarZst:
		return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))
	}
	return nil, fmt.Errorf("no compressor for %s", f)
}

func writeTar(ctx context.Context, w io.Writer, entries []entry, mtime time.Time, prog *progress) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		// GNU format: long names go in ././@LongLink records, and there are
		// never PAX time records; owner 0/0 with no names, as upstream's
		// tar --owner=root --group=root --numeric-owner.
		h := &tar.Header{Name: e.name, ModTime: mtime, Mode: int64(e.mode.Perm()), Format: tar.FormatGNU}
		switch {
		case e.mode&fs.ModeSymlink != 0:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.link
		case e.mode.IsDir():
			h.Typeflag, h.Name = tar.TypeDir, e.name+"/"
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if h.Typeflag == tar.TypeReg {
			if err := copyFile(tw, e, prog); err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

func writeZip(ctx context.Context, w io.Writer, entries []entry, mtime time.Time, prog *progress) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestCompression)
	})
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		// Modified sets only the DOS fields when written through
		// SetModTime-free assignment below: no extended-timestamp extra.
		h.ModifiedDate, h.ModifiedTime = dosTime(mtime)
		h.CreatorVersion = 3 << 8 // unix, so external attrs carry modes
		switch {
		case e.mode&fs.ModeSymlink != 0:
			h.SetMode(fs.ModeSymlink | 0o777)
			h.Method = zip.Store
		case e.mode.IsDir():
			h.Name += "/"
			h.SetMode(fs.ModeDir | 0o755)
			h.Method = zip.Store
		default:
			h.SetMode(e.mode)
		}
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.name, err)
		}
		switch {
		case e.mode&fs.ModeSymlink != 0:
			if _, err := io.WriteString(fw, e.link); err != nil {
				return err
			}
		case e.mode.IsRegular():
			if err := copyFile(fw, e, prog); err != nil {
				return err
			}
		}
	}
	return zw.Close()
}

// dosTime encodes t in MS-DOS date/time fields (2-second resolution).
func dosTime(t time.Time) (date, tm uint16) {
	if t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return
}

func copyFile(w io.Writer, e entry, prog *progress) error {
	f, err := os.Open(e.path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.TeeReader(f, prog))
	if err != nil {
		return fmt.Errorf("archive %s: %w", e.name, err)
	}
	if n != e.size {
		return fmt.Errorf("archive %s: file changed while being archived", e.name)
	}
	return nil
}

type progress struct {
	fn          func(done, total int64)
	done, total int64
}

func (p *progress) Write(b []byte) (int, error) {
	p.done += int64(len(b))
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
	return len(b), nil
}
