package oci

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/trust/provenance"
)

// newSigner makes a fresh project key (trust/keys: ECDSA P-256,
// deterministic signatures) and returns the signer and public key.
func newSigner(t *testing.T) (*keys.Signer, crypto.PublicKey) {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	return s, k.Public()
}

// verifyCosignSignature does what `cosign verify --key` does with a
// signature stored under the .sig tag: verify each layer's annotation
// against the layer (the simple-signing payload) and check the payload
// names the digest.
func verifyCosignSignature(t *testing.T, repo name.Repository, d v1.Hash, pub crypto.PublicKey) error {
	t.Helper()
	img, err := remote.Image(repo.Tag(d.Algorithm + "-" + d.Hex + ".sig"))
	if err != nil {
		return err
	}
	m, err := img.Manifest()
	if err != nil {
		return err
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return err
	}
	for _, desc := range m.Layers {
		if desc.MediaType != SimpleSigningMediaType {
			t.Errorf("signature layer media type %s", desc.MediaType)
		}
		l, err := img.LayerByDigest(desc.Digest)
		if err != nil {
			return err
		}
		rc, _ := l.Compressed()
		body, _ := io.ReadAll(rc)
		rc.Close()
		sig, err := base64.StdEncoding.DecodeString(desc.Annotations[SignatureAnnotation])
		if err != nil {
			return err
		}
		if err := v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(body)); err != nil {
			return err
		}
		var p payload.Cosign
		if err := json.Unmarshal(body, &p); err != nil {
			return err
		}
		if p.Image.DigestStr() != d.String() || p.ClaimedIdentity != repo.Name() {
			t.Errorf("payload names %s as %s, want %s as %s", p.Image.DigestStr(), p.ClaimedIdentity, d, repo.Name())
		}
	}
	return nil
}

// TestPushSignVerify pushes a signed build to go-containerregistry's
// registry and reads everything back the way clients do: the index by
// tag, the signatures by cosign's tags, the SBOM and provenance as
// referrers, the attestations as DSSE envelopes.
func TestPushSignVerify(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	f := newFixture(t)
	res, err := f.build(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	signer, pub := newSigner(t)
	tag, err := name.NewTag(strings.TrimPrefix(srv.URL, "http://") + "/pypy:3.9")
	if err != nil {
		t.Fatal(err)
	}
	repo := tag.Context()
	atts, err := res.Attachments(signer, repo.Name())
	if err != nil {
		t.Fatal(err)
	}
	// The project key signs deterministically, so even the signature
	// and attestation images are reproducible.
	again, err := res.Attachments(signer, repo.Name())
	if err != nil {
		t.Fatal(err)
	}
	for i := range atts {
		if atts[i].Digest != again[i].Digest {
			t.Errorf("%s of %s differs between two signings", atts[i].Kind, atts[i].Subject)
		}
	}
	if err := Push(ctx, res, tag, atts); err != nil {
		t.Fatal(err)
	}

	idx, err := remote.Index(tag)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := idx.Digest(); d != res.Digest {
		t.Fatalf("registry has %s under the tag, built %s", d, res.Digest)
	}
	im, _ := idx.IndexManifest()
	if len(im.Manifests) != 2 || im.Manifests[0].Platform.Architecture != "amd64" || im.Manifests[1].Platform.Architecture != "arm64" {
		t.Fatalf("pushed index: %+v", im.Manifests)
	}

	for _, d := range []v1.Hash{res.Digest, res.Images[0].Digest, res.Images[1].Digest} {
		if err := verifyCosignSignature(t, repo, d, pub); err != nil {
			t.Errorf("signature of %s: %v", d, err)
		}
	}
	_, otherPub := newSigner(t)
	if err := verifyCosignSignature(t, repo, res.Digest, otherPub); err == nil {
		t.Errorf("the signature verified with another key")
	}

	// Provenance: a referrer of the index.
	refs, err := remote.Referrers(repo.Digest(res.Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	rm, _ := refs.IndexManifest()
	if len(rm.Manifests) != 1 || rm.Manifests[0].ArtifactType != InTotoMediaType {
		t.Fatalf("index referrers: %+v", rm.Manifests)
	}
	prov := artifactBlob(t, repo, rm.Manifests[0].Digest)
	var st provenance.Statement
	if err := json.Unmarshal(prov, &st); err != nil {
		t.Fatal(err)
	}
	if sub, ok := st.Find("pypy3.9-v7.3.11 (OCI index)"); st.PredicateType != SLSAProvenancePredicate || !ok || sub.SHA256() != res.Digest.Hex || len(st.Subject) != 3 {
		t.Errorf("provenance subjects: %+v", st.Subject)
	}
	deps := string(prov)
	for _, want := range []string{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=amd64", "pkg:deb/debian/tzdata@2026f?arch=all", "pkg:pypi/pip@23.0.1"} {
		if !strings.Contains(deps, want) {
			t.Errorf("provenance lacks %s", want)
		}
	}

	// SBOM: a referrer of each platform image, a CycloneDX document.
	refs, err = remote.Referrers(repo.Digest(res.Images[1].Digest.String()))
	if err != nil {
		t.Fatal(err)
	}
	rm, _ = refs.IndexManifest()
	if len(rm.Manifests) != 1 || rm.Manifests[0].ArtifactType != SBOMMediaType {
		t.Fatalf("image referrers: %+v", rm.Manifests)
	}
	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(artifactBlob(t, repo, rm.Manifests[0].Digest)), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatal(err)
	}
	purls := map[string]bool{}
	for _, c := range *bom.Components {
		purls[c.PackageURL] = true
	}
	for _, want := range []string{"pkg:deb/debian/libc6@2.36-9%2Bdeb12u14?arch=arm64", "pkg:deb/debian/tzdata@2026f?arch=all", "pkg:deb/debian/pypy3@7.3.11%2Bdfsg-2%2Bdeb12u3?arch=arm64", "pkg:pypi/pip@23.0.1"} {
		if !purls[want] {
			t.Errorf("SBOM lacks %s: %v", want, purls)
		}
	}
	if purls["pkg:deb/debian/openssl@3.0.22?arch=arm64"] {
		t.Errorf("SBOM lists openssl, which is not in the image")
	}
	props := map[string]string{}
	for _, p := range *bom.Metadata.Component.Properties {
		props[p.Name] = p.Value
	}
	if props["pypyctl:image"] != res.Images[1].Digest.String() || props["pypyctl:platform"] != "linux/arm64/v8" || props["pypyctl:files"] != "6" {
		t.Errorf("SBOM subject properties: %v", props)
	}
	for _, c := range *bom.Components {
		if c.Name == "libffi8" {
			cprops := map[string]string{}
			for _, p := range *c.Properties {
				cprops[p.Name] = p.Value
			}
			if cprops["pypyctl:soname"] != "libffi.so.8" || cprops["pypyctl:layer"] != "base" || c.Hashes == nil {
				t.Errorf("libffi8 in the SBOM: %+v %v", c, cprops)
			}
		}
	}

	// Attestations: DSSE envelopes signed with the key, about the digest.
	for _, c := range []struct {
		d     v1.Hash
		ptype string
	}{{res.Digest, SLSAProvenancePredicate}, {res.Images[0].Digest, CycloneDXPredicateType}} {
		img, err := remote.Image(repo.Tag(c.d.Algorithm + "-" + c.d.Hex + ".att"))
		if err != nil {
			t.Fatal(err)
		}
		m, _ := img.Manifest()
		if m.Layers[0].MediaType != DSSEMediaType || m.Layers[0].Annotations[PredicateAnnotation] != c.ptype {
			t.Errorf("attestation layer: %+v", m.Layers[0])
		}
		l, _ := img.LayerByDigest(m.Layers[0].Digest)
		rc, _ := l.Compressed()
		env, _ := io.ReadAll(rc)
		rc.Close()
		v, _ := signature.LoadVerifier(pub, crypto.SHA256)
		var stmt []byte
		if err := dsse.WrapVerifier(v, dsse.WithDecodedPayload(&stmt)).VerifySignature(bytes.NewReader(env), nil); err != nil {
			t.Fatalf("attestation of %s: %v", c.d, err)
		}
		var s struct {
			Subject []provenance.Subject `json:"subject"`
			Type    string               `json:"predicateType"`
		}
		json.Unmarshal(stmt, &s)
		found := false
		for _, sub := range s.Subject {
			found = found || sub.SHA256() == c.d.Hex
		}
		if s.Type != c.ptype || !found {
			t.Errorf("attested statement: %+v", s)
		}
	}
}

func artifactBlob(t *testing.T, repo name.Repository, d v1.Hash) []byte {
	t.Helper()
	img, err := remote.Image(repo.Digest(d.String()))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	l, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	rc, _ := l.Compressed()
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return b
}

func TestWriteLayout(t *testing.T) {
	f := newFixture(t)
	res, err := f.build(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	atts, err := res.Attachments(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "oci")
	for i := 0; i < 2; i++ { // writing again replaces, it does not add
		if err := WriteLayout(dir, "3.9-7.3.11", res, atts); err != nil {
			t.Fatal(err)
		}
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	im, _ := top.IndexManifest()
	tagged := 0
	for _, d := range im.Manifests {
		if d.Annotations[RefNameAnnotation] == "3.9-7.3.11" {
			tagged++
			if d.Digest != res.Digest {
				t.Errorf("layout names %s, built %s", d.Digest, res.Digest)
			}
		}
	}
	if tagged != 1 || len(im.Manifests) != 1+len(atts) {
		t.Fatalf("layout index has %d entries, %d tagged: %+v", len(im.Manifests), tagged, im.Manifests)
	}
	idx, err := top.ImageIndex(res.Digest)
	if err != nil {
		t.Fatal(err)
	}
	img, err := idx.Image(res.Images[1].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := img.Layers(); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), []byte("mine"), 0o644)
	if err := WriteLayout(other, "x", res, nil); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("writing into a non-layout directory: %v", err)
	}
}
