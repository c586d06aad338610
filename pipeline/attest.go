package pipeline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/trust/provenance"
	"github.com/pypyctl/pypyctl/trust/sbom"
	"github.com/pypyctl/pypyctl/vm"
)

// SBOMName and ProvenanceName are the attestation files of one target,
// named after its archives' common base (pypy3.9-v7.3.11-linux64.cdx.json).
func SBOMName(base string) string       { return base + artifact.SBOMSuffix }
func ProvenanceName(base string) string { return base + artifact.ProvenanceSuffix }

// treeSBOM describes the assembled tree: its files, the VM's Debian
// packages and ensurepip wheels, and which packages of the build host
// provide the libraries it needs (unresolved sonames stay listed, with no
// package). Times come from the release's SOURCE_DATE_EPOCH, so equal trees
// on equal hosts give equal bytes.
func treeSBOM(ctx context.Context, o *Options, t *TreeResult) ([]byte, error) {
	tree, err := sbom.Scan(ctx, t.Dir)
	if err != nil {
		return nil, fmt.Errorf("SBOM: %w", err)
	}
	libs, err := sbom.ResolveSonames(ctx, tree.Sonames(), o.Target.DebianArch)
	if err != nil {
		// Not a Debian host: the libraries stay unresolved but listed.
		o.log().Info("sbom       cannot ask dpkg which packages provide the tree's libraries; listing them unresolved", "err", err)
		libs = nil
	}
	bom, err := sbom.GenerateTarget(tree, o.Release, o.Target, o.Builder, libs, t.Inputs)
	if err != nil {
		return nil, err
	}
	return sbom.Marshal(bom)
}

// ProvenanceOptions describe one target's signed provenance.
type ProvenanceOptions struct {
	Signer                   *keys.Signer
	Path                     string // the .intoto.jsonl to write
	Release                  *platforms.Release
	Target                   *platforms.Target
	Name                     string // the release's published name ("" = Release.Name; a nightly's otherwise)
	MatrixName, MatrixSHA256 string
	Builder                  string
	Inputs                   []vm.Input
	Artifacts                artifact.List // the subjects: archives and SBOM
	Internal                 map[string]string
}

// WriteProvenance writes a signed SLSA provenance naming every artifact by
// digest and every pinned input as a resolved dependency. Its times are
// the release's SOURCE_DATE_EPOCH, so equal builds give equal statements.
func WriteProvenance(ctx context.Context, p ProvenanceOptions) (artifact.Artifact, error) {
	var subjects []provenance.Artifact
	for _, a := range p.Artifacts {
		subjects = append(subjects, provenance.Artifact{Name: a.Name, SHA256: a.SHA256})
	}
	var deps []provenance.Dependency
	for _, in := range p.Inputs {
		deps = append(deps, provenance.Dependency{Name: in.Name, URI: sbom.InputPURL(in), SHA256: in.SHA256})
	}
	name := p.Name
	if name == "" {
		name = p.Release.Name
	}
	sde := p.Release.SourceDateEpoch
	st, err := provenance.New(provenance.Options{
		Release: name, Target: p.Target.Name,
		Matrix: p.MatrixName, MatrixSHA256: p.MatrixSHA256,
		Artifacts: subjects, Dependencies: deps, Internal: p.Internal,
		PypyctlVersion: p.Builder, SourceDateEpoch: &sde,
	})
	if err != nil {
		return artifact.Artifact{}, err
	}
	if err := provenance.WriteFile(ctx, p.Path, p.Signer, st); err != nil {
		return artifact.Artifact{}, fmt.Errorf("provenance: %w", err)
	}
	a, err := artifact.Describe(p.Path, artifact.KindProvenance)
	if err != nil {
		return artifact.Artifact{}, err
	}
	a.Target = p.Target.Name
	return a, nil
}

// writeProvenance is WriteProvenance for this build's output directory.
func writeProvenance(ctx context.Context, o *Options, t *TreeResult, arts artifact.List) (artifact.Artifact, error) {
	internal := map[string]string{"vm": o.Release.VM}
	if o.VMArchive != "" {
		internal["vm"] = "archive"
	}
	if o.NoSmoke {
		internal["smoke"] = "skipped"
	}
	return WriteProvenance(ctx, ProvenanceOptions{
		Signer: o.Signer, Path: filepath.Join(o.OutDir, ProvenanceName(o.Release.ArchiveBase(o.Target))),
		Release: o.Release, Target: o.Target, MatrixName: o.MatrixName, MatrixSHA256: o.MatrixSHA256,
		Builder: o.Builder, Inputs: t.Inputs, Artifacts: arts, Internal: internal,
	})
}
