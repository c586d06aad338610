package oci

import (
	"context"
	"errors"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/pypyctl/pypyctl/platforms"
)

// PackageOptions configure Package: the index Build makes and where it
// goes, exactly one of Push and Layout.
type PackageOptions struct {
	Options
	// Signer, when set, signs the index and images and attests their
	// SBOMs and the provenance (cosign's format).
	Signer signature.Signer
	// Identity is the repository the signatures name (default: Push's
	// repository; "pypy" for a layout).
	Identity string
	// Push uploads the index to a registry with the credentials of the
	// default keychain (docker's config, the environment).
	Push *name.Tag
	// Layout is an OCI image layout directory; the index is named Tag
	// in it (default: DefaultTag).
	Layout, Tag string
}

// Report is what Package did (`pypyctl package oci --json`).
type Report struct {
	Release     string        `json:"release"`
	Reference   string        `json:"reference"` // REGISTRY/REPO:TAG or DIR:TAG
	Digest      string        `json:"digest"`    // of the index
	Images      []ImageReport `json:"images"`
	Attachments []Attachment  `json:"attachments"`
	Lock        struct {
		Path    string `json:"path"`
		Written bool   `json:"written"`
	} `json:"lock"`
}

// ImageReport is one platform's image in the report.
type ImageReport struct {
	Target   string      `json:"target"`
	Platform string      `json:"platform"`
	Digest   string      `json:"digest"`
	Packages int         `json:"debian_packages"`
	Layers   []LayerInfo `json:"layers"`
}

// DefaultTag names an index the way docker-library tags pypy: 3.9-7.3.11.
func DefaultTag(r *platforms.Release) string {
	return r.PythonShort() + "-" + r.PyPyVersion
}

// Package builds the index (Build), attaches every image's SBOM and the
// provenance (signed, with signatures, when Signer is set), and pushes
// it or writes it into the layout.
func Package(ctx context.Context, o PackageOptions) (*Report, error) {
	if (o.Push == nil) == (o.Layout == "") {
		return nil, errors.New("an OCI index is pushed or written into a layout: give exactly one")
	}
	res, err := Build(ctx, o.Options)
	if err != nil {
		return nil, err
	}
	identity := o.Identity
	if identity == "" {
		identity = "pypy"
		if o.Push != nil {
			identity = o.Push.Context().Name()
		}
	}
	atts, err := res.Attachments(o.Signer, identity)
	if err != nil {
		return nil, err
	}
	rep := &Report{Release: o.Release.Name, Digest: res.Digest.String(), Attachments: atts}
	rep.Lock.Path, rep.Lock.Written = o.Lock.Name(), res.LockChanged
	if o.Push != nil {
		o.log().Info("pushing", "ref", o.Push.String())
		if err := Push(ctx, res, *o.Push, atts, remote.WithAuthFromKeychain(authn.DefaultKeychain)); err != nil {
			return nil, err
		}
		rep.Reference = o.Push.String()
	} else {
		tag := o.Tag
		if tag == "" {
			tag = DefaultTag(o.Release)
		}
		if err := WriteLayout(o.Layout, tag, res, atts); err != nil {
			return nil, err
		}
		rep.Reference = o.Layout + ":" + tag
	}
	for _, img := range res.Images {
		rep.Images = append(rep.Images, ImageReport{
			Target: img.Target, Platform: img.Platform.String(), Digest: img.Digest.String(),
			Packages: len(img.Packages), Layers: img.Layers,
		})
	}
	return rep, nil
}
