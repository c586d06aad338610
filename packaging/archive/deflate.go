package archive

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
)

const (
	// deflateChunkSize is the fixed input split compressed independently
	// (pigz-style): each split is primed with the 32 KiB before it and
	// ends in a sync flush, so the splits concatenate into one stream.
	deflateChunkSize = 1 << 20
	deflateWindow    = 32 << 10
	deflateLevel     = flate.BestCompression
)

// deflateWork compresses one split. The flate writer is reused per worker;
// ResetDict puts it in the state of a fresh NewWriterDict.
func deflateWork(w *poolWorker, c *chunk) error {
	fw, _ := w.state.(*flate.Writer)
	if fw == nil {
		var err error
		if fw, err = flate.NewWriter(io.Discard, deflateLevel); err != nil {
			return err
		}
		w.state = fw
	}
	var buf bytes.Buffer
	buf.Grow(len(c.in)/2 + 64)
	fw.ResetDict(&buf, c.dict)
	if _, err := fw.Write(c.in); err != nil {
		return err
	}
	var err error
	if c.final {
		err = fw.Close()
	} else {
		err = fw.Flush()
	}
	if err != nil {
		return err
	}
	c.out = buf.Bytes()
	return nil
}

// deflateSplitter cuts a stream into fixed splits, each carrying the
// window that precedes it. A full split is only handed over once more
// input arrives, so the last one can be marked final.
type deflateSplitter struct {
	cur  []byte
	prev []byte
}

func (s *deflateSplitter) write(p []byte, submit func(c *chunk) error) error {
	for len(p) > 0 {
		if len(s.cur) == deflateChunkSize {
			if err := s.hand(false, submit); err != nil {
				return err
			}
		}
		if s.cur == nil {
			s.cur = make([]byte, 0, deflateChunkSize)
		}
		n := min(len(p), deflateChunkSize-len(s.cur))
		s.cur = append(s.cur, p[:n]...)
		p = p[n:]
	}
	return nil
}

func (s *deflateSplitter) hand(final bool, submit func(c *chunk) error) error {
	c := &chunk{in: s.cur, final: final}
	if len(s.prev) > 0 {
		c.dict = s.prev[max(0, len(s.prev)-deflateWindow):]
	}
	s.prev, s.cur = s.cur, nil
	return submit(c)
}

// finish hands over the last split (possibly empty) as final.
func (s *deflateSplitter) finish(submit func(c *chunk) error) error {
	return s.hand(true, submit)
}

// gzipWriter writes one gzip member with no name, mtime 0, XFL 2 (best
// compression) and OS 3 (Unix), like `gzip -9 -n` on Linux.
type gzipWriter struct {
	w        io.Writer
	pool     *chunkPool
	split    deflateSplitter
	crc      uint32
	size     uint64
	done     int64
	progress func(int64)
	closed   bool
	started  bool
}

func newGzipWriter(ctx context.Context, w io.Writer, workers int, progress func(int64)) *gzipWriter {
	z := &gzipWriter{w: w, progress: progress}
	z.pool = newChunkPool(ctx, workers, deflateWork, z.emit)
	return z
}

func (z *gzipWriter) emit(c *chunk) error {
	if !z.started {
		z.started = true
		header := [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3}
		if _, err := z.w.Write(header[:]); err != nil {
			return err
		}
	}
	if _, err := z.w.Write(c.out); err != nil {
		return err
	}
	z.done += int64(len(c.in))
	if z.progress != nil {
		z.progress(z.done)
	}
	return nil
}

func (z *gzipWriter) Write(p []byte) (int, error) {
	z.crc = crc32.Update(z.crc, crc32.IEEETable, p)
	z.size += uint64(len(p))
	if err := z.split.write(p, z.pool.submit); err != nil {
		return 0, fmt.Errorf("gzip: %w", err)
	}
	return len(p), nil
}

// Close writes the last split and the trailer; it must be called even
// after an error, to stop the workers.
func (z *gzipWriter) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	err := z.split.finish(z.pool.submit)
	if perr := z.pool.finish(); err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	var t [8]byte
	binary.LittleEndian.PutUint32(t[:4], z.crc)
	binary.LittleEndian.PutUint32(t[4:], uint32(z.size))
	if _, err := z.w.Write(t[:]); err != nil {
		return fmt.Errorf("gzip: %w", err)
	}
	return nil
}
