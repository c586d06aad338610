// Package builder owns pypyctl's builder images: root file systems made
// from a pinned set of Debian packages (builders.lock.yaml: suite, names,
// versions, sha256), assembled without a container engine, kept in the
// content-addressed store under a key that is their digest, and run with
// bubblewrap as the whole file system of a translation.
//
// An image is a function of its lock entry alone: the same pins give the
// same key everywhere, so a registry store hands every CI builder the
// same bytes, and a translation's store key names the image's key, so a
// VM made with one toolchain (compiler, -dev libraries, host PyPy) is
// never served for another.
package builder
