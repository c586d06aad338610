//go:build cgo

package archive

// libbz2 and liblzma are linked from their static archives (.a): the
// binary then needs neither at run time, and the library versions that
// decide the compressed bytes travel with the pypyctl binary instead of
// changing when a build host upgrades its shared libraries. Debian's
// libzstd.a is built without multithreading (ZSTD_c_nbWorkers is
// "Unsupported parameter"), so zstd links the shared libzstd.so.1, which
// every dpkg-based system has; its version then decides tar.zst bytes.
// The link flags live in per-OS files (cgo_linux.go, cgo_darwin.go):
// -l:NAME.a is GNU ld syntax that Apple's linker does not understand.

/*
#include <stdlib.h>
#include <string.h>
#include <bzlib.h>
#include <lzma.h>
#include <zstd.h>

// pp_bz_arena keeps the buffers libbz2 allocates for one block (the
// stream state, two ~3.6 MB work arrays, ftab) for the next block of the
// same worker. With malloc, each block got fresh mmap'd pages and the page
// faults cost more than half as much again as compressing (measured:
// 7.5 s vs 4.6 s CPU for a 76 MB tar).
typedef struct { void* p[8]; size_t n[8]; int used[8]; } pp_bz_arena;

static void* pp_bz_alloc(void* op, int items, int size) {
	pp_bz_arena* a = op;
	size_t want = (size_t)items * (size_t)size;
	for (int i = 0; i < 8; i++)
		if (a->p[i] != NULL && !a->used[i] && a->n[i] == want) { a->used[i] = 1; return a->p[i]; }
	for (int i = 0; i < 8; i++)
		if (a->p[i] == NULL) {
			a->p[i] = malloc(want);
			if (a->p[i] == NULL) return NULL;
			a->n[i] = want; a->used[i] = 1;
			return a->p[i];
		}
	return NULL; // libbz2 holds four at a time
}

static void pp_bz_release(void* op, void* p) {
	pp_bz_arena* a = op;
	for (int i = 0; i < 8; i++) if (a->p[i] == p) a->used[i] = 0;
}

static void pp_bz_arena_free(pp_bz_arena* a) {
	for (int i = 0; i < 8; i++) free(a->p[i]);
	free(a);
}

// pp_bz_compress is BZ2_bzBuffToBuffCompress(level 9, work factor 30)
// with the arena's allocator: the same bytes, without the page faults.
static int pp_bz_compress(pp_bz_arena* a, char* dest, unsigned int* dest_len, char* src, unsigned int src_len) {
	bz_stream s;
	memset(&s, 0, sizeof s);
	s.bzalloc = pp_bz_alloc;
	s.bzfree = pp_bz_release;
	s.opaque = a;
	int r = BZ2_bzCompressInit(&s, 9, 0, 0);
	if (r != BZ_OK) return r;
	s.next_in = src; s.avail_in = src_len;
	s.next_out = dest; s.avail_out = *dest_len;
	r = BZ2_bzCompress(&s, BZ_FINISH);
	if (r == BZ_FINISH_OK) r = BZ_OUTBUFF_FULL;
	else if (r == BZ_STREAM_END) { *dest_len -= s.avail_out; r = BZ_OK; }
	s.next_in = NULL; s.next_out = NULL;
	BZ2_bzCompressEnd(&s);
	return r;
}

typedef struct { lzma_stream strm; } pp_xz;

static pp_xz* pp_xz_new(uint32_t threads, uint64_t block_size, uint32_t preset, int* ret) {
	pp_xz* s = calloc(1, sizeof(pp_xz));
	if (s == NULL) { *ret = LZMA_MEM_ERROR; return NULL; }
	lzma_stream init = LZMA_STREAM_INIT;
	s->strm = init;
	lzma_mt mt;
	memset(&mt, 0, sizeof mt);
	mt.threads = threads;
	mt.block_size = block_size;
	mt.preset = preset;
	mt.check = LZMA_CHECK_CRC64;
	*ret = lzma_stream_encoder_mt(&s->strm, &mt);
	if (*ret != LZMA_OK) { free(s); return NULL; }
	return s;
}

// The stream never keeps Go pointers: they are set and cleared within
// one call, as cgo's pointer rules require.
static int pp_xz_code(pp_xz* s, const uint8_t* in, size_t in_len, size_t* in_used,
		uint8_t* out, size_t out_cap, size_t* out_len, int finish) {
	s->strm.next_in = in;
	s->strm.avail_in = in_len;
	s->strm.next_out = out;
	s->strm.avail_out = out_cap;
	lzma_ret r = lzma_code(&s->strm, finish ? LZMA_FINISH : LZMA_RUN);
	*in_used = in_len - s->strm.avail_in;
	*out_len = out_cap - s->strm.avail_out;
	s->strm.next_in = NULL;
	s->strm.avail_in = 0;
	s->strm.next_out = NULL;
	s->strm.avail_out = 0;
	return r;
}

static void pp_xz_progress(pp_xz* s, uint64_t* in, uint64_t* out) { lzma_get_progress(&s->strm, in, out); }

static void pp_xz_free(pp_xz* s) { lzma_end(&s->strm); free(s); }

static ZSTD_CCtx* pp_zstd_new(int level, int workers, int job_size, unsigned long long pledged, size_t* err) {
	ZSTD_CCtx* c = ZSTD_createCCtx();
	if (c == NULL) { *err = (size_t)-1; return NULL; }
	size_t r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, workers);
	if (!ZSTD_isError(r) && job_size > 0) r = ZSTD_CCtx_setParameter(c, ZSTD_c_jobSize, job_size);
	if (!ZSTD_isError(r)) r = ZSTD_CCtx_setPledgedSrcSize(c, pledged);
	if (ZSTD_isError(r)) { *err = r; ZSTD_freeCCtx(c); return NULL; }
	*err = 0;
	return c;
}

static size_t pp_zstd_code(ZSTD_CCtx* c, const void* in, size_t in_len, size_t* in_used,
		void* out, size_t out_cap, size_t* out_len, int end) {
	ZSTD_inBuffer ib = { in, in_len, 0 };
	ZSTD_outBuffer ob = { out, out_cap, 0 };
	size_t r = ZSTD_compressStream2(c, &ob, &ib, end ? ZSTD_e_end : ZSTD_e_continue);
	*in_used = ib.pos;
	*out_len = ob.pos;
	return r;
}

static int pp_zstd_is_error(size_t r) { return ZSTD_isError(r); }
static const char* pp_zstd_error_name(size_t r) { return ZSTD_getErrorName(r); }
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"io"
	"unsafe"
)

const haveCgo = true

// bz2Arena is a worker's reusable libbz2 memory (C memory, freed by
// release when the worker ends).
type bz2Arena struct{ a *C.pp_bz_arena }

func (b *bz2Arena) release() { C.pp_bz_arena_free(b.a) }

// bz2CompressBlock compresses one block's input into a complete bzip2
// stream with libbz2's defaults (work factor 30, as bzip2(1)), reusing the
// worker's buffers between blocks.
func bz2CompressBlock(w *poolWorker, in []byte) ([]byte, error) {
	if len(in) == 0 {
		return nil, errors.New("bzip2: empty block")
	}
	ar, _ := w.state.(*bz2Arena)
	if ar == nil {
		a := (*C.pp_bz_arena)(C.calloc(1, C.size_t(unsafe.Sizeof(C.pp_bz_arena{}))))
		if a == nil {
			return nil, errors.New("bzip2: out of memory")
		}
		ar = &bz2Arena{a}
		w.state = ar
	}
	// libbz2's documented worst case: 1% + 600 bytes.
	out := make([]byte, len(in)+len(in)/100+600)
	outLen := C.uint(len(out))
	r := C.pp_bz_compress(ar.a, (*C.char)(unsafe.Pointer(&out[0])), &outLen,
		(*C.char)(unsafe.Pointer(&in[0])), C.uint(len(in)))
	if r != C.BZ_OK {
		return nil, fmt.Errorf("bzip2: libbz2 error %d", int(r))
	}
	return out[:outLen], nil
}

const cgoBufSize = 1 << 20

// xzWriter drives liblzma's multi-threaded encoder. Its block size is
// fixed, so the stream is the same for any thread count.
type xzWriter struct {
	ctx      context.Context
	s        *C.pp_xz
	w        io.Writer
	out      []byte
	progress func(done int64)
	err      error
}

func newXzWriter(ctx context.Context, w io.Writer, workers int, progress func(int64)) (*xzWriter, error) {
	return newXzWriterWith(ctx, w, xzThreads(workers), xzPreset, xzBlockSize, progress)
}

// newXzWriterWith lets tests use small blocks to exercise threading cheaply.
func newXzWriterWith(ctx context.Context, w io.Writer, threads, preset int, blockSize int64, progress func(int64)) (*xzWriter, error) {
	var ret C.int
	s := C.pp_xz_new(C.uint32_t(threads), C.uint64_t(blockSize), C.uint32_t(preset), &ret)
	if s == nil {
		return nil, fmt.Errorf("xz: cannot start encoder (liblzma error %d)", int(ret))
	}
	return &xzWriter{ctx: ctx, s: s, w: w, out: make([]byte, cgoBufSize), progress: progress}, nil
}

func (x *xzWriter) code(p []byte, finish bool) error {
	for {
		if err := x.ctx.Err(); err != nil {
			return err
		}
		var inPtr *C.uint8_t
		n := min(len(p), cgoBufSize)
		if n > 0 {
			inPtr = (*C.uint8_t)(unsafe.Pointer(&p[0]))
		}
		var used, produced C.size_t
		r := C.pp_xz_code(x.s, inPtr, C.size_t(n), &used, (*C.uint8_t)(unsafe.Pointer(&x.out[0])), C.size_t(len(x.out)), &produced, boolInt(finish))
		if produced > 0 {
			if _, err := x.w.Write(x.out[:produced]); err != nil {
				return err
			}
		}
		p = p[used:]
		switch {
		case r == C.LZMA_STREAM_END:
			return nil
		case r != C.LZMA_OK:
			return fmt.Errorf("liblzma error %d", int(r))
		case !finish && len(p) == 0:
			if x.progress != nil {
				var in, out C.uint64_t
				C.pp_xz_progress(x.s, &in, &out)
				x.progress(int64(in))
			}
			return nil
		}
	}
}

func (x *xzWriter) Write(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if err := x.code(p, false); err != nil {
		x.err = fmt.Errorf("xz: %w", err)
		return 0, x.err
	}
	return len(p), nil
}

// Close finishes the stream and frees the encoder; it must be called even
// after an error.
func (x *xzWriter) Close() error {
	if x.s == nil {
		return x.err
	}
	defer func() { C.pp_xz_free(x.s); x.s = nil }()
	if x.err != nil {
		return x.err
	}
	if err := x.code(nil, true); err != nil {
		x.err = fmt.Errorf("xz: %w", err)
	}
	return x.err
}

// zstdWriter drives libzstd with nbWorkers ≥ 1, whose output does not
// depend on the worker count.
type zstdWriter struct {
	ctx      context.Context
	c        *C.ZSTD_CCtx
	w        io.Writer
	out      []byte
	progress func(done int64)
	fed      int64 // bytes handed to libzstd, for progress
	err      error
}

func newZstdWriter(ctx context.Context, w io.Writer, workers int, size int64, progress func(int64)) (*zstdWriter, error) {
	return newZstdWriterWith(ctx, w, zstdThreads(workers), zstdLevel, zstdJobSize, size, progress)
}

// newZstdWriterWith lets tests use small jobs to exercise threading
// cheaply. size is the exact input length (it goes into the frame header).
func newZstdWriterWith(ctx context.Context, w io.Writer, threads, level, jobSize int, size int64, progress func(int64)) (*zstdWriter, error) {
	var e C.size_t
	c := C.pp_zstd_new(C.int(level), C.int(threads), C.int(jobSize), C.ulonglong(size), &e)
	if c == nil {
		return nil, fmt.Errorf("zstd: cannot start encoder: %s", zstdErr(e))
	}
	return &zstdWriter{ctx: ctx, c: c, w: w, out: make([]byte, cgoBufSize), progress: progress}, nil
}

func zstdErr(r C.size_t) string {
	if r == ^C.size_t(0) {
		return "out of memory"
	}
	return C.GoString(C.pp_zstd_error_name(r))
}

func (z *zstdWriter) code(p []byte, end bool) error {
	p0 := p
	for {
		if err := z.ctx.Err(); err != nil {
			return err
		}
		var inPtr unsafe.Pointer
		n := min(len(p), cgoBufSize)
		if n > 0 {
			inPtr = unsafe.Pointer(&p[0])
		}
		var used, produced C.size_t
		r := C.pp_zstd_code(z.c, inPtr, C.size_t(n), &used, unsafe.Pointer(&z.out[0]), C.size_t(len(z.out)), &produced, boolInt(end))
		if C.pp_zstd_is_error(r) != 0 {
			return errors.New(zstdErr(r))
		}
		if produced > 0 {
			if _, err := z.w.Write(z.out[:produced]); err != nil {
				return err
			}
		}
		p = p[used:]
		if end && r == 0 {
			return nil
		}
		if !end && len(p) == 0 {
			if z.progress != nil {
				z.fed += int64(len(p0))
				z.progress(z.fed)
			}
			return nil
		}
	}
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if err := z.code(p, false); err != nil {
		z.err = fmt.Errorf("zstd: %w", err)
		return 0, z.err
	}
	return len(p), nil
}

// Close ends the frame and frees the encoder; it must be called even after
// an error.
func (z *zstdWriter) Close() error {
	if z.c == nil {
		return z.err
	}
	defer func() { C.ZSTD_freeCCtx(z.c); z.c = nil }()
	if z.err != nil {
		return z.err
	}
	if err := z.code(nil, true); err != nil {
		z.err = fmt.Errorf("zstd: %w", err)
	}
	return z.err
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
