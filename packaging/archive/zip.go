package archive

import (
	"archive/zip"
	"context"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"time"
	"unicode/utf8"
)

// zipPart is the bookkeeping of one chunk of a zip member.
type zipPart struct {
	e     *srcEntry
	first bool   // first chunk of the member
	last  bool   // last chunk: crc and size are final
	raw   bool   // stored as is (directory, symlink, empty file)
	crc   uint32 // of the whole member, set on the last chunk
	size  int64
}

// writeZip writes entries as a zip: members in entry order, DOS times set
// to SOURCE_DATE_EPOCH (UTC) and no extended-timestamp fields, Unix modes
// in the external attributes, symlinks as Unix symlink members. File data
// is deflated in fixed splits on the worker pool; a member is written once
// all its splits are back, because its local header carries CRC and sizes.
func writeZip(ctx context.Context, w io.Writer, entries []srcEntry, opt Options, progress func(int64)) error {
	date, clock := dosTime(opt.SourceDateEpoch)
	zw := zip.NewWriter(w)
	var (
		parts [][]byte
		total int64
		done  int64
	)
	emit := func(c *chunk) error {
		p := c.meta.(*zipPart)
		if p.first {
			parts, total = parts[:0], 0
		}
		parts = append(parts, c.out)
		total += int64(len(c.out))
		done += int64(len(c.in))
		if !p.last {
			return nil
		}
		fh := &zip.FileHeader{
			Name:               p.e.name,
			Method:             zip.Deflate,
			ModifiedDate:       date,
			ModifiedTime:       clock,
			CRC32:              p.crc,
			CompressedSize64:   uint64(total),
			UncompressedSize64: uint64(p.size),
			CreatorVersion:     20,
			ReaderVersion:      20,
		}
		if p.raw {
			fh.Method = zip.Store
		}
		if !isASCII(fh.Name) && utf8.ValidString(fh.Name) {
			fh.Flags |= 0x800 // name is UTF-8
		}
		switch p.e.kind {
		case kindDir:
			fh.SetMode(fs.ModeDir | fs.FileMode(p.e.mode))
		case kindSymlink:
			fh.SetMode(fs.ModeSymlink | fs.FileMode(p.e.mode))
		default:
			fh.SetMode(fs.FileMode(p.e.mode))
		}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return fmt.Errorf("zip %s: %w", p.e.name, err)
		}
		for _, b := range parts {
			if _, err := fw.Write(b); err != nil {
				return fmt.Errorf("zip %s: %w", p.e.name, err)
			}
		}
		clear(parts)
		if progress != nil {
			progress(done)
		}
		return nil
	}
	work := func(pw *poolWorker, c *chunk) error {
		p := c.meta.(*zipPart)
		if p.raw {
			c.out = c.in
			return nil
		}
		if err := deflateWork(pw, c); err != nil {
			return err
		}
		// A one-chunk member that does not shrink is stored, as zip(1) does.
		if p.first && p.last && len(c.out) >= len(c.in) {
			p.raw = true
			c.out = c.in
		}
		return nil
	}
	pool := newChunkPool(ctx, opt.Workers, work, emit)
	err := zipSubmit(ctx, pool, entries)
	if perr := pool.finish(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	return nil
}

func zipSubmit(ctx context.Context, pool *chunkPool, entries []srcEntry) error {
	for i := range entries {
		e := &entries[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		switch e.kind {
		case kindDir:
			if err := pool.submit(&chunk{meta: &zipPart{e: e, first: true, last: true, raw: true}}); err != nil {
				return err
			}
		case kindSymlink:
			in := []byte(e.target)
			p := &zipPart{e: e, first: true, last: true, raw: true, crc: crc32.ChecksumIEEE(in), size: int64(len(in))}
			if err := pool.submit(&chunk{in: in, meta: p}); err != nil {
				return err
			}
		default:
			if err := zipSubmitFile(ctx, pool, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// zipSubmitFile reads a file in deflate splits; every split but the first
// is primed with the window before it, the last one ends the stream.
func zipSubmitFile(ctx context.Context, pool *chunkPool, e *srcEntry) error {
	if e.size >= 1<<32-1 {
		return fmt.Errorf("zip: %s is larger than 4 GiB", e.src)
	}
	f, err := os.Open(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	var (
		crc  uint32
		read int64
		prev []byte
	)
	for first := true; ; first = false {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := make([]byte, min(deflateChunkSize, e.size-read))
		if _, err := io.ReadFull(f, buf); err != nil {
			return fmt.Errorf("read %s: %w", e.src, err)
		}
		read += int64(len(buf))
		crc = crc32.Update(crc, crc32.IEEETable, buf)
		p := &zipPart{e: e, first: first, last: read == e.size, raw: e.size == 0}
		c := &chunk{in: buf, final: p.last, meta: p}
		if len(prev) > 0 {
			c.dict = prev[max(0, len(prev)-deflateWindow):]
		}
		if p.last {
			if err := checkUnchanged(f, e); err != nil {
				return err
			}
			p.crc, p.size = crc, e.size
		}
		if err := pool.submit(c); err != nil {
			return err
		}
		if p.last {
			return nil
		}
		prev = buf
	}
}

// checkUnchanged fails when a file grew or shrank while it was archived.
func checkUnchanged(f *os.File, e *srcEntry) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() != e.size {
		return fmt.Errorf("%s changed size while being archived (%d → %d bytes)", e.src, e.size, fi.Size())
	}
	return nil
}

// dosTime encodes an epoch second as MS-DOS date and time in UTC, clamped
// to the range DOS time can hold (1980–2107, even seconds).
func dosTime(epoch int64) (date, clock uint16) {
	t := time.Unix(epoch, 0).UTC()
	lo := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	hi := time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	if t.Before(lo) {
		t = lo
	}
	if t.After(hi) {
		t = hi
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	clock = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, clock
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
