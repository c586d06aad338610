//go:build unix

// Command archivebench packs a directory with pypyctl's archive writer and
// prints "<format> <bytes> <wall seconds> <cpu seconds>" (CPU: user + sys of
// every thread, the cgo compressors' included), for scripts/bench/archive.sh.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/pypyctl/pypyctl/packaging/archive"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: archivebench FORMAT DIR")
		os.Exit(2)
	}
	f, err := archive.ParseFormat(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	dir := os.Args[2]
	var n countingWriter
	start := time.Now()
	if err := archive.Write(context.Background(), &n, dir, filepath.Base(dir), f, archive.Options{SourceDateEpoch: 1672272000}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	wall := time.Since(start).Seconds()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	fmt.Printf("%s %d %.2f %.2f\n", f, int64(n), wall, cpu)
}

type countingWriter int64

func (c *countingWriter) Write(b []byte) (int, error) {
	*c += countingWriter(len(b))
	return len(b), nil
}

var _ io.Writer = (*countingWriter)(nil)
