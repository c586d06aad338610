package release

import (
	"context"
	"fmt"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/translator/srcarchive"
)

// emitsSources reports whether a release's -src archives are part of its
// outputs: when the matrix pins the commit, tree and upstream's archive,
// so what is published is checked to be upstream's bytes.
func emitsSources(r *platforms.Release) bool {
	g := r.Source.Git
	return g != nil && g.Tag != "" && g.Commit != "" && g.Tree != "" && r.Source.Archive != nil
}

// releaseSources writes the -src archives of every release in jobs that
// emits them into dist (srcarchive checks them against the matrix's pins
// before they appear there).
func releaseSources(ctx context.Context, o *Options, jobs []Job, dist string) ([]srcarchive.Archive, map[string][]string, error) {
	var out []srcarchive.Archive
	byRelease := map[string][]string{}
	for _, name := range releasesOf(jobs) {
		r, err := o.Matrix.Release(name)
		if err != nil {
			return nil, nil, err
		}
		if !emitsSources(r) {
			continue
		}
		o.log().Info("source archives", "release", name)
		rep, err := srcarchive.Write(ctx, r, srcarchive.Options{OutDir: dist, GitMirror: o.GitMirror, Workers: o.Workers, Logger: o.Logger})
		if err != nil {
			return nil, nil, fmt.Errorf("%s: source archives: %w", name, err)
		}
		for _, a := range rep.Archives {
			out = append(out, a)
			byRelease[name] = append(byRelease[name], a.File)
		}
	}
	return out, byRelease, nil
}
