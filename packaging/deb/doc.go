// Package deb owns pypyctl's Debian binary packages: it turns an assembled
// release tree into a policy-clean, byte-reproducible .deb installed under
// /opt/pypy/<release>, computes its Depends from the tree's real ELF NEEDED
// entries, and reads .debs back (the control paragraph, with
// internal/debfile's reader) for the apt repository writer and for tests.
//
// The .deb is written by this package's own ar and tar code rather than a
// packaging library: the format is three ar members (debian-binary,
// control.tar.xz, data.tar.xz), and owning the writer is what makes every
// byte (member order, mtimes, owners, modes, compression settings) a
// function of the tree and SOURCE_DATE_EPOCH alone.
package deb
