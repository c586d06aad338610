package release

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/wheels"
)

// BuiltWheel is a wheel of the matrix's wheels: section, built with the
// release's own PyPy and published beside its archives.
type BuiltWheel struct {
	wheels.ReleaseWheel
	release string
}

// releaseWheels builds every release's wheels into dist with the trees the
// builds left in the store (a merge job pulls them from a shared store).
func releaseWheels(ctx context.Context, o *Options, jobs []Job, dist string) ([]BuiltWheel, error) {
	base := "."
	if o.Matrix.Path != platforms.EmbeddedName {
		base = filepath.Dir(o.Matrix.Path)
	}
	var out []BuiltWheel
	for _, name := range releasesOf(jobs) {
		r, err := o.Matrix.Release(name)
		if err != nil {
			return nil, err
		}
		if len(r.Wheels) == 0 {
			continue
		}
		var only []string
		for _, j := range jobs {
			if j.Release.Name == name {
				only = append(only, j.Target.Name)
			}
		}
		ws, err := wheels.BuildRelease(ctx, wheels.ReleaseOptions{
			Matrix: o.Matrix, Release: r, BaseDir: base, OutDir: dist, Only: only, Logger: o.Logger,
			Tree: func(ctx context.Context, t *platforms.Target) (string, error) {
				tr, err := pipeline.Tree(ctx, pipeline.Options{Matrix: o.Matrix, Release: r, Target: t, Dirs: o.Dirs,
					Store: o.Store, NoSmoke: true, PostVM: o.PostVM, Logger: o.Logger, Progress: o.Progress, SourceDir: o.SourceDir})
				if err != nil {
					return "", err
				}
				return tr.Dir, nil
			},
		})
		if err != nil {
			return nil, fmt.Errorf("%s: wheels: %w", name, err)
		}
		for _, w := range ws {
			out = append(out, BuiltWheel{ReleaseWheel: w, release: name})
		}
	}
	return out, nil
}
