package install

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// CachedDownload is one file in <cache>/downloads.
type CachedDownload struct {
	Name string `json:"name"`
	Size int64  `json:"size"`
	// InUse is true when an installed version was installed from it
	// (reinstalls and --force reuse it).
	InUse bool `json:"in_use"`
}

// Downloads lists <cache>/downloads.
func Downloads(d dirs.Dirs, l Layout) ([]CachedDownload, error) {
	ents, err := os.ReadDir(d.Downloads())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	if all, err := ListInstalled(l); err == nil {
		for _, in := range all {
			if in.Receipt != nil {
				used[in.Receipt.Filename] = true
			}
		}
	}
	var out []CachedDownload
	for _, e := range ents {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, CachedDownload{Name: e.Name(), Size: info.Size(), InUse: used[e.Name()]})
	}
	return out, nil
}

// PruneDownloads removes cached archives no installed version came from
// and unfinished .part files; with all, every cached download. It holds
// the install lock (giving up when an install is running) so a download
// in progress is never removed.
func PruneDownloads(ctx context.Context, d dirs.Dirs, l Layout, all, dryRun bool) (removed []CachedDownload, freed int64, err error) {
	files, err := Downloads(d, l)
	if err != nil || len(files) == 0 {
		return nil, 0, err
	}
	if !dryRun {
		if err := os.MkdirAll(l.Data, 0o755); err != nil {
			return nil, 0, err
		}
		lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lock, err := fsutil.Acquire(lctx, l.Lock(), nil)
		cancel()
		if err != nil {
			return nil, 0, fmt.Errorf("an install is running (%s is held); prune the cache when it is done", l.Lock())
		}
		defer lock.Release()
	}
	for _, f := range files {
		if f.InUse && !all && !strings.HasSuffix(f.Name, ".part") {
			continue
		}
		if !dryRun {
			if err := os.Remove(filepath.Join(d.Downloads(), f.Name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, freed, err
			}
		}
		removed, freed = append(removed, f), freed+f.Size
	}
	return removed, freed, nil
}
