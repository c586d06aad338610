//go:build cgo

package archive

// Static libbz2 and liblzma (see cgo.go for why); -l:NAME.a is GNU ld's.

// #cgo LDFLAGS: -l:libbz2.a -l:liblzma.a -lzstd -lpthread
import "C"
