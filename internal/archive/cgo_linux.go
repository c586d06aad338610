//go:build cgo

package archive

// The decoders link libbz2 and liblzma statically, as packaging/archive's
// encoders do (see there why), and nothing else: an installer that only
// reads archives needs no libzstd. -l:NAME.a is GNU ld's.

// #cgo LDFLAGS: -l:libbz2.a -l:liblzma.a -lpthread
import "C"
