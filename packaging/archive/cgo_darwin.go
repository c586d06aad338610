//go:build cgo

package archive

// Apple's linker has no -l:NAME.a; it links the libraries Homebrew or the
// SDK provide (the dynamic ones when both exist), so tar.bz2 and tar.xz
// bytes follow those library versions on macOS.

// #cgo LDFLAGS: -lbz2 -llzma -lzstd -lpthread
import "C"
