//go:build cgo

package archive

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestXzDecoderMemLimit: a stream whose dictionary needs more than the
// limit is refused with a clear error instead of being allocated.
func TestXzDecoderMemLimit(t *testing.T) {
	needTool(t, "xz")
	comp := run(t, noiseText(100_000, 4), "xz", "-6", "-c") // 8 MiB dictionary
	for _, c := range []struct {
		limit uint64
		ok    bool
	}{{1 << 20, false}, {xzMemStop, true}} {
		zr, closeFn, err := newXzDecoderWith(bytes.NewReader(comp), 2, c.limit)
		must(t, err)
		_, err = io.Copy(io.Discard, zr)
		closeFn()
		if c.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "MiB limit")) {
			t.Fatalf("limit %d: %v", c.limit, err)
		}
	}
}

// TestXzDecoderMultiBlockThreads: multi-block streams, as
// packaging/archive's writer makes (its tests read its own back), decode
// the same with one thread and several (liblzma's threaded decoder).
func TestXzDecoderMultiBlockThreads(t *testing.T) {
	needTool(t, "xz")
	plain := noiseText(2_000_000, 5)
	comp := run(t, plain, "xz", "-2", "-T2", "--block-size=100000", "-c")
	for _, threads := range []int{1, 2, 4} {
		zr, closeFn, err := newXzDecoderWith(bytes.NewReader(comp), threads, xzMemStop)
		must(t, err)
		got, err := io.ReadAll(zr)
		closeFn()
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("threads %d: %d bytes, %v", threads, len(got), err)
		}
	}
}
