package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// bzip2 block geometry of `bzip2 -9` (libbz2: nblockMAX = 100000*level - 19).
const (
	bz2Level     = 9
	bz2BlockMax  = 100000*bz2Level - 19
	bz2HeaderLen = 4 // "BZh9"
)

var (
	bz2BlockMagic = uint64(0x314159265359)
	bz2EndMagic   = uint64(0x177245385090)
)

// bz2Splitter replays libbz2's first run-length stage to find the input
// offsets where `bzip2 -9` closes a block. Cutting the input there and
// compressing each piece as a one-block stream gives exactly the blocks a
// sequential bzip2 would write, so the merged stream is byte-identical to
// `bzip2 -9` output and independent of how many workers compressed it.
type bz2Splitter struct {
	cur      []byte // input of the block being filled
	ch       int    // byte of the pending run, 256 = none
	runLen   int    // length of the pending run
	runStart int    // offset in cur where the pending run starts
	nblock   int    // bytes the block holds after run-length coding
}

func newBz2Splitter() *bz2Splitter {
	return &bz2Splitter{ch: 256, cur: make([]byte, 0, bz2BlockMax)}
}

// pairLen is how many block bytes a run of n equal bytes takes.
func pairLen(n int) int {
	if n >= 4 {
		return 5
	}
	return n
}

// write feeds p and calls cut with each completed block's input.
func (s *bz2Splitter) write(p []byte, cut func(block []byte) error) error {
	for _, b := range p {
		if s.nblock >= bz2BlockMax {
			// libbz2 closes the block before taking the next byte; the
			// pending run is not in it and starts the next block.
			if err := s.cut(cut); err != nil {
				return err
			}
		}
		if int(b) != s.ch || s.runLen == 255 {
			if s.ch != 256 {
				s.nblock += pairLen(s.runLen)
			}
			s.ch, s.runLen, s.runStart = int(b), 1, len(s.cur)
		} else {
			s.runLen++
		}
		s.cur = append(s.cur, b)
	}
	return nil
}

func (s *bz2Splitter) cut(cut func([]byte) error) error {
	block := s.cur[:s.runStart]
	rest := s.cur[s.runStart:]
	next := make([]byte, len(rest), bz2BlockMax)
	copy(next, rest)
	s.cur, s.runStart, s.nblock = next, 0, 0
	return cut(block)
}

// finish hands over the last block(s). bzip2(1) feeds its input in running
// mode, so a block that is full when the input ends is closed without the
// pending run, which then makes a final block of its own.
func (s *bz2Splitter) finish(cut func([]byte) error) error {
	if s.nblock >= bz2BlockMax && s.runStart > 0 {
		if err := s.cut(cut); err != nil {
			return err
		}
	}
	if len(s.cur) == 0 {
		return nil
	}
	block := s.cur
	s.cur = nil
	return cut(block)
}

// bitWriter appends bit strings MSB-first, as bzip2 packs them.
type bitWriter struct {
	w    io.Writer
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc uint   // number of pending bits (< 8 between calls)
	err  error
}

func (bw *bitWriter) writeBits(v uint64, n uint) {
	for n > 0 {
		take := min(n, 32)
		n -= take
		bw.acc = bw.acc<<take | (v>>n)&(1<<take-1)
		bw.nacc += take
		for bw.nacc >= 8 {
			bw.nacc -= 8
			bw.buf = append(bw.buf, byte(bw.acc>>bw.nacc))
		}
	}
}

// copyBits appends the first nbits bits of src.
func (bw *bitWriter) copyBits(src []byte, nbits uint64) {
	whole := nbits / 8
	if bw.nacc == 0 {
		bw.buf = append(bw.buf, src[:whole]...)
	} else {
		sh := bw.nacc
		acc := bw.acc
		for _, b := range src[:whole] {
			acc = acc<<8 | uint64(b)
			bw.buf = append(bw.buf, byte(acc>>sh))
		}
		bw.acc = acc & (1<<sh - 1)
	}
	if rem := uint(nbits % 8); rem > 0 {
		bw.writeBits(uint64(src[whole]>>(8-rem)), rem)
	}
}

// flush writes out whole bytes; pad also writes the last partial byte
// zero-padded.
func (bw *bitWriter) flush(pad bool) error {
	if pad && bw.nacc > 0 {
		bw.buf = append(bw.buf, byte(bw.acc<<(8-bw.nacc)))
		bw.acc, bw.nacc = 0, 0
	}
	if bw.err == nil && len(bw.buf) > 0 {
		_, bw.err = bw.w.Write(bw.buf)
	}
	bw.buf = bw.buf[:0]
	return bw.err
}

// bz2Block locates the single block inside a one-block bzip2 stream made
// by libbz2: it returns the block's bit length (counted from the end of
// the 4-byte stream header) and its CRC.
func bz2Block(stream []byte) (nbits uint64, crc uint32, err error) {
	if len(stream) < bz2HeaderLen+10+10 || string(stream[:3]) != "BZh" {
		return 0, 0, errors.New("bzip2 chunk: not a bzip2 stream")
	}
	if readBits(stream, 32, 48) != bz2BlockMagic {
		return 0, 0, errors.New("bzip2 chunk: no block header")
	}
	crc = uint32(readBits(stream, 80, 32))
	total := uint64(len(stream)) * 8
	// The stream ends with 48-bit end magic, the 32-bit stream CRC and 0-7
	// zero bits of padding; the magic cannot match at two paddings.
	for pad := uint64(0); pad < 8; pad++ {
		end := total - pad - 80
		if pad > 0 && readBits(stream, total-pad, uint(pad)) != 0 {
			continue
		}
		if readBits(stream, end, 48) != bz2EndMagic {
			continue
		}
		// With one block the stream CRC equals the block CRC; anything else
		// means libbz2 cut the chunk into several blocks.
		if uint32(readBits(stream, end+48, 32)) != crc {
			return 0, 0, errors.New("bzip2 chunk: compressed into more than one block")
		}
		return end - bz2HeaderLen*8, crc, nil
	}
	return 0, 0, errors.New("bzip2 chunk: no end-of-stream marker")
}

// readBits reads n ≤ 64 bits MSB-first starting at bit offset off.
func readBits(b []byte, off uint64, n uint) uint64 {
	var v uint64
	for i := uint(0); i < n; i++ {
		bit := off + uint64(i)
		v = v<<1 | uint64(b[bit/8]>>(7-bit%8)&1)
	}
	return v
}

// bz2Writer compresses into one bzip2 stream with parallel workers.
type bz2Writer struct {
	pool     *chunkPool
	split    *bz2Splitter
	bw       *bitWriter
	combined uint32
	started  bool
	progress func(done int64)
	done     int64
	closed   bool
}

func newBz2Writer(ctx context.Context, w io.Writer, workers int, progress func(int64)) *bz2Writer {
	z := &bz2Writer{split: newBz2Splitter(), bw: &bitWriter{w: w}, progress: progress}
	z.pool = newChunkPool(ctx, workers, bz2Work, z.emit)
	return z
}

func bz2Work(w *poolWorker, c *chunk) error {
	out, err := bz2CompressBlock(w, c.in)
	if err != nil {
		return err
	}
	n, crc, err := bz2Block(out)
	if err != nil {
		return err
	}
	c.out, c.crc, c.bits = out[bz2HeaderLen:], crc, n
	return nil
}

func (z *bz2Writer) emit(c *chunk) error {
	if !z.started {
		z.bw.buf = append(z.bw.buf, 'B', 'Z', 'h', '0'+bz2Level)
		z.started = true
	}
	z.bw.copyBits(c.out, c.bits)
	z.combined = bits.RotateLeft32(z.combined, 1) ^ c.crc
	if err := z.bw.flush(false); err != nil {
		return err
	}
	z.done += int64(len(c.in))
	if z.progress != nil {
		z.progress(z.done)
	}
	return nil
}

func (z *bz2Writer) Write(p []byte) (int, error) {
	if err := z.split.write(p, z.submit); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (z *bz2Writer) submit(block []byte) error {
	return z.pool.submit(&chunk{in: block})
}

// Close writes the remaining blocks and the stream trailer.
func (z *bz2Writer) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	err := z.split.finish(z.submit)
	if perr := z.pool.finish(); err == nil {
		err = perr
	}
	if err != nil {
		return fmt.Errorf("bzip2: %w", err)
	}
	if !z.started {
		z.bw.buf = append(z.bw.buf, 'B', 'Z', 'h', '0'+bz2Level)
	}
	z.bw.writeBits(bz2EndMagic, 48)
	z.bw.writeBits(uint64(z.combined), 32)
	if err := z.bw.flush(true); err != nil {
		return fmt.Errorf("bzip2: %w", err)
	}
	return nil
}
