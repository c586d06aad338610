package release

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/trust"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// TargetOptions configure one (release, target) build: `pypyctl build`
// runs it with BuildTarget, and every builder of a release runs its build
// step into the target's record (Options.target).
type TargetOptions struct {
	Matrix  *platforms.Matrix
	Release *platforms.Release
	Target  *platforms.Target
	Store   store.Store
	Dirs    dirs.Dirs
	// Out receives the archives, the SBOM and SHA256SUMS (and, from
	// BuildTarget, <release>.release.json and the signatures).
	Out     string
	Formats []string // empty: the matrix's for the target
	NoSmoke bool
	Workers int
	PostVM  pipeline.PostVM
	// VMArchive imports an upstream-layout archive as the VM instead of
	// what the matrix says; such a build is not the matrix's target, so
	// BuildTarget keeps no record of it.
	VMArchive, VMArchiveSHA256 string
	// SourceDir translates this checkout instead of the release's pinned
	// source (a nightly's).
	SourceDir string
	// Signer signs the provenance and, in BuildTarget, every file written.
	Signer *keys.Signer
	// MatrixSHA256 and Builder name the matrix and pypyctl in the SBOM,
	// the provenance and the record's key.
	MatrixSHA256, Builder string
	Logger                *slog.Logger // nil: log nothing
	Progress              func(step string, done, total int64)

	// run is pipeline.Run; tests replace it.
	run func(context.Context, pipeline.Options) (*pipeline.Report, error)
}

// formats are the archive formats the build packs.
func (o *TargetOptions) formats() []string {
	if len(o.Formats) > 0 {
		return o.Formats
	}
	return o.Matrix.Formats(o.Release, o.Target)
}

// inputs are the target's record inputs: the same for `pypyctl build`
// and a release builder, so `release --from-store` finds either's record.
func (o *TargetOptions) inputs() RecordInputs {
	return RecordInputs{Builder: o.Builder, Release: o.Release.Name, Target: o.Target.Name, MatrixSHA256: o.MatrixSHA256,
		Formats: o.formats(), PostVM: o.PostVM}
}

// build runs the pipeline into o.Out.
func (o *TargetOptions) build(ctx context.Context) (*pipeline.Report, error) {
	run := o.run
	if run == nil {
		run = pipeline.Run
	}
	return run(ctx, pipeline.Options{
		Matrix: o.Matrix, Release: o.Release, Target: o.Target, Formats: o.formats(), OutDir: o.Out,
		Dirs: o.Dirs, Store: o.Store, NoSmoke: o.NoSmoke, Workers: o.Workers,
		VMArchive: o.VMArchive, VMArchiveSHA256: o.VMArchiveSHA256,
		Logger: o.Logger, Progress: o.Progress, Signer: o.Signer,
		MatrixName: o.Matrix.Path, MatrixSHA256: o.MatrixSHA256, Builder: o.Builder,
		PostVM: o.PostVM, SourceDir: o.SourceDir,
	})
}

// BuildTarget builds one target into o.Out on its own, as `pypyctl build`
// does: the pipeline's archives, SBOM and SHA256SUMS, the release
// metadata (<release>.release.json, merged with what Out holds), the
// target's record in the store as a release builder leaves it (an
// existing record is kept), and with a Signer a signature of every file.
func BuildTarget(ctx context.Context, o TargetOptions) (*pipeline.Report, error) {
	rep, err := o.build(ctx)
	if err != nil {
		return nil, err
	}
	meta := releaseMeta(o.Release, o.Release.Name)
	meta.Files = publish.ArchiveFiles(o.Target, rep.Artifacts)
	if err := publish.WriteRelease(o.Out, meta); err != nil {
		return nil, err
	}
	// Recorded as a release builder records it, so a CI job's plain
	// `build --store S` is what `release --from-store S` gathers. A
	// --vm-archive build is not the matrix's target and stays out.
	if o.VMArchive == "" {
		if _, err := PutRecord(ctx, o.Store, o.inputs(), rep, !o.NoSmoke); err != nil {
			return nil, fmt.Errorf("record the build in the store: %w", err)
		}
	}
	if o.Signer != nil {
		if err := signArtifacts(ctx, o.Signer, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// releaseMeta is the release metadata of r under name (a nightly's name
// differs), without files.
func releaseMeta(r *platforms.Release, name string) publish.Release {
	return publish.Release{Schema: 1, Name: name, PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion, Date: r.Date, Stable: r.Stable}
}

// signArtifacts signs what the build wrote, SHA256SUMS included, so one
// signature covers the whole output; signing never rewrites an artifact.
func signArtifacts(ctx context.Context, signer *keys.Signer, rep *pipeline.Report) error {
	signed, err := trust.SignFiles(ctx, signer, rep.Artifacts.Signable().Paths())
	if err != nil {
		return err
	}
	for _, s := range signed {
		for _, p := range []string{s.Signature, s.Bundle} {
			a, err := artifact.Describe(p, artifact.KindSignature)
			if err != nil {
				return err
			}
			rep.Artifacts = append(rep.Artifacts, a)
		}
	}
	return nil
}
