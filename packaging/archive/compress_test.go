//go:build cgo

package archive

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// writeSplit feeds data in pieces of the given sizes, cycling.
func writeSplit(t *testing.T, w io.WriteCloser, data []byte, sizes []int) {
	t.Helper()
	for i := 0; len(data) > 0; i++ {
		n := min(sizes[i%len(sizes)], len(data))
		if _, err := w.Write(data[:n]); err != nil {
			t.Fatal(err)
		}
		data = data[n:]
	}
	must(t, w.Close())
}

// TestCompressorsIgnoreWorkersAndWriteSizes: the stream compressors give
// the same bytes for any worker count and any way the input is cut into
// Write calls. xz and zstd run here with small blocks/jobs (and zstd at a
// fast level) so that several run in parallel in a short test.
func TestCompressorsIgnoreWorkersAndWriteSizes(t *testing.T) {
	data := append(noiseText(5_000_000, 7), bytes.Repeat([]byte{0}, 300_000)...)
	ctx := context.Background()
	type mk func(w io.Writer, workers int) (io.WriteCloser, error)
	cases := []struct {
		name string
		mk   mk
		tool []string
	}{
		{"bzip2", func(w io.Writer, n int) (io.WriteCloser, error) { return newBz2Writer(ctx, w, n, nil), nil }, []string{"bzip2", "-dc"}},
		{"gzip", func(w io.Writer, n int) (io.WriteCloser, error) { return newGzipWriter(ctx, w, n, nil), nil }, []string{"gzip", "-dc"}},
		{"xz", func(w io.Writer, n int) (io.WriteCloser, error) {
			return newXzWriterWith(ctx, w, n, 1, 512<<10, nil)
		}, []string{"xz", "-dc"}},
		{"zstd", func(w io.Writer, n int) (io.WriteCloser, error) {
			return newZstdWriterWith(ctx, w, n, 3, 1<<20, int64(len(data)), nil)
		}, []string{"zstd", "-dc"}},
	}
	runs := []struct {
		workers int
		sizes   []int
	}{
		{1, []int{1 << 20}},
		{2, []int{1, 7, 4096, 333_333}},
		{4, []int{65536}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first []byte
			for i, r := range runs {
				var b bytes.Buffer
				w, err := c.mk(&b, r.workers)
				must(t, err)
				writeSplit(t, w, data, r.sizes)
				if i == 0 {
					first = b.Bytes()
					needTool(t, c.tool[0])
					if out := run(t, first, c.tool[0], c.tool[1:]...); !bytes.Equal(out, data) {
						t.Fatalf("%s does not give the input back", c.tool[0])
					}
					continue
				}
				if !bytes.Equal(b.Bytes(), first) {
					t.Fatalf("workers=%d sizes=%v: %d bytes, differs from workers=1 (%d bytes)", r.workers, r.sizes, b.Len(), len(first))
				}
			}
		})
	}
}

// TestBzip2BlockEdges compares the parallel writer with `bzip2 -9` on
// inputs that stress where libbz2 closes blocks: worst-case run-length
// growth (runs of exactly 4), long runs across block ends, runs of 255 and
// 256, incompressible data, and an input that fills a block exactly at its
// last byte.
func TestBzip2BlockEdges(t *testing.T) {
	needTool(t, "bzip2")
	r := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 2_000_000)
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	var runs4, runsLong bytes.Buffer
	for i := 0; runs4.Len() < 1_900_000; i++ {
		runs4.Write(bytes.Repeat([]byte{byte(i)}, 4))
	}
	for i := 0; runsLong.Len() < 2_500_000; i++ {
		runsLong.Write(bytes.Repeat([]byte{byte(i % 3)}, []int{255, 256, 1000, 5, 4, 3}[i%6]))
	}
	cases := map[string][]byte{
		"empty":        {},
		"one byte":     {'x'},
		"random":       random,
		"runs of 4":    runs4.Bytes(),
		"long runs":    runsLong.Bytes(),
		"zeros":        make([]byte, 3_000_000),
		"text":         noiseText(2_000_000, 3),
		"full at end":  fullAtEnd(random),
		"runs4 at end": fullAtEnd(runs4.Bytes()),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			w := newBz2Writer(context.Background(), &b, 3, nil)
			writeSplit(t, w, data, []int{100_000, 3})
			if ref := run(t, data, "bzip2", "-9"); !bytes.Equal(b.Bytes(), ref) {
				t.Fatalf("%d bytes, bzip2 -9 gives %d", b.Len(), len(ref))
			}
		})
	}
}

// fullAtEnd cuts data just where libbz2's block becomes full, so the input
// ends with a full block and a pending run.
func fullAtEnd(data []byte) []byte {
	s := newBz2Splitter()
	for i := range data {
		if s.nblock >= bz2BlockMax {
			return data[:i]
		}
		if err := s.write(data[i:i+1], func([]byte) error { return nil }); err != nil {
			panic(err)
		}
	}
	return data
}
