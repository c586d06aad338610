package store

import "context"

// Store is what stages need from a store: find an entry, or build it once.
// Local is the directory store; a registry-backed store (oci://) layers a
// remote over a Local cache, so callers always get a local directory.
type Store interface {
	// Lookup returns the content directory of k if present and intact.
	Lookup(k Key) (string, bool, error)
	// Ensure returns k's entry, running build into an empty directory
	// when it is missing; concurrent callers for one key build it once.
	Ensure(ctx context.Context, k Key, build func(ctx context.Context, dir string) error) (Result, error)
}

var _ Store = (*Local)(nil)

// LocalOf returns the directory store behind s: s itself, or the local
// cache of a layered store (one with a Cache method, as oci:// stores
// have). Stages that need a directory store (translation) use it.
func LocalOf(s Store) (*Local, bool) {
	switch s := s.(type) {
	case *Local:
		return s, true
	case interface{ Cache() *Local }:
		return s.Cache(), true
	}
	return nil, false
}
