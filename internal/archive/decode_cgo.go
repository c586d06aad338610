//go:build cgo

package archive

// Decoders for bzip2 and xz through libbz2 and liblzma (linked by
// cgo_linux.go and cgo_darwin.go). They are what `tar xjf` / `tar xJf`
// run, and measured 1.2× and 1.6× faster in CPU than compress/bzip2 and ulikunitz/xz on a PyPy tree;
// liblzma's threaded decoder also decodes the blocks of our multi-block xz
// streams in parallel. The pure-Go readers remain for !cgo builds.

/*
#include <stdlib.h>
#include <string.h>
#include <bzlib.h>
#include <lzma.h>

typedef struct { bz_stream s; } pp_bzd;

static pp_bzd* pp_bzd_new(int* ret) {
	pp_bzd* d = calloc(1, sizeof(pp_bzd));
	if (d == NULL) { *ret = BZ_MEM_ERROR; return NULL; }
	*ret = BZ2_bzDecompressInit(&d->s, 0, 0);
	if (*ret != BZ_OK) { free(d); return NULL; }
	return d;
}

// pp_bzd_code runs BZ2_bzDecompress on Go buffers; the stream's pointers
// are cleared before returning so C never keeps a Go pointer.
static int pp_bzd_code(pp_bzd* d, char* in, unsigned int in_len, unsigned int* in_used,
		char* out, unsigned int out_cap, unsigned int* out_len) {
	d->s.next_in = in; d->s.avail_in = in_len;
	d->s.next_out = out; d->s.avail_out = out_cap;
	int r = BZ2_bzDecompress(&d->s);
	*in_used = in_len - d->s.avail_in;
	*out_len = out_cap - d->s.avail_out;
	d->s.next_in = NULL; d->s.avail_in = 0;
	d->s.next_out = NULL; d->s.avail_out = 0;
	return r;
}

static void pp_bzd_free(pp_bzd* d) { BZ2_bzDecompressEnd(&d->s); free(d); }

typedef struct { lzma_stream s; } pp_xzd;

// pp_xzd_new starts a decoder for a sequence of concatenated .xz streams
// with stream padding between and after them, as xz(1) accepts. liblzma
// 5.4 has a threaded decoder: it decodes the independent blocks of a
// multi-block stream in parallel while it stays under memlimit_threading,
// and fails with LZMA_MEMLIMIT_ERROR above memlimit_stop.
static pp_xzd* pp_xzd_new(uint32_t threads, uint64_t mem_threading, uint64_t mem_stop, int* ret) {
	pp_xzd* d = calloc(1, sizeof(pp_xzd));
	if (d == NULL) { *ret = LZMA_MEM_ERROR; return NULL; }
	lzma_stream init = LZMA_STREAM_INIT;
	d->s = init;
#if LZMA_VERSION >= 50040002
	lzma_mt mt;
	memset(&mt, 0, sizeof mt);
	mt.flags = LZMA_CONCATENATED;
	mt.threads = threads;
	mt.memlimit_threading = mem_threading;
	mt.memlimit_stop = mem_stop;
	*ret = lzma_stream_decoder_mt(&d->s, &mt);
#else
	*ret = lzma_stream_decoder(&d->s, mem_stop, LZMA_CONCATENATED);
#endif
	if (*ret != LZMA_OK) { free(d); return NULL; }
	return d;
}

static int pp_xzd_code(pp_xzd* d, const uint8_t* in, size_t in_len, size_t* in_used,
		uint8_t* out, size_t out_cap, size_t* out_len, int finish) {
	d->s.next_in = in; d->s.avail_in = in_len;
	d->s.next_out = out; d->s.avail_out = out_cap;
	lzma_ret r = lzma_code(&d->s, finish ? LZMA_FINISH : LZMA_RUN);
	*in_used = in_len - d->s.avail_in;
	*out_len = out_cap - d->s.avail_out;
	d->s.next_in = NULL; d->s.avail_in = 0;
	d->s.next_out = NULL; d->s.avail_out = 0;
	return r;
}

static uint64_t pp_xzd_memusage(pp_xzd* d) { return lzma_memusage(&d->s); }

static void pp_xzd_free(pp_xzd* d) { lzma_end(&d->s); free(d); }
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

const (
	// xzMemStop refuses streams whose decoder would need more memory:
	// preset 9 needs ~65 MiB, while a hostile header can ask for a 4 GiB
	// dictionary.
	xzMemStop = 1 << 30
	// xzMemThreading is the most the threaded decoder may use for its
	// worker buffers; above it liblzma decodes in one thread instead of
	// failing.
	xzMemThreading = 512 << 20
	// decodeInBuf is the compressed input handed to C per call.
	decodeInBuf = 1 << 20
	// cMaxChunk keeps lengths within libbz2's unsigned int.
	cMaxChunk = 1 << 30
	// xzMaxThreads caps the threaded decoder: each thread holds a block
	// (packaging/archive writes 24 MiB blocks) and its dictionary.
	xzMaxThreads = 16
)

// haveCgo: bzip2 and xz are read with libbz2 and liblzma.
const haveCgo = true

// cDecoder is the read loop shared by the two C decoders: it refills the
// input buffer from r, hands input and the caller's buffer to step, and
// turns the end of the underlying reader into FINISH.
type cDecoder struct {
	r      io.Reader
	in     []byte
	lo, hi int  // unread input is in[lo:hi]
	eof    bool // r is exhausted
	seen   bool // r gave at least one byte
	err    error
}

func (d *cDecoder) fill() error {
	if d.lo < d.hi || d.eof {
		return nil
	}
	n, err := d.r.Read(d.in)
	d.lo, d.hi = 0, n
	if n > 0 {
		d.seen = true
	}
	if errors.Is(err, io.EOF) {
		d.eof = true
		return nil
	}
	return err
}

// bz2Decoder reads one or more concatenated bzip2 streams (pbzip2 output
// and our parallel writer's included) and fails on anything else after
// the last one, where bzip2(1) only warns: an install must not accept a
// damaged archive.
type bz2Decoder struct {
	cDecoder
	d       *C.pp_bzd
	streams int // streams completed
}

func newBzip2Decoder(r io.Reader) (io.Reader, func(), error) {
	b := &bz2Decoder{cDecoder: cDecoder{r: r, in: make([]byte, decodeInBuf)}}
	return b, b.close, nil
}

func (b *bz2Decoder) close() {
	if b.d != nil {
		C.pp_bzd_free(b.d)
		b.d = nil
	}
}

func (b *bz2Decoder) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := b.read(p[:min(len(p), cMaxChunk)])
	if err != nil {
		b.close()
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("bzip2: %w", err)
		}
		b.err = err
	}
	return n, err
}

func (b *bz2Decoder) read(p []byte) (int, error) {
	for {
		if err := b.fill(); err != nil {
			return 0, err
		}
		if b.d == nil {
			if b.lo == b.hi {
				if !b.seen {
					return 0, errors.New("empty input")
				}
				return 0, io.EOF
			}
			var ret C.int
			if b.d = C.pp_bzd_new(&ret); b.d == nil {
				return 0, fmt.Errorf("cannot start decoder (libbz2 error %d)", int(ret))
			}
		}
		var inPtr *C.char
		if b.lo < b.hi {
			inPtr = (*C.char)(unsafe.Pointer(&b.in[b.lo]))
		}
		var used, produced C.uint
		r := C.pp_bzd_code(b.d, inPtr, C.uint(b.hi-b.lo), &used,
			(*C.char)(unsafe.Pointer(&p[0])), C.uint(len(p)), &produced)
		b.lo += int(used)
		switch r {
		case C.BZ_STREAM_END:
			b.close()
			b.streams++
		case C.BZ_OK:
		case C.BZ_DATA_ERROR_MAGIC:
			if b.streams > 0 {
				return 0, fmt.Errorf("data after bzip2 stream %d is not a bzip2 stream", b.streams)
			}
			return 0, errors.New("not bzip2 data (bad magic)")
		case C.BZ_DATA_ERROR:
			return 0, errors.New("corrupt data (checksum or structure)")
		case C.BZ_MEM_ERROR:
			return 0, errors.New("out of memory")
		default:
			return 0, fmt.Errorf("libbz2 error %d", int(r))
		}
		if produced > 0 {
			return int(produced), nil
		}
		if r == C.BZ_OK && used == 0 && b.lo == b.hi && b.eof {
			return 0, io.ErrUnexpectedEOF
		}
	}
}

// xzDecoder reads .xz streams with liblzma, concatenated and padded as
// xz(1) accepts them; memory use is bounded by xzMemStop.
type xzDecoder struct {
	cDecoder
	d *C.pp_xzd
}

func newXzDecoder(r io.Reader) (io.Reader, func(), error) {
	return newXzDecoderWith(r, runtime.GOMAXPROCS(0), xzMemStop)
}

func newXzDecoderWith(r io.Reader, threads int, memStop uint64) (io.Reader, func(), error) {
	var ret C.int
	d := C.pp_xzd_new(C.uint32_t(min(threads, xzMaxThreads)), C.uint64_t(min(xzMemThreading, memStop)), C.uint64_t(memStop), &ret)
	if d == nil {
		return nil, func() {}, fmt.Errorf("xz: cannot start decoder (liblzma error %d)", int(ret))
	}
	x := &xzDecoder{cDecoder: cDecoder{r: r, in: make([]byte, decodeInBuf)}, d: d}
	return x, x.close, nil
}

func (x *xzDecoder) close() {
	if x.d != nil {
		C.pp_xzd_free(x.d)
		x.d = nil
	}
}

func (x *xzDecoder) Read(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n, err := x.read(p)
	if err != nil {
		x.close()
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("xz: %w", err)
		}
		x.err = err
	}
	return n, err
}

func (x *xzDecoder) read(p []byte) (int, error) {
	for {
		if err := x.fill(); err != nil {
			return 0, err
		}
		if !x.seen {
			return 0, errors.New("empty input")
		}
		var inPtr *C.uint8_t
		if x.lo < x.hi {
			inPtr = (*C.uint8_t)(unsafe.Pointer(&x.in[x.lo]))
		}
		finish := x.eof && x.lo == x.hi
		var used, produced C.size_t
		r := C.pp_xzd_code(x.d, inPtr, C.size_t(x.hi-x.lo), &used,
			(*C.uint8_t)(unsafe.Pointer(&p[0])), C.size_t(len(p)), &produced, boolInt(finish))
		x.lo += int(used)
		switch r {
		case C.LZMA_OK:
		case C.LZMA_STREAM_END:
			if produced > 0 {
				// Keep the end for the next call: the output comes first.
				x.close()
				x.err = io.EOF
				return int(produced), nil
			}
			return 0, io.EOF
		case C.LZMA_BUF_ERROR:
			return int(produced), io.ErrUnexpectedEOF
		case C.LZMA_FORMAT_ERROR:
			return 0, errors.New("not xz data, or garbage after the last stream")
		case C.LZMA_DATA_ERROR:
			return 0, errors.New("corrupt data")
		case C.LZMA_OPTIONS_ERROR:
			return 0, errors.New("unsupported options in the stream header")
		case C.LZMA_MEMLIMIT_ERROR:
			return 0, fmt.Errorf("stream needs %d MiB to decode, more than the %d MiB limit",
				uint64(C.pp_xzd_memusage(x.d))>>20, xzMemStop>>20)
		case C.LZMA_MEM_ERROR:
			return 0, errors.New("out of memory")
		default:
			return 0, fmt.Errorf("liblzma error %d", int(r))
		}
		if produced > 0 {
			return int(produced), nil
		}
	}
}

// boolInt is C's truth value (cgo's C types are per package, so
// packaging/archive's encoders have their own).
func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
