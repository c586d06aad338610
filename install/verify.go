package install

import (
	"errors"
	"fmt"

	"github.com/pypyctl/pypyctl/trust"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// TrustVerifier is the production SignatureVerifier: trust/'s ECDSA P-256
// verification of a `cosign sign-blob` signature (base64 DER over the
// sha256 of the file).
type TrustVerifier struct{}

// VerifyDigest checks sig against each key and returns the first that
// verifies.
func (TrustVerifier) VerifyDigest(digest, sig []byte, ks []TrustedKey) (TrustedKey, error) {
	raw, err := trust.DecodeSig(sig)
	if err != nil {
		return TrustedKey{}, fmt.Errorf("signature: %w", err)
	}
	var errs []error
	for _, k := range ks {
		pub, err := keys.ParsePublic(k.PEM)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted key %s: %w", k.Name, err))
			continue
		}
		v, err := keys.NewVerifier(pub)
		if err != nil {
			errs = append(errs, fmt.Errorf("trusted key %s: %w", k.Name, err))
			continue
		}
		if keys.VerifyDigest(v, digest, raw) == nil {
			return k, nil
		}
	}
	if len(errs) > 0 {
		return TrustedKey{}, fmt.Errorf("no trusted key verifies the signature (%w)", errors.Join(errs...))
	}
	return TrustedKey{}, errors.New("no trusted key verifies the signature")
}

// checkPublicKey accepts what trust/ can verify with: a PEM ECDSA P-256
// public key.
func checkPublicKey(pemData []byte) error {
	_, err := keys.ParsePublic(pemData)
	return err
}
