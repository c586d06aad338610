package oci

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/pypyctl/pypyctl/trust/provenance"
)

// What cosign reads: the layer media types and annotation keys of its
// signature (`.sig`) and attestation (`.att`) images.
const (
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	DSSEMediaType          = "application/vnd.dsse.envelope.v1+json"
	SignatureAnnotation    = "dev.cosignproject.cosign/signature"
	PredicateAnnotation    = "predicateType"
)

// Attachment is a manifest that travels with the index: an OCI 1.1
// referrer (SBOM, provenance: found through the subject, by registries
// with the referrers API or by the `sha256-<hex>` tag fallback), or a
// cosign signature or attestation image (found by its tag).
type Attachment struct {
	Kind    string   `json:"kind"` // sbom | provenance | signature | attestation
	Subject v1.Hash  `json:"subject"`
	Tag     string   `json:"tag,omitempty"` // cosign's sha256-<hex>.sig / .att; "" for referrers
	Digest  v1.Hash  `json:"digest"`
	Image   v1.Image `json:"-"`
}

// Attachments returns the SBOM of every platform image and the provenance
// of the index as referrers and, with a signer, cosign signatures of the
// index and of every platform image and signed attestations of the same
// documents. identity is the repository the signatures claim
// (docker-reference), e.g. registry.example/pypy.
func (res *Result) Attachments(signer signature.Signer, identity string) ([]Attachment, error) {
	var out []Attachment
	idxDesc, err := partial.Descriptor(res.Index)
	if err != nil {
		return nil, err
	}
	created := res.Annotations["org.opencontainers.image.created"]
	for _, img := range res.Images {
		desc, err := partial.Descriptor(img.Image)
		if err != nil {
			return nil, err
		}
		a, err := referrer("sbom", *desc, SBOMMediaType, img.SBOM, created)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	a, err := referrer("provenance", *idxDesc, InTotoMediaType, res.Provenance, created)
	if err != nil {
		return nil, err
	}
	out = append(out, a)
	if signer == nil {
		return out, nil
	}
	if identity == "" {
		return nil, errors.New("signing needs the repository the signature names")
	}
	subjects := []v1.Hash{res.Digest}
	for _, img := range res.Images {
		subjects = append(subjects, img.Digest)
	}
	for _, d := range subjects {
		s, err := cosignSignature(signer, identity, d)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	// Attestations: the provenance about the index, each SBOM about its image.
	att, err := cosignAttestation(signer, res.Digest, res.Provenance, SLSAProvenancePredicate, nil)
	if err != nil {
		return nil, err
	}
	out = append(out, att)
	for _, img := range res.Images {
		subj := provenance.Subject{Name: "pypy@" + img.Platform.String(), Digest: map[string]string{"sha256": img.Digest.Hex}}
		att, err := cosignAttestation(signer, img.Digest, img.SBOM, CycloneDXPredicateType, &subj)
		if err != nil {
			return nil, err
		}
		out = append(out, att)
	}
	return out, nil
}

// artifact is an OCI 1.1 artifact manifest: the empty config, one blob,
// and the subject it is about.
type artifact struct {
	manifest []byte
	blob     v1.Layer
}

func (a *artifact) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
func (a *artifact) RawManifest() ([]byte, error)        { return a.manifest, nil }
func (a *artifact) RawConfigFile() ([]byte, error)      { return []byte("{}"), nil }
func (a *artifact) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	if d, _ := a.blob.Digest(); d == h {
		return a.blob, nil
	}
	if h == emptyDescriptor().Digest {
		return static.NewLayer([]byte("{}"), types.OCIEmptyJSON), nil
	}
	return nil, fmt.Errorf("artifact has no blob %s", h)
}

func emptyDescriptor() v1.Descriptor {
	h, size, _ := v1.SHA256(bytes.NewReader([]byte("{}")))
	return v1.Descriptor{MediaType: types.OCIEmptyJSON, Digest: h, Size: size, Data: []byte("{}")}
}

func referrer(kind string, subj v1.Descriptor, mediaType string, body []byte, created string) (Attachment, error) {
	blob := static.NewLayer(body, types.MediaType(mediaType))
	bd, err := partial.Descriptor(blob)
	if err != nil {
		return Attachment{}, err
	}
	subj = v1.Descriptor{MediaType: subj.MediaType, Digest: subj.Digest, Size: subj.Size}
	m := v1.Manifest{
		SchemaVersion: 2, MediaType: types.OCIManifestSchema1, ArtifactType: mediaType,
		Config: emptyDescriptor(), Layers: []v1.Descriptor{*bd}, Subject: &subj,
	}
	if created != "" {
		m.Annotations = map[string]string{"org.opencontainers.image.created": created}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return Attachment{}, err
	}
	img, err := partial.CompressedToImage(&artifact{manifest: raw, blob: blob})
	if err != nil {
		return Attachment{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{Kind: kind, Subject: subj.Digest, Digest: d, Image: img}, nil
}

// cosignTag is where cosign looks for what is attached to a digest.
func cosignTag(d v1.Hash, suffix string) string { return d.Algorithm + "-" + d.Hex + "." + suffix }

// cosignImage is an image of uncompressed layers with annotations, the
// shape of cosign's signature and attestation images.
func cosignImage(layer v1.Layer, anns map[string]string) (v1.Image, error) {
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	return mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: anns})
}

// cosignSignature signs the simple-signing payload for digest d, as
// `cosign sign --key` does, and stores it as cosign's `.sig` image.
func cosignSignature(signer signature.Signer, identity string, d v1.Hash) (Attachment, error) {
	ref, err := name.NewDigest(identity+"@"+d.String(), name.WeakValidation)
	if err != nil {
		return Attachment{}, fmt.Errorf("signature identity %q: %w", identity, err)
	}
	body, err := json.Marshal(payload.Cosign{Image: ref, ClaimedIdentity: identity})
	if err != nil {
		return Attachment{}, err
	}
	sig, err := signer.SignMessage(bytes.NewReader(body))
	if err != nil {
		return Attachment{}, fmt.Errorf("sign %s: %w", d, err)
	}
	img, err := cosignImage(static.NewLayer(body, SimpleSigningMediaType), map[string]string{
		SignatureAnnotation: base64.StdEncoding.EncodeToString(sig),
	})
	if err != nil {
		return Attachment{}, err
	}
	id, err := img.Digest()
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{Kind: "signature", Subject: d, Tag: cosignTag(d, "sig"), Digest: id, Image: img}, nil
}

// cosignAttestation wraps a predicate into an in-toto statement about d
// (or uses body as the statement when it already is one), signs it as a
// DSSE envelope and stores it as cosign's `.att` image.
func cosignAttestation(signer signature.Signer, d v1.Hash, body []byte, predicateType string, subj *provenance.Subject) (Attachment, error) {
	statementBytes := body
	if subj != nil {
		var pred json.RawMessage = body
		st := struct {
			Type          string               `json:"_type"`
			Subject       []provenance.Subject `json:"subject"`
			PredicateType string               `json:"predicateType"`
			Predicate     json.RawMessage      `json:"predicate"`
		}{provenance.StatementType, []provenance.Subject{*subj}, predicateType, pred}
		var err error
		if statementBytes, err = json.Marshal(st); err != nil {
			return Attachment{}, err
		}
	}
	env, err := dsse.WrapSigner(signer, InTotoMediaType).SignMessage(bytes.NewReader(statementBytes))
	if err != nil {
		return Attachment{}, fmt.Errorf("sign attestation for %s: %w", d, err)
	}
	img, err := cosignImage(static.NewLayer(env, DSSEMediaType), map[string]string{
		SignatureAnnotation: "", PredicateAnnotation: predicateType,
	})
	if err != nil {
		return Attachment{}, err
	}
	id, err := img.Digest()
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{Kind: "attestation", Subject: d, Tag: cosignTag(d, "att"), Digest: id, Image: img}, nil
}
