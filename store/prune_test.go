package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestPruneRemovesLeastRecentlyUsed(t *testing.T) {
	ctx := context.Background()
	s := NewLocal(t.TempDir())
	put := func(name, body string) Key {
		k, err := NewKey(name, 1, body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Ensure(ctx, k, func(_ context.Context, dir string) error {
			return os.WriteFile(filepath.Join(dir, "f"), []byte(body), 0o644)
		}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	old, used, fresh := put("old", "aaaa"), put("used", "bbbbbb"), put("fresh", "cc")
	long := time.Now().Add(-60 * 24 * time.Hour)
	for _, k := range []Key{old, used} {
		os.Chtimes(filepath.Join(s.entry(k), "MANIFEST"), long, long)
	}
	// A lookup marks an entry used.
	if _, ok, err := s.Lookup(used); !ok || err != nil {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	os.MkdirAll(filepath.Join(s.Root, "tmp", "killed-build"), 0o755)
	os.Chtimes(filepath.Join(s.Root, "tmp", "killed-build"), long, long)

	ents, err := s.Entries()
	if err != nil || len(ents) != 3 || ents[0].Key != old {
		t.Fatalf("entries = %+v, %v", ents, err)
	}
	cutoff := time.Now().Add(-30 * 24 * time.Hour)
	tests := []struct {
		name     string
		dryRun   bool
		wantGone []Key
	}{
		{"dry run removes nothing", true, nil},
		{"old entries go", false, []Key{old}},
	}
	for _, tt := range tests {
		removed, freed, err := s.Prune(ctx, cutoff, tt.dryRun)
		if err != nil || len(removed) != 1 || removed[0].Key != old || freed <= 0 {
			t.Fatalf("%s: removed %+v (%d bytes), %v", tt.name, removed, freed, err)
		}
		_, err = os.Stat(s.entry(old))
		if gone := os.IsNotExist(err); gone != (len(tt.wantGone) > 0) {
			t.Errorf("%s: old entry gone = %v", tt.name, gone)
		}
	}
	for _, k := range []Key{used, fresh} {
		if _, ok, _ := s.Lookup(k); !ok {
			t.Errorf("entry %s was pruned", k.Short())
		}
	}
	if _, err := os.Stat(filepath.Join(s.Root, "tmp", "killed-build")); !os.IsNotExist(err) {
		t.Error("a stale tmp dir survived")
	}
	// A future cutoff empties the store.
	if removed, _, err := s.Prune(ctx, time.Now().Add(time.Hour), false); err != nil || len(removed) != 2 {
		t.Errorf("prune all: %d, %v", len(removed), err)
	}
}
