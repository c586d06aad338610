package archive

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// decodeAll runs the build's decoder for f (libbz2/liblzma with cgo)
// over data, reading through small, odd-sized buffers so the decoders'
// buffer handling is exercised too.
func decodeAll(data []byte, f Format, oneByte bool) ([]byte, error) {
	var r io.Reader = bytes.NewReader(data)
	if oneByte {
		r = iotest.OneByteReader(r)
	}
	var zr io.Reader
	var closeFn func()
	var err error
	switch f {
	case TarBz2:
		zr, closeFn, err = newBzip2Decoder(r)
	case TarXz:
		zr, closeFn, err = newXzDecoder(r)
	default:
		return nil, fmt.Errorf("no decoder for %s", f)
	}
	if err != nil {
		return nil, err
	}
	defer closeFn()
	var out bytes.Buffer
	buf := make([]byte, 4093)
	if oneByte {
		buf = buf[:7]
	}
	_, err = io.CopyBuffer(&out, struct{ io.Reader }{zr}, buf)
	closeFn() // twice must be safe
	return out.Bytes(), err
}

// compressCLI compresses data with the reference tool.
func compressCLI(t *testing.T, tool string, data []byte, args ...string) []byte {
	t.Helper()
	return run(t, data, tool, append(args, "-c")...)
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestDecodersMatchCLI(t *testing.T) {
	text := noiseText(3_000_000, 7)
	random := randomBytes(1, 700_000)
	for _, c := range []struct {
		f    Format
		tool string
		args []string
	}{
		{TarBz2, "bzip2", []string{"-9"}},
		{TarBz2, "bzip2", []string{"-1"}},
		{TarXz, "xz", []string{"-6"}},
		// Several blocks: the threaded decoder decodes them in parallel.
		{TarXz, "xz", []string{"-T2", "-1", "--block-size=300KiB"}},
		{TarXz, "xz", []string{"--check=sha256", "-0"}},
	} {
		t.Run(c.tool+strings.Join(c.args, ""), func(t *testing.T) {
			needTool(t, c.tool)
			for _, in := range [][]byte{text, random, {}, []byte("x")} {
				comp := compressCLI(t, c.tool, in, c.args...)
				for _, oneByte := range []bool{false, true} {
					if oneByte && len(in) > 100_000 {
						continue
					}
					got, err := decodeAll(comp, c.f, oneByte)
					if err != nil {
						t.Fatalf("%d bytes: %v", len(in), err)
					}
					if !bytes.Equal(got, in) {
						t.Fatalf("%d bytes: decoded %d bytes that differ", len(in), len(got))
					}
				}
				// The CLI agrees with itself on what the input was.
				if ref := run(t, comp, c.tool, "-dc"); !bytes.Equal(ref, in) {
					t.Fatalf("%s -dc disagrees", c.tool)
				}
			}
		})
	}
}

func TestDecodersEdgeCases(t *testing.T) {
	needTool(t, "bzip2", "xz")
	a, b := noiseText(200_000, 7), randomBytes(2, 50_000)
	bzA, bzB := compressCLI(t, "bzip2", a), compressCLI(t, "bzip2", b)
	xzA, xzB := compressCLI(t, "xz", a), compressCLI(t, "xz", b)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	flip := func(p []byte, at int) []byte {
		q := bytes.Clone(p)
		q[at] ^= 0x55
		return q
	}
	zeros := func(n int) []byte { return make([]byte, n) }
	for _, c := range []struct {
		name string
		f    Format
		in   []byte
		want []byte // nil: an error
		err  error  // when set, errors.Is must hold
	}{
		{"bz2 concatenated", TarBz2, cat(bzA, bzB, bzA), cat(a, b, a), nil},
		{"bz2 empty stream", TarBz2, compressCLI(t, "bzip2", nil), []byte{}, nil},
		{"bz2 empty input", TarBz2, nil, nil, nil},
		{"bz2 truncated", TarBz2, bzA[:len(bzA)/2], nil, io.ErrUnexpectedEOF},
		{"bz2 truncated by one", TarBz2, bzA[:len(bzA)-1], nil, io.ErrUnexpectedEOF},
		{"bz2 truncated second stream", TarBz2, cat(bzA, bzB[:20]), nil, io.ErrUnexpectedEOF},
		{"bz2 garbage after", TarBz2, cat(bzA, []byte("garbage")), nil, nil},
		{"bz2 zeros after", TarBz2, cat(bzA, zeros(4)), nil, nil},
		{"bz2 not bzip2", TarBz2, xzA, nil, nil},
		{"bz2 corrupt", TarBz2, flip(bzA, len(bzA)/2), nil, nil},
		{"bz2 header only", TarBz2, []byte("BZh9"), nil, io.ErrUnexpectedEOF},
		{"xz concatenated", TarXz, cat(xzA, xzB, xzA), cat(a, b, a), nil},
		{"xz padded", TarXz, cat(xzA, zeros(4), xzB, zeros(8)), cat(a, b), nil},
		{"xz bad padding", TarXz, cat(xzA, zeros(3)), nil, nil},
		{"xz empty stream", TarXz, compressCLI(t, "xz", nil), []byte{}, nil},
		{"xz empty input", TarXz, nil, nil, nil},
		{"xz truncated", TarXz, xzA[:len(xzA)/2], nil, io.ErrUnexpectedEOF},
		{"xz truncated by one", TarXz, xzA[:len(xzA)-1], nil, io.ErrUnexpectedEOF},
		{"xz garbage after", TarXz, cat(xzA, []byte("garbage!")), nil, nil},
		{"xz not xz", TarXz, bzA, nil, nil},
		{"xz corrupt", TarXz, flip(xzA, len(xzA)/2), nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				got, err := decodeAll(c.in, c.f, oneByte)
				if c.want != nil {
					if err != nil || !bytes.Equal(got, c.want) {
						t.Fatalf("oneByte=%v: %d bytes, %v; want %d bytes", oneByte, len(got), err, len(c.want))
					}
					continue
				}
				if err == nil {
					t.Fatalf("oneByte=%v: no error (%d bytes decoded)", oneByte, len(got))
				}
				if c.err != nil && !errors.Is(err, c.err) {
					t.Fatalf("oneByte=%v: error %v, want %v", oneByte, err, c.err)
				}
				if prefix := map[Format]string{TarBz2: "bzip2", TarXz: "xz"}[c.f]; haveCgo && !strings.HasPrefix(err.Error(), prefix+": ") {
					t.Fatalf("error %q does not say %s", err, prefix)
				}
			}
		})
	}
}

// FuzzBzip2Decoder and FuzzXzDecoder check that the decoders never crash
// on arbitrary input, and that where both the build's decoder and the
// pure-Go reader accept an input they agree on its content.
//
//	go test -run '^$' -fuzz FuzzBzip2Decoder -fuzztime 60s ./internal/archive
func FuzzBzip2Decoder(f *testing.F) {
	fuzzDecoder(f, TarBz2, "bzip2", func(r io.Reader) (io.Reader, error) { return pureBzip2Reader(r), nil })
}

// FuzzXzDecoder: see FuzzBzip2Decoder.
//
//	go test -run '^$' -fuzz FuzzXzDecoder -fuzztime 60s ./internal/archive
func FuzzXzDecoder(f *testing.F) {
	fuzzDecoder(f, TarXz, "xz", pureXzReader)
}

// fuzzLimit bounds the output read per input: a few fuzzed bytes can
// stand for gigabytes.
const fuzzLimit = 8 << 20

func fuzzDecoder(f *testing.F, format Format, tool string, pure func(io.Reader) (io.Reader, error)) {
	needTool(f, tool)
	for _, in := range [][]byte{nil, []byte("hello"), noiseText(20_000, 7), randomBytes(3, 3000)} {
		comp := run(f, in, tool, "-c")
		f.Add(comp)
		f.Add(append(bytes.Clone(comp), comp...))
		f.Add(comp[:len(comp)*2/3])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var zr io.Reader
		var closeFn func()
		var err error
		if format == TarBz2 {
			zr, closeFn, err = newBzip2Decoder(bytes.NewReader(data))
		} else {
			zr, closeFn, err = newXzDecoder(bytes.NewReader(data))
		}
		if err != nil {
			return
		}
		defer closeFn()
		got, err := io.ReadAll(io.LimitReader(zr, fuzzLimit))
		if err != nil || len(got) == fuzzLimit {
			return
		}
		pr, perr := pure(bytes.NewReader(data))
		if perr != nil {
			return
		}
		want, perr := io.ReadAll(io.LimitReader(pr, fuzzLimit))
		if perr == nil && !bytes.Equal(got, want) {
			t.Fatalf("decoded %d bytes, pure Go reader %d bytes that differ", len(got), len(want))
		}
	})
}
