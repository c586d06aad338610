package release

import (
	"context"
	"log/slog"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
)

// Trees is where the outputs made from assembled trees (.debs, OCI
// images, wheels) take a target's tree from: the store, running the
// stages that are missing (pipeline.Tree). Log also receives the
// packaging's own lines.
type Trees struct {
	Matrix  *platforms.Matrix
	Store   store.Store
	Dirs    dirs.Dirs
	NoSmoke bool
	PostVM  pipeline.PostVM
	// SourceDir is a nightly's checkout (pipeline.Options.SourceDir).
	SourceDir string
	Logger    *slog.Logger // nil: log nothing
	Progress  func(step string, done, total int64)
}

func (s *Trees) tree(ctx context.Context, r *platforms.Release, t *platforms.Target) (*pipeline.TreeResult, error) {
	return pipeline.Tree(ctx, pipeline.Options{
		Matrix: s.Matrix, Release: r, Target: t, Dirs: s.Dirs, Store: s.Store, NoSmoke: s.NoSmoke,
		PostVM: s.PostVM, Logger: s.Logger, Progress: s.Progress, SourceDir: s.SourceDir,
	})
}

// trees are the trees a release's outputs are made from: the ones its
// builds left in the store (a merge job pulls them from a shared store),
// smoke-tested already.
func (o *Options) trees() Trees {
	return Trees{Matrix: o.Matrix, Store: o.Store, Dirs: o.Dirs, NoSmoke: true, PostVM: o.PostVM, SourceDir: o.SourceDir,
		Logger: o.Logger, Progress: o.Progress}
}
