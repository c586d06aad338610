// Package trust makes pypyctl's outputs verifiable offline by a second,
// independent implementation: it signs files the way `cosign sign-blob`
// does (FILE.sig, base64 ASN.1 ECDSA over the file's sha256) and writes a
// Sigstore bundle beside each (FILE.sigstore.json, bundle v0.3 with a
// message signature and a public-key hint), and it verifies a release
// file by file: sha256 against SHA256SUMS (whose own signature is checked),
// the file's signature or bundle, and the provenance statements beside it.
//
// Keys live in trust/keys, the SBOM in trust/sbom and the SLSA provenance
// in trust/provenance. Every signature is deterministic (RFC 6979), so
// signing the same bytes with the same key twice gives identical files.
package trust
