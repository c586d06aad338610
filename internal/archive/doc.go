// Package archive reads pypyctl's release archives (tar.bz2, tar.gz,
// tar.xz, tar.zst, zip) and upstream's: the format names, the decoders,
// listing, and safe extraction, which refuses entries that would land or
// point outside the destination. It holds no encoder, so the installer
// and the importers that only unpack link none: packaging/archive writes
// archives and re-exports Format.
//
// bzip2 and xz are decoded with libbz2 and liblzma when built with cgo
// (what tar xjf / tar xJf run, and faster than the pure-Go readers), with
// compress/bzip2 and ulikunitz/xz otherwise; gzip and zstd are pure Go
// either way.
package archive
