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
		if strings.HasSuffix(e.Name(), lockSuffix) {
			continue // a download's lock, not a download
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		out = append(out, CachedDownload{Name: e.Name(), Size: info.Size(), InUse: used[e.Name()]})
	}
	return out, nil
}

// lockSuffix names a download's lock file, <file>.lock beside it.
const lockSuffix = ".lock"

// downloadLock is the lock an install holds on <cache>/downloads/<file>
// (and its .part) from before the download until the archive is unpacked.
func downloadLock(archivePath string) string { return archivePath + lockSuffix }

// PruneDownloads removes cached archives no installed version came from
// and unfinished .part files; with all, every cached download. It holds
// the install lock (giving up when an install is extracting) and, for
// each file, that archive's download lock: a file whose download lock is
// held (a download or extraction in progress) is left alone. Lock files
// stay: removing one that another process has open would let two holders
// in at once.
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
			p := filepath.Join(d.Downloads(), f.Name)
			dl, held, err := fsutil.TryAcquire(downloadLock(strings.TrimSuffix(p, ".part")))
			if err != nil {
				return removed, freed, err
			}
			if !held {
				continue // being downloaded or unpacked right now
			}
			err = os.Remove(p)
			dl.Release()
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, freed, err
			}
		}
		removed, freed = append(removed, f), freed+f.Size
	}
	return removed, freed, nil
}
