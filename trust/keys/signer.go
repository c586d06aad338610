package keys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"fmt"
	"io"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// Signer is a sigstore signature.SignerVerifier over an ECDSA P-256 key
// whose signatures are deterministic (RFC 6979 nonces).
//
// sigstore's own ECDSASigner draws a random nonce, so re-signing a release
// would change every .sig and bundle. An RFC 6979 signature is an ordinary
// ECDSA signature — no verifier can tell it apart — and it keeps releases
// byte-reproducible. It is also safe: the nonce is derived from the key and
// the digest, so it never repeats for different messages.
type Signer struct {
	priv  *ecdsa.PrivateKey
	ver   signature.Verifier
	keyID string
}

var _ signature.SignerVerifier = (*Signer)(nil)

// NewSigner wraps an ECDSA P-256 private key.
func NewSigner(priv *ecdsa.PrivateKey) (*Signer, error) {
	if priv == nil {
		return nil, fmt.Errorf("new signer: nil private key")
	}
	v, err := NewVerifier(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	id, err := KeyID(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Signer{priv: priv, ver: v, keyID: id}, nil
}

// LoadSigner reads a private key file (see ParsePrivate) and wraps it.
func LoadSigner(path string, password []byte) (*Signer, error) {
	k, err := LoadPrivate(path, password)
	if err != nil {
		return nil, err
	}
	return NewSigner(k)
}

// NewVerifier returns sigstore's ECDSA verifier for a P-256 public key,
// hashing with SHA-256 as cosign does.
func NewVerifier(pub *ecdsa.PublicKey) (signature.Verifier, error) {
	v, err := signature.LoadECDSAVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("load verifier: %w", err)
	}
	return v, nil
}

// KeyID is the signer's public key id (see KeyID).
func (s *Signer) KeyID() string { return s.keyID }

// Public returns the public half of the key.
func (s *Signer) Public() *ecdsa.PublicKey { return &s.priv.PublicKey }

// PublicKey implements signature.PublicKeyProvider.
func (s *Signer) PublicKey(...signature.PublicKeyOption) (crypto.PublicKey, error) {
	return &s.priv.PublicKey, nil
}

// SignMessage signs the SHA-256 of message, or the digest given with
// options.WithDigest, and returns an ASN.1 DER signature. Random-source
// options are ignored on purpose: the nonce comes from RFC 6979.
func (s *Signer) SignMessage(message io.Reader, opts ...signature.SignOption) ([]byte, error) {
	digest, _, err := signature.ComputeDigestForSigning(message, crypto.SHA256, []crypto.Hash{crypto.SHA256}, opts...)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return s.SignDigest(digest)
}

// SignDigest signs a SHA-256 digest. A nil random source makes
// crypto/ecdsa use RFC 6979 deterministic nonces.
func (s *Signer) SignDigest(digest []byte) ([]byte, error) {
	if len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("sign: digest is %d bytes, want a %d-byte SHA-256", len(digest), crypto.SHA256.Size())
	}
	sig, err := s.priv.Sign(nil, digest, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	return sig, nil
}

// VerifySignature implements signature.Verifier with sigstore's verifier.
func (s *Signer) VerifySignature(sig, message io.Reader, opts ...signature.VerifyOption) error {
	return s.ver.VerifySignature(sig, message, opts...)
}

// VerifyDigest checks a DER signature over a SHA-256 digest with a
// sigstore verifier.
func VerifyDigest(v signature.Verifier, digest, sig []byte) error {
	return v.VerifySignature(bytes.NewReader(sig), nil, options.WithDigest(digest), options.WithCryptoSignerOpts(crypto.SHA256))
}
