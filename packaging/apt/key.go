package apt

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// Key is an OpenPGP key that signs a repository's Release files.
type Key struct {
	entity *openpgp.Entity
}

// Algorithm is the public-key algorithm of a generated key.
type Algorithm string

const (
	// Ed25519 is a v4 EdDSA key on Curve25519, which gpgv (≥ 2.1) and
	// apt's sqv read. It is the default: small, fast and deterministic.
	Ed25519 Algorithm = "ed25519"
	// RSA4096 is for verifiers that predate EdDSA.
	RSA4096 Algorithm = "rsa4096"
)

// GenerateKey makes a new signing key for a user ID "name <email>",
// created at now. The key never expires; rotate it by publishing a new
// public key.
func GenerateKey(name, email string, alg Algorithm, now time.Time) (*Key, error) {
	cfg := &packet.Config{
		DefaultHash: crypto.SHA512,
		Time:        func() time.Time { return now },
	}
	switch alg {
	case "", Ed25519:
		cfg.Algorithm, cfg.Curve = packet.PubKeyAlgoEdDSA, packet.Curve25519
	case RSA4096:
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, 4096
	default:
		return nil, fmt.Errorf("key algorithm %q: choose ed25519 or rsa4096", alg)
	}
	if name == "" {
		return nil, errors.New("a repository key needs a name for its user ID")
	}
	e, err := openpgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("generate OpenPGP key: %w", err)
	}
	return &Key{entity: e}, nil
}

// LoadKey reads an armored (or binary) OpenPGP private key. An encrypted
// key is decrypted with passphrase; a key that needs one and got none is
// an error that says so.
func LoadKey(path string, passphrase []byte) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read signing key: %w", err)
	}
	var list openpgp.EntityList
	if bytes.Contains(b, []byte("-----BEGIN PGP")) {
		list, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	} else {
		list, err = openpgp.ReadKeyRing(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", path, err)
	}
	if len(list) != 1 {
		return nil, fmt.Errorf("signing key %s holds %d keys, want exactly 1", path, len(list))
	}
	e := list[0]
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("signing key %s is a public key: the private key is needed to sign", path)
	}
	if e.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("signing key %s is encrypted and no passphrase was given", path)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("signing key %s: decrypt: %w", path, err)
		}
	}
	k := &Key{entity: e}
	if _, ok := e.SigningKey(k.Created().Add(time.Hour)); !ok {
		return nil, fmt.Errorf("signing key %s has no usable signing key (expired, revoked or encryption-only)", path)
	}
	return k, nil
}

// Fingerprint is the primary key's fingerprint, upper-case hex.
func (k *Key) Fingerprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", k.entity.PrimaryKey.Fingerprint))
}

// UserID is the key's primary user ID.
func (k *Key) UserID() string {
	if id := k.entity.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

// Created is the primary key's creation time.
func (k *Key) Created() time.Time { return k.entity.PrimaryKey.CreationTime }

// WritePrivate writes the private key, armored and unencrypted.
func (k *Key) WritePrivate(w io.Writer) error {
	aw, err := armor.Encode(w, openpgp.PrivateKeyType, nil)
	if err != nil {
		return err
	}
	if err := k.entity.SerializePrivateWithoutSigning(aw, nil); err != nil {
		return fmt.Errorf("serialise private key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// WritePublic writes the public key: armored (.asc) or binary (.gpg, the
// form apt's signed-by= has read the longest).
func (k *Key) WritePublic(w io.Writer, armored bool) error {
	if !armored {
		return k.entity.Serialize(w)
	}
	aw, err := armor.Encode(w, openpgp.PublicKeyType, nil)
	if err != nil {
		return err
	}
	if err := k.entity.Serialize(aw); err != nil {
		return fmt.Errorf("serialise public key: %w", err)
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// KeyFiles are the files WriteKeyFiles writes.
type KeyFiles struct {
	Private     string `json:"private"`    // armored private key, mode 0600
	Public      string `json:"public"`     // armored public key
	PublicGPG   string `json:"public_gpg"` // binary public key for signed-by=
	Fingerprint string `json:"fingerprint"`
}

// WriteKeyFiles writes the private key and both forms of the public key
// into dir as <base>.key, <base>.asc and <base>.gpg, refusing to
// overwrite an existing private key. A non-empty passphrase encrypts the
// private key file (LoadKey then needs it).
func WriteKeyFiles(dir, base string, k *Key, passphrase []byte) (*KeyFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("key dir: %w", err)
	}
	kf := &KeyFiles{
		Private:     filepath.Join(dir, base+".key"),
		Public:      filepath.Join(dir, base+".asc"),
		PublicGPG:   filepath.Join(dir, base+".gpg"),
		Fingerprint: k.Fingerprint(),
	}
	if _, err := os.Stat(kf.Private); err == nil {
		return nil, fmt.Errorf("%s already exists: not overwriting a private key", kf.Private)
	}
	priv := k
	if len(passphrase) > 0 {
		var err error
		if priv, err = k.encrypted(passphrase); err != nil {
			return nil, err
		}
	}
	if err := fsutil.WriteAtomic(kf.Private, 0o600, priv.WritePrivate); err != nil {
		return nil, fmt.Errorf("write private key: %w", err)
	}
	if err := ExportPublic(k, kf.Public, kf.PublicGPG); err != nil {
		return nil, err
	}
	return kf, nil
}

// encrypted returns a copy of the key whose private parts are encrypted
// with passphrase; k itself stays usable for signing.
func (k *Key) encrypted(passphrase []byte) (*Key, error) {
	var b bytes.Buffer
	if err := k.entity.SerializePrivateWithoutSigning(&b, nil); err != nil {
		return nil, fmt.Errorf("copy private key: %w", err)
	}
	list, err := openpgp.ReadKeyRing(&b)
	if err != nil || len(list) != 1 {
		return nil, fmt.Errorf("copy private key: %v", err)
	}
	if err := list[0].EncryptPrivateKeys(passphrase, nil); err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return &Key{entity: list[0]}, nil
}

// ExportPublic writes the public key armored to asc and binary to gpg
// (either may be empty to skip it).
func ExportPublic(k *Key, asc, gpg string) error {
	if asc != "" {
		if err := fsutil.WriteAtomic(asc, 0o644, func(w io.Writer) error { return k.WritePublic(w, true) }); err != nil {
			return fmt.Errorf("write public key: %w", err)
		}
	}
	if gpg != "" {
		if err := fsutil.WriteAtomic(gpg, 0o644, func(w io.Writer) error { return k.WritePublic(w, false) }); err != nil {
			return fmt.Errorf("write public key: %w", err)
		}
	}
	return nil
}

// signConfig fixes the signature's time and turns off the random salt
// notation, so the same Release signed by the same key at the same time
// gives the same bytes (Ed25519 signatures are deterministic).
func signConfig(at time.Time) *packet.Config {
	no := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA512,
		Time:                                  func() time.Time { return at },
		NonDeterministicSignaturesViaNotation: &no,
	}
}

// signTime is when a Release is signed: its own date, but never before
// the key existed, which verifiers reject as a time warp.
func (k *Key) signTime(date time.Time) time.Time {
	if c := k.Created(); date.Before(c) {
		return c
	}
	return date
}

// ClearSign returns msg as an OpenPGP cleartext-signed message (InRelease).
func (k *Key) ClearSign(msg []byte, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	at := k.signTime(date)
	sk, ok := k.entity.SigningKey(at)
	if !ok {
		return nil, errors.New("the key has no signing key valid at " + at.UTC().Format(time.RFC3339))
	}
	w, err := clearsign.Encode(&b, sk.PrivateKey, signConfig(at))
	if err != nil {
		return nil, fmt.Errorf("clearsign: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("clearsign: %w", err)
	}
	return b.Bytes(), nil
}

// DetachSign returns an armored detached signature of msg (Release.gpg).
func (k *Key) DetachSign(msg []byte, date time.Time) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, k.entity, bytes.NewReader(msg), signConfig(k.signTime(date))); err != nil {
		return nil, fmt.Errorf("sign Release: %w", err)
	}
	b.WriteString("\n")
	return b.Bytes(), nil
}
