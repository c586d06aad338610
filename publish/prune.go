package publish

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// Prune removes published nightly release directories from dest and their
// files from versions.json, download-metadata.json and SHA256SUMS, under
// the publish lock. Only nightlies can be pruned: a stable release, once
// published, stays (readers pin its sha256).
func Prune(ctx context.Context, dest string, names []string) error {
	for _, n := range names {
		if err := safeName(n); err != nil {
			return fmt.Errorf("prune: %w", err)
		}
	}
	lock, err := fsutil.Acquire(ctx, filepath.Join(dest, lockName), nil)
	if err != nil {
		return err
	}
	defer lock.Release()
	ix, err := index.ReadFile(filepath.Join(dest, VersionsJSON))
	if err != nil {
		return err
	}
	gone := func(filename string) bool {
		for _, n := range names {
			if strings.HasPrefix(filename, n+"-") || strings.HasPrefix(filename, n+".") {
				return true
			}
		}
		return false
	}
	var kept index.Index
	for _, v := range ix {
		if !v.IsNightly() {
			for _, f := range v.Files {
				if gone(f.Filename) {
					return fmt.Errorf("prune: %s is listed in the stable release %s/%s; only nightlies are pruned", f.Filename, v.PyPyVersion, v.PythonVersion)
				}
			}
			kept = append(kept, v)
			continue
		}
		var files []index.File
		for _, f := range v.Files {
			if !gone(f.Filename) {
				files = append(files, f)
			}
		}
		if len(files) > 0 {
			v.Files = files
			kept = append(kept, v)
		}
	}
	kept = kept.Normalize()
	// Index first: a reader must never find an entry whose file is gone.
	if err := fsutil.WriteAtomic(filepath.Join(dest, VersionsJSON), 0o644, kept.Encode); err != nil {
		return err
	}
	cat := index.UVCatalogue(kept)
	if err := fsutil.WriteAtomic(filepath.Join(dest, DownloadMetadata), 0o644, func(w io.Writer) error { return index.EncodeUVCatalogue(w, cat) }); err != nil {
		return err
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dest, n)); err != nil {
			return fmt.Errorf("prune %s: %w", n, err)
		}
	}
	_, err = writeTopSums(dest)
	return err
}
