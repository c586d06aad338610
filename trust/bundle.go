package trust

import (
	"bytes"
	"encoding/json"
	"fmt"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// BundleMediaType is the Sigstore bundle version pypyctl writes.
const BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// bundleMediaTypes are the spellings of bundle v0.3 readers accept; cosign
// writes the second one.
var bundleMediaTypes = map[string]bool{
	BundleMediaType: true,
	"application/vnd.dev.sigstore.bundle+json;version=0.3": true,
}

// Bundle is what pypyctl reads from and writes to a Sigstore bundle: a
// message signature over a SHA-256 digest, checked with a public key the
// verifier already has (the hint only names it).
type Bundle struct {
	MediaType string
	Digest    []byte // messageSignature.messageDigest (SHA2_256)
	Signature []byte // ASN.1 DER ECDSA signature over Digest
	KeyHint   string // verificationMaterial.publicKey.hint
}

// MarshalBundle encodes a bundle as indented JSON. protojson varies its
// whitespace between runs on purpose, so the output is re-indented with
// encoding/json to keep the bytes identical across runs.
func MarshalBundle(digest, sig []byte, keyHint string) ([]byte, error) {
	pb := &protobundle.Bundle{
		MediaType: BundleMediaType,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{
				PublicKey: &protocommon.PublicKeyIdentifier{Hint: keyHint},
			},
		},
		Content: &protobundle.Bundle_MessageSignature{
			MessageSignature: &protocommon.MessageSignature{
				MessageDigest: &protocommon.HashOutput{
					Algorithm: protocommon.HashAlgorithm_SHA2_256,
					Digest:    digest,
				},
				Signature: sig,
			},
		},
	}
	raw, err := protojson.Marshal(pb)
	if err != nil {
		return nil, fmt.Errorf("encode bundle: %w", err)
	}
	return normalizeJSON(raw)
}

// normalizeJSON rewrites JSON with two-space indentation and a final
// newline, whatever whitespace the input had.
func normalizeJSON(raw []byte) ([]byte, error) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, fmt.Errorf("normalise JSON: %w", err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact.Bytes(), "", "  "); err != nil {
		return nil, fmt.Errorf("normalise JSON: %w", err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// ParseBundle decodes a bundle and checks it is one pypyctl can verify: a
// v0.3 bundle with a SHA-256 message signature and public-key material.
func ParseBundle(b []byte) (*Bundle, error) {
	var pb protobundle.Bundle
	if err := protojson.Unmarshal(b, &pb); err != nil {
		return nil, fmt.Errorf("not a Sigstore bundle: %w", err)
	}
	if !bundleMediaTypes[pb.GetMediaType()] {
		return nil, fmt.Errorf("unsupported bundle media type %q (want %s)", pb.GetMediaType(), BundleMediaType)
	}
	ms := pb.GetMessageSignature()
	if ms == nil {
		return nil, fmt.Errorf("bundle holds no messageSignature (DSSE bundles are not blob signatures)")
	}
	md := ms.GetMessageDigest()
	if md.GetAlgorithm() != protocommon.HashAlgorithm_SHA2_256 || len(md.GetDigest()) != 32 {
		return nil, fmt.Errorf("bundle message digest is %s with %d bytes, want SHA2_256 with 32", md.GetAlgorithm(), len(md.GetDigest()))
	}
	if len(ms.GetSignature()) == 0 {
		return nil, fmt.Errorf("bundle has an empty signature")
	}
	vm := pb.GetVerificationMaterial()
	if vm.GetPublicKey() == nil {
		return nil, fmt.Errorf("bundle verification material is not a public key (keyless bundles need Fulcio and Rekor, which pypyctl does not use)")
	}
	return &Bundle{
		MediaType: pb.GetMediaType(),
		Digest:    md.GetDigest(),
		Signature: ms.GetSignature(),
		KeyHint:   vm.GetPublicKey().GetHint(),
	}, nil
}
