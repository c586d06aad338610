//go:build cgo

package archive

// Apple's linker has no -l:NAME.a; it links the libbz2 and liblzma
// Homebrew or the SDK provide.

// #cgo LDFLAGS: -lbz2 -llzma -lpthread
import "C"
