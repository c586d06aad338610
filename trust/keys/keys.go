// Package keys owns pypyctl's signing keys: ECDSA P-256 pairs, their PEM
// encodings (including cosign's encrypted private-key format, so one key
// serves both tools), key ids, and a deterministic sigstore signer.
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// File names `pypyctl keys generate` writes, and the environment variable
// holding the private key's passphrase.
const (
	PrivateKeyFile = "pypyctl.key"
	PublicKeyFile  = "pypyctl.pub"
	PasswordEnv    = "PYPYCTL_KEY_PASSWORD"
)

// PEM block types of private keys.
const (
	pemPKCS8           = "PRIVATE KEY"
	pemSEC1            = "EC PRIVATE KEY"
	pemSigstoreEncrypt = "ENCRYPTED SIGSTORE PRIVATE KEY" // cosign ≥ 2.0
	pemCosignEncrypt   = "ENCRYPTED COSIGN PRIVATE KEY"   // cosign 1.x
	pemPKCS8Encrypt    = "ENCRYPTED PRIVATE KEY"
	pemPublic          = "PUBLIC KEY"
)

// ErrEncrypted means a private key needs a passphrase that was not given.
var ErrEncrypted = errors.New("private key is encrypted: set " + PasswordEnv)

// Generate makes a fresh ECDSA P-256 key pair.
func Generate() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ECDSA P-256 key: %w", err)
	}
	return k, nil
}

// EncodePrivate returns the private key as PEM: cosign's "ENCRYPTED
// SIGSTORE PRIVATE KEY" (scrypt + NaCl secretbox over PKCS#8) when a
// password is given, else an unencrypted PKCS#8 "PRIVATE KEY".
func EncodePrivate(priv *ecdsa.PrivateKey, password []byte) ([]byte, error) {
	if len(password) == 0 {
		b, err := cryptoutils.MarshalPrivateKeyToPEM(priv)
		if err != nil {
			return nil, fmt.Errorf("encode private key: %w", err)
		}
		return b, nil
	}
	der, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, cryptoutils.StaticPasswordFunc(password))
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSigstoreEncrypt, Bytes: der}), nil
}

// EncodePublic returns the public key as a PKIX "PUBLIC KEY" PEM block,
// the format openssl, cosign and `pypyctl trust add` read.
func EncodePublic(pub crypto.PublicKey) ([]byte, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		return nil, fmt.Errorf("encode public key: %w", err)
	}
	return b, nil
}

// ParsePrivate reads a PEM private key: PKCS#8, SEC 1 ("EC PRIVATE KEY"),
// cosign's encrypted formats or encrypted PKCS#8. The key must be ECDSA
// P-256.
func ParsePrivate(pemBytes, password []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	var pf cryptoutils.PassFunc
	switch block.Type {
	case pemPKCS8, pemSEC1:
	case pemSigstoreEncrypt, pemCosignEncrypt, pemPKCS8Encrypt:
		if len(password) == 0 {
			return nil, ErrEncrypted
		}
		pf = cryptoutils.StaticPasswordFunc(password)
	default:
		return nil, fmt.Errorf("unsupported PEM block %q (want PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED SIGSTORE PRIVATE KEY)", block.Type)
	}
	k, err := cryptoutils.UnmarshalPEMToPrivateKey(pemBytes, pf)
	if err != nil {
		if pf != nil {
			return nil, fmt.Errorf("decrypt %s (wrong password?): %w", block.Type, err)
		}
		return nil, fmt.Errorf("parse %s: %w", block.Type, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("unsupported key type %T: only ECDSA P-256 keys are supported", k)
	}
	return ek, nil
}

// ParsePublic reads a PKIX "PUBLIC KEY" PEM block holding an ECDSA P-256
// key.
func ParsePublic(pemBytes []byte) (*ecdsa.PublicKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	if block.Type != pemPublic {
		return nil, fmt.Errorf("PEM block is %q, want %q", block.Type, pemPublic)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	ek, ok := k.(*ecdsa.PublicKey)
	if !ok || ek.Curve != elliptic.P256() {
		return nil, fmt.Errorf("unsupported public key type %T: only ECDSA P-256 keys are supported", k)
	}
	return ek, nil
}

// LoadPrivate reads and parses a private key file.
func LoadPrivate(path string, password []byte) (*ecdsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read private key: %w", err)
	}
	k, err := ParsePrivate(b, password)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// LoadPublic reads and parses a public key file.
func LoadPublic(path string) (*ecdsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	k, err := ParsePublic(b)
	if err != nil {
		return nil, fmt.Errorf("public key %s: %w", path, err)
	}
	return k, nil
}

// KeyID names a public key: base64 of the sha256 of its PKIX DER. cosign
// puts the same value in a bundle's publicKey.hint, so bundles from either
// tool name keys alike.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.StdEncoding.EncodeToString(sum[:]), nil
}

// Pair says where a generated key pair was written.
type Pair struct {
	Private   string `json:"private"`
	Public    string `json:"public"`
	KeyID     string `json:"key_id"`
	Encrypted bool   `json:"encrypted"`
}

// WriteNew generates a key pair into dir as pypyctl.key (mode 0600) and
// pypyctl.pub. It refuses to replace existing files unless force is set,
// since losing a release key cannot be undone.
func WriteNew(dir string, password []byte, force bool) (Pair, error) {
	p := Pair{
		Private:   filepath.Join(dir, PrivateKeyFile),
		Public:    filepath.Join(dir, PublicKeyFile),
		Encrypted: len(password) > 0,
	}
	if !force {
		for _, f := range []string{p.Private, p.Public} {
			if _, err := os.Lstat(f); err == nil {
				return Pair{}, fmt.Errorf("%s already exists (use --force to replace it)", f)
			}
		}
	}
	priv, err := Generate()
	if err != nil {
		return Pair{}, err
	}
	privPEM, err := EncodePrivate(priv, password)
	if err != nil {
		return Pair{}, err
	}
	pubPEM, err := EncodePublic(&priv.PublicKey)
	if err != nil {
		return Pair{}, err
	}
	if p.KeyID, err = KeyID(&priv.PublicKey); err != nil {
		return Pair{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Pair{}, fmt.Errorf("create key directory: %w", err)
	}
	if err := fsutil.WriteFileAtomic(p.Private, privPEM, 0o600); err != nil {
		return Pair{}, err
	}
	if err := fsutil.WriteFileAtomic(p.Public, pubPEM, 0o644); err != nil {
		return Pair{}, err
	}
	return p, nil
}
