package build

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/trust/provenance"
	"github.com/pypyctl/pypyctl/trust/sbom"
)

// SBOMName and ProvenanceName are the attestation files of one target,
// named after its archives' common base (pypy3.9-v7.3.11-linux64.cdx.json).
func SBOMName(base string) string       { return base + ".cdx.json" }
func ProvenanceName(base string) string { return base + ".intoto.jsonl" }

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
		o.log("sbom       cannot ask dpkg which packages provide the tree's libraries (%v); listing them unresolved", err)
		libs = nil
	}
	r := o.Release
	sde := r.SourceDateEpoch
	d := sbom.Description{
		Release:         sbom.Release{Name: r.Name, PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion},
		Target:          o.Target.Name,
		Arch:            o.Target.DebianArch,
		SourceDateEpoch: &sde,
		PypyctlVersion:  o.Builder,
		Libraries:       libs,
	}
	d.AddInputs(t.Inputs)
	bom, err := sbom.Generate(tree, d)
	if err != nil {
		return nil, err
	}
	return sbom.Marshal(bom)
}

// writeProvenance writes the signed SLSA provenance naming every artifact
// written so far (archives and SBOM) and every pinned input by digest.
func writeProvenance(ctx context.Context, o *Options, t *TreeResult, arts []Artifact) (Artifact, error) {
	var subjects []provenance.Artifact
	for _, a := range arts {
		subjects = append(subjects, provenance.Artifact{Name: a.Name, SHA256: a.SHA256})
	}
	var deps []provenance.Dependency
	for _, in := range t.Inputs {
		deps = append(deps, provenance.Dependency{Name: in.Name, URI: sbom.InputPURL(in), SHA256: in.SHA256})
	}
	internal := map[string]string{"vm": o.Release.VM}
	if o.VMArchive != "" {
		internal["vm"] = "archive"
	}
	if o.NoSmoke {
		internal["smoke"] = "skipped"
	}
	sde := o.Release.SourceDateEpoch
	st, err := provenance.New(provenance.Options{
		Release: o.Release.Name, Target: o.Target.Name,
		Matrix: o.MatrixName, MatrixSHA256: o.MatrixSHA256,
		Artifacts: subjects, Dependencies: deps, Internal: internal,
		PypyctlVersion: o.Builder, SourceDateEpoch: &sde,
	})
	if err != nil {
		return Artifact{}, err
	}
	p := filepath.Join(o.OutDir, ProvenanceName(o.Release.ArchiveBase(o.Target)))
	if err := provenance.WriteFile(ctx, p, o.Signer, st); err != nil {
		return Artifact{}, fmt.Errorf("provenance: %w", err)
	}
	return describe(p, "provenance")
}

// describe hashes a file written to the output directory.
func describe(p, kind string) (Artifact, error) {
	sum, size, err := fsutil.SHA256File(p)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Name: filepath.Base(p), Path: p, Kind: kind, Size: size, SHA256: sum}, nil
}
