package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/publish"
)

// NightliesIn lists the published nightlies in dest, newest (highest N)
// first.
func NightliesIn(dest string) ([]Nightly, error) {
	ents, err := os.ReadDir(dest)
	if err != nil {
		return nil, err
	}
	var out []Nightly
	for _, e := range ents {
		if n, ok := ParseNightlyName(e.Name()); ok && e.IsDir() {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].N != out[j].N {
			return out[i].N > out[j].N
		}
		return out[i].Hash < out[j].Hash
	})
	return out, nil
}

// Prunable is what retention removes: every nightly after the newest keep.
func Prunable(nightlies []Nightly, keep int) []Nightly {
	if keep < 1 || len(nightlies) <= keep {
		return nil
	}
	return nightlies[keep:]
}

// Retain keeps the newest keep nightlies in dest and removes the others
// from the directory and from versions.json (see publish.Prune); the
// latest aliases always point at the newest, which is kept.
func Retain(ctx context.Context, dest string, keep int) ([]string, error) {
	if keep < 1 {
		return nil, fmt.Errorf("--keep %d: keep at least one nightly", keep)
	}
	all, err := NightliesIn(dest)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, n := range Prunable(all, keep) {
		names = append(names, n.Name())
	}
	if len(names) == 0 {
		return nil, nil
	}
	if err := publish.Prune(ctx, dest, names); err != nil {
		return nil, err
	}
	return names, nil
}

// writeLatest points pypy-c-jit-latest-<platform>.<format> at the new
// nightly's archive, as upstream's buildbot does, with a relative symlink
// replaced atomically so a reader never sees it missing.
func writeLatest(dest string, n Nightly, jobs []Job, rep *Report) ([]string, error) {
	var out []string
	for i, j := range jobs {
		for _, f := range rep.Targets[i].Files.OfKind(artifact.KindArchive) {
			target := filepath.Join(n.Name(), n.Base(j.Target.Platform)+"."+f.Format)
			alias := LatestBase(j.Target.Platform) + "." + f.Format
			tmp := filepath.Join(dest, "."+alias+".tmp")
			_ = os.Remove(tmp)
			if err := os.Symlink(target, tmp); err != nil {
				return nil, fmt.Errorf("latest alias: %w", err)
			}
			if err := os.Rename(tmp, filepath.Join(dest, alias)); err != nil {
				return nil, fmt.Errorf("latest alias: %w", err)
			}
			out = append(out, alias)
		}
	}
	sort.Strings(out)
	return out, nil
}
