// Package pipeline runs the stages that turn one (release, target) of the
// matrix into a release tree and its files:
//
//	vm (import, or translate and lay out) → ensurepip wheels
//	  → cffi → portable → strip (post-translation, VM in, VM out)
//	  → assemble → smoke → archives, debug archive → SBOM, provenance, SHA256SUMS
//
// Each store-backed step is a Stage (stage.go): a name, a key computed
// from its inputs alone, and a Run into an empty directory. Its output
// lives in the content-addressed store under that key, so a rebuild with
// nothing changed does no work, and the report says which stages were
// store hits. The files written are an artifact.List.
package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/smoke"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/vm"
)

// Options configure one build.
type Options struct {
	Matrix  *platforms.Matrix
	Release *platforms.Release
	Target  *platforms.Target
	Formats []string // empty: what the matrix says for this release and target
	OutDir  string   // where archives and SHA256SUMS go (dist/)
	Dirs    dirs.Dirs
	Store   store.Store
	NoSmoke bool
	// VMArchive imports an upstream-layout archive (pypy.org's, or one
	// pypyctl made) as the VM instead of what the matrix says.
	VMArchive       string
	VMArchiveSHA256 string
	Workers         int          // compression workers; 0 = all cores
	Logger          *slog.Logger // nil: log nothing
	// Progress reports bytes done of a long step (download, compress).
	Progress func(step string, done, total int64)
	// Signer, when set, signs the provenance written beside the archives
	// (an in-toto statement must be signed to be worth anything, so an
	// unsigned build writes the SBOM only).
	Signer *keys.Signer
	// MatrixName and MatrixSHA256 name the matrix in the provenance;
	// Builder is pypyctl's version, named in the SBOM and provenance.
	MatrixName, MatrixSHA256, Builder string
	// PostVM selects the post-translation stages (postvm.go).
	PostVM PostVM
	// SourceDir translates this PyPy checkout instead of the release's
	// pinned source (a nightly's); only `vm: translate` releases read it.
	SourceDir string
}

// StageReport is one stage's outcome in the report.
type StageReport struct {
	Name    string  `json:"name"`
	Key     string  `json:"key"`
	Hit     bool    `json:"store_hit"`
	Seconds float64 `json:"seconds"`
}

// Report is what a build did.
type Report struct {
	Release   string        `json:"release"`
	Target    string        `json:"target"`
	Tree      string        `json:"tree"`
	VM        *vm.Metadata  `json:"vm"`
	Smoke     *smoke.Report `json:"smoke,omitempty"`
	Stages    []StageReport `json:"stages"`
	Artifacts artifact.List `json:"artifacts"`
	// Inputs are the pinned inputs (debs, wheels, archives) the tree was
	// made from: the provenance's resolved dependencies.
	Inputs []vm.Input `json:"inputs,omitempty"`
	// builder is the image the VM was translated in, if any: the
	// post-translation stages run in it too.
	builder *builderImage
}

// Hits counts the stages that were store hits.
func (r *Report) Hits() int {
	n := 0
	for _, s := range r.Stages {
		if s.Hit {
			n++
		}
	}
	return n
}

func (o *Options) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

// Run builds the tree and the archives and writes them with SHA256SUMS
// into o.OutDir. Nothing is written to o.OutDir unless every stage passed.
func Run(ctx context.Context, o Options) (*Report, error) {
	t, err := Tree(ctx, o)
	if err != nil {
		return nil, err
	}
	rep := t.Report
	rep.Inputs = t.Inputs
	formats := o.Formats
	if len(formats) == 0 {
		formats = o.Matrix.Formats(o.Release, o.Target)
	}
	outputs, err := outputStages(&o, t, formats)
	if err != nil {
		return nil, err
	}
	var built artifact.List
	for _, s := range outputs {
		out, err := rep.run(ctx, &o, s)
		if err != nil {
			return nil, err
		}
		built = append(built, s.packed(out))
	}
	bom, err := treeSBOM(ctx, &o, t)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("output dir: %w", err)
	}
	for _, a := range built {
		art, err := publishFile(a.Path, filepath.Join(o.OutDir, a.Name))
		if err != nil {
			return nil, err
		}
		art.Kind, art.Format, art.Target = a.Kind, a.Format, o.Target.Name
		rep.Artifacts = append(rep.Artifacts, art)
	}
	// Attestations come before SHA256SUMS, so the sums (and the one
	// signature over them) cover them too.
	sbomPath := filepath.Join(o.OutDir, SBOMName(o.Release.ArchiveBase(o.Target)))
	if err := fsutil.WriteFileAtomic(sbomPath, bom, 0o644); err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	art, err := artifact.Describe(sbomPath, artifact.KindSBOM)
	if err != nil {
		return nil, err
	}
	art.Target = o.Target.Name
	rep.Artifacts = append(rep.Artifacts, art)
	if o.Signer != nil {
		art, err := writeProvenance(ctx, &o, t, rep.Artifacts)
		if err != nil {
			return nil, err
		}
		rep.Artifacts = append(rep.Artifacts, art)
	}
	sums, err := UpdateSHA256SUMS(o.OutDir, rep.Artifacts)
	if err != nil {
		return nil, err
	}
	rep.Artifacts = append(rep.Artifacts, sums)
	rep.Artifacts.SortByName()
	return rep, nil
}
