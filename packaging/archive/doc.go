// Package archive writes pypyctl's release archives: a directory tree as
// a deterministic tar.bz2, tar.gz, tar.xz, tar.zst or zip (same bytes for
// the same tree and SOURCE_DATE_EPOCH on any machine, cwd, umask, TZ,
// locale, clock or worker count). Reading and safe extraction are
// internal/archive's, which links no encoder; this package's tests read
// back what it writes with it.
//
// Compression runs in parallel over fixed input splits so the bytes never
// depend on how many workers ran. bzip2, xz and zstd use the reference C
// libraries (linked statically through cgo) because their pure-Go encoders
// are larger or slower.
package archive
