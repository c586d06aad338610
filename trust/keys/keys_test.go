package keys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/signature/options"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

func mustKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestParsePrivate(t *testing.T) {
	k := mustKey(t)
	pkcs8, err := EncodePrivate(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	encrypted, err := EncodePrivate(k, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	sec1DER, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1DER})
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p384DER, _ := x509.MarshalPKCS8PrivateKey(p384)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKCS8PrivateKey(rsaKey)

	tests := []struct {
		name     string
		pem      []byte
		password string
		wantErr  string // "" = must parse to k
		wantType string // PEM block type written
	}{
		{"pkcs8", pkcs8, "", "", "PRIVATE KEY"},
		{"pkcs8 ignores a password", pkcs8, "unused", "", "PRIVATE KEY"},
		{"sec1", sec1, "", "", "EC PRIVATE KEY"},
		{"cosign encrypted", encrypted, "s3cret", "", "ENCRYPTED SIGSTORE PRIVATE KEY"},
		{"encrypted without password", encrypted, "", "set PYPYCTL_KEY_PASSWORD", ""},
		{"encrypted with wrong password", encrypted, "wrong", "wrong password", ""},
		{"P-384 refused", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p384DER}), "", "only ECDSA P-256", ""},
		{"RSA refused", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER}), "", "only ECDSA P-256", ""},
		{"not PEM", []byte("hello"), "", "no PEM block", ""},
		{"public key given", mustPub(t, k), "", "unsupported PEM block", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantType != "" {
				if b, _ := pem.Decode(tt.pem); b == nil || b.Type != tt.wantType {
					t.Fatalf("PEM type = %v, want %s", b, tt.wantType)
				}
			}
			got, err := ParsePrivate(tt.pem, []byte(tt.password))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(k) {
				t.Fatal("parsed key differs from the encoded one")
			}
		})
	}
	if _, err := ParsePrivate(encrypted, nil); !errors.Is(err, ErrEncrypted) {
		t.Errorf("missing password: err = %v, want ErrEncrypted", err)
	}
}

func mustPub(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	b, err := EncodePublic(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParsePublic(t *testing.T) {
	k := mustKey(t)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaDER, _ := x509.MarshalPKIXPublicKey(&rsaKey.PublicKey)
	priv, _ := EncodePrivate(k, nil)
	tests := []struct {
		name    string
		pem     []byte
		wantErr string
	}{
		{"pkix", mustPub(t, k), ""},
		{"rsa", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaDER}), "only ECDSA P-256"},
		{"private key given", priv, `want "PUBLIC KEY"`},
		{"garbage", []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), "parse public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePublic(tt.pem)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(&k.PublicKey) {
				t.Fatalf("got %v, %v", got, err)
			}
		})
	}
}

func TestWriteNew(t *testing.T) {
	tests := []struct {
		name     string
		password string
		wantType string
	}{
		{"unencrypted", "", "PRIVATE KEY"},
		{"encrypted", "correct horse", "ENCRYPTED SIGSTORE PRIVATE KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "keys")
			p, err := WriteNew(dir, []byte(tt.password), false)
			if err != nil {
				t.Fatal(err)
			}
			if p.Encrypted != (tt.password != "") {
				t.Errorf("Encrypted = %v", p.Encrypted)
			}
			st, err := os.Stat(p.Private)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("private key mode = %v, want 0600", st.Mode().Perm())
			}
			b, _ := os.ReadFile(p.Private)
			if blk, _ := pem.Decode(b); blk == nil || blk.Type != tt.wantType {
				t.Errorf("private key PEM type = %v, want %s", blk, tt.wantType)
			}
			priv, err := LoadPrivate(p.Private, []byte(tt.password))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := LoadPublic(p.Public)
			if err != nil {
				t.Fatal(err)
			}
			if !pub.Equal(&priv.PublicKey) {
				t.Error("public key does not match private key")
			}
			if id, _ := KeyID(pub); id != p.KeyID {
				t.Errorf("KeyID = %s, report says %s", id, p.KeyID)
			}
			if _, err := WriteNew(dir, nil, false); err == nil || !strings.Contains(err.Error(), "already exists") {
				t.Errorf("second WriteNew: err = %v, want refusal", err)
			}
			p2, err := WriteNew(dir, nil, true)
			if err != nil {
				t.Fatal(err)
			}
			if p2.KeyID == p.KeyID {
				t.Error("forced WriteNew kept the old key")
			}
		})
	}
}

// TestSignerDeterministic: RFC 6979 signatures repeat for the same digest
// and key, differ for another digest, and verify with sigstore's
// verifier both through SignMessage and SignDigest.
func TestSignerDeterministic(t *testing.T) {
	s, err := NewSigner(mustKey(t))
	if err != nil {
		t.Fatal(err)
	}
	d1 := sha256.Sum256([]byte("one"))
	d2 := sha256.Sum256([]byte("two"))
	a, _ := s.SignDigest(d1[:])
	b, _ := s.SignMessage(bytes.NewReader([]byte("one")))
	c, _ := s.SignMessage(nil, options.WithDigest(d1[:]))
	other, _ := s.SignDigest(d2[:])
	if !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatal("signatures of the same digest differ")
	}
	if bytes.Equal(a, other) {
		t.Fatal("signatures of different digests are equal")
	}
	if err := VerifyDigest(s, d1[:], a); err != nil {
		t.Fatal(err)
	}
	if err := VerifyDigest(s, d2[:], a); err == nil {
		t.Fatal("signature verified for the wrong digest")
	}
	if _, err := s.SignDigest([]byte("short")); err == nil {
		t.Fatal("signed a digest of the wrong size")
	}
}

// TestOpenSSLInterop: keys openssl makes load here, keys made here load in
// openssl, and openssl verifies our signatures.
func TestOpenSSLInterop(t *testing.T) {
	testtool.Need(t, "openssl")
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("openssl", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	sec1 := filepath.Join(dir, "sec1.pem")
	pkcs8 := filepath.Join(dir, "pkcs8.pem")
	run("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", sec1)
	run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", pkcs8)

	msg := filepath.Join(dir, "msg")
	os.WriteFile(msg, []byte("PyPy release bytes"), 0o644)
	sum := sha256.Sum256([]byte("PyPy release bytes"))
	for _, keyFile := range []string{sec1, pkcs8} {
		t.Run(filepath.Base(keyFile), func(t *testing.T) {
			k, err := LoadPrivate(keyFile, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := NewSigner(k)
			sig, _ := s.SignDigest(sum[:])
			sigFile := filepath.Join(dir, "sig.der")
			os.WriteFile(sigFile, sig, 0o644)
			pubFile := filepath.Join(dir, "pub.pem")
			os.WriteFile(pubFile, mustPub(t, k), 0o644)
			// openssl derives the public key from the private key itself:
			// a second opinion on our PKIX encoding.
			if got, want := run("pkey", "-in", keyFile, "-pubout"), string(mustPub(t, k)); got != want {
				t.Fatalf("openssl's public key:\n%s\nours:\n%s", got, want)
			}
			if out := run("dgst", "-sha256", "-verify", pubFile, "-signature", sigFile, msg); !strings.Contains(out, "Verified OK") {
				t.Fatalf("openssl: %s", out)
			}
		})
	}
	// openssl's encrypted PKCS#8 (PBES2) loads with the password.
	enc := filepath.Join(dir, "enc.pem")
	run("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", pkcs8, "-out", enc, "-passout", "pass:pw")
	plain, err := LoadPrivate(pkcs8, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := LoadPrivate(enc, []byte("pw")); err != nil || !k.Equal(plain) {
		t.Fatalf("encrypted PKCS#8: %v", err)
	}
	if _, err := LoadPrivate(enc, nil); !errors.Is(err, ErrEncrypted) {
		t.Fatalf("encrypted PKCS#8 without password: %v", err)
	}

	// Our unencrypted PKCS#8 is what openssl reads.
	p, err := WriteNew(filepath.Join(dir, "ours"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	pubFromOpenSSL := run("pkey", "-in", p.Private, "-pubout")
	pubOurs, _ := os.ReadFile(p.Public)
	if pubFromOpenSSL != string(pubOurs) {
		t.Fatalf("openssl derives another public key from %s", p.Private)
	}
}
