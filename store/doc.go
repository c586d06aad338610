// Package store is pypyctl's content-addressed store. Every stage's output
// is a directory kept under the digest of what made it (stage name and
// version, input digests, options): the same key is never built twice, a
// damaged entry is detected by its manifest and rebuilt, and writes are
// atomic under a per-key lock so concurrent builders never clash.
package store
