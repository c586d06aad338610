//go:build !cgo

package archive

import "io"

// Without cgo, extraction uses the pure-Go readers in readers.go.

// haveCgo: bzip2 and xz are read in pure Go.
const haveCgo = false

func newBzip2Decoder(r io.Reader) (io.Reader, func(), error) {
	return pureBzip2Reader(r), func() {}, nil
}

func newXzDecoder(r io.Reader) (io.Reader, func(), error) {
	zr, err := pureXzReader(r)
	return zr, func() {}, err
}
