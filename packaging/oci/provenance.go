package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/pypyctl/pypyctl/trust/provenance"
	"github.com/pypyctl/pypyctl/trust/sbom"
)

// provenanceStatement is trust/provenance's SLSA v1 statement about the
// index and every platform image: the release and targets, the settings
// that shape the images (internal parameters), and every pinned input by
// digest. It has no host facts and its times are SOURCE_DATE_EPOCH, so it
// is as reproducible as the images.
func provenanceStatement(o *Options, res *Result, inputs []Input) ([]byte, error) {
	r := o.Release
	var targets []string
	for _, in := range inputs {
		targets = append(targets, in.Target.Name)
	}
	arts := []provenance.Artifact{{Name: r.Name + " (OCI index)", SHA256: res.Digest.Hex}}
	for _, img := range res.Images {
		arts = append(arts, provenance.Artifact{Name: r.Name + " (OCI image " + img.Platform.String() + ")", SHA256: img.Digest.Hex})
	}
	user := o.User
	if user == "" {
		user = "root"
	}
	lockSum := sha256.Sum256(o.Lock.Marshal())
	internal := map[string]string{
		"oci.prefix":      Prefix,
		"oci.user":        user,
		"oci.lock_sha256": hex.EncodeToString(lockSum[:]),
	}
	if len(o.Packages) > 0 {
		internal["oci.extra_packages"] = strings.Join(o.Packages, ",")
	}
	var deps []provenance.Dependency
	seen := map[string]bool{}
	add := func(name, uri, sha string) {
		if !seen[uri] {
			seen[uri] = true
			deps = append(deps, provenance.Dependency{Name: name, URI: uri, SHA256: sha})
		}
	}
	for _, img := range res.Images {
		for _, p := range img.Packages {
			add(p.FileName(), sbom.DebPURL(p.Name, p.Version, p.Arch), p.SHA256)
		}
	}
	for _, in := range inputs {
		for _, x := range in.Inputs {
			add(x.Name, sbom.InputPURL(x), x.SHA256)
		}
	}
	sde := r.SourceDateEpoch
	st, err := provenance.New(provenance.Options{
		Release: r.Name, Target: strings.Join(targets, ","),
		Matrix: o.MatrixName, MatrixSHA256: o.MatrixSHA256,
		Artifacts: arts, Dependencies: deps, Internal: internal,
		PypyctlVersion: o.Builder, SourceDateEpoch: &sde,
	})
	if err != nil {
		return nil, err
	}
	return st.Marshal()
}
