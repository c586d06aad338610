package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Entry is one stored output, for size reports and pruning.
type Entry struct {
	Key  Key    `json:"key"`
	Dir  string `json:"dir"`
	Size int64  `json:"size"`
	// Used is when the entry was last built or found by Lookup.
	Used time.Time `json:"used"`
}

// Entries lists the store's entries, least recently used first.
func (s *Local) Entries() ([]Entry, error) {
	var out []Entry
	shards, err := os.ReadDir(s.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", s.Root, err)
	}
	for _, sh := range shards {
		if !sh.IsDir() || len(sh.Name()) != 2 {
			continue // locks/, tmp/
		}
		ents, err := os.ReadDir(filepath.Join(s.Root, sh.Name()))
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			dir := filepath.Join(s.Root, sh.Name(), e.Name())
			st, err := os.Stat(filepath.Join(dir, "MANIFEST"))
			if err != nil {
				continue // not an entry (yet)
			}
			size, err := DirSize(dir)
			if err != nil {
				return nil, err
			}
			out = append(out, Entry{Key: Key(e.Name()), Dir: dir, Size: size, Used: st.ModTime()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Used.Before(out[j].Used) })
	return out, nil
}

// Prune removes entries last used before cutoff (a cutoff in the future
// removes all), and leftovers of interrupted builds in tmp/. Each entry is removed under
// its key's lock, so a build using it is never cut from under it; an entry
// whose lock is held is skipped. With dryRun nothing is removed.
func (s *Local) Prune(ctx context.Context, cutoff time.Time, dryRun bool) (removed []Entry, freed int64, err error) {
	ents, err := s.Entries()
	if err != nil {
		return nil, 0, err
	}
	for _, e := range ents {
		if !e.Used.Before(cutoff) {
			continue
		}
		if dryRun {
			removed, freed = append(removed, e), freed+e.Size
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		lock, err := fsutil.Acquire(lctx, filepath.Join(s.Root, "locks", string(e.Key)+".lock"), nil)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return removed, freed, ctx.Err()
			}
			continue // in use
		}
		err = os.RemoveAll(e.Dir)
		lock.Release()
		os.Remove(filepath.Join(s.Root, "locks", string(e.Key)+".lock"))
		if err != nil {
			return removed, freed, fmt.Errorf("remove store entry %s: %w", e.Key.Short(), err)
		}
		removed, freed = append(removed, e), freed+e.Size
	}
	if !dryRun {
		// Work dirs of builds killed mid-way; live builds keep theirs fresh.
		tmps, _ := os.ReadDir(filepath.Join(s.Root, "tmp"))
		for _, t := range tmps {
			if info, err := t.Info(); err == nil && info.ModTime().Before(cutoff) {
				os.RemoveAll(filepath.Join(s.Root, "tmp", t.Name()))
			}
		}
	}
	return removed, freed, nil
}

// DirSize is the total size of the regular files under dir.
func DirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}
