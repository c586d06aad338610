package trust

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/trust/provenance"
)

const archiveName = "pypy3.9-v7.3.11-linux64.tar.bz2"

// newSigner returns a signer and its public key in PEM at dir/pub.pem.
func newSigner(t *testing.T, dir string) (*keys.Signer, string) {
	t.Helper()
	k, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	s, err := keys.NewSigner(k)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := keys.EncodePublic(&k.PublicKey)
	p := filepath.Join(dir, "pub.pem")
	if err := os.WriteFile(p, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return s, p
}

// pseudoArchive writes n deterministic pseudo-random bytes.
func pseudoArchive(t *testing.T, path string, n int) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func sha256Hex(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// release lays out a signed release directory the way the pipeline does:
// an archive and an SBOM, SHA256SUMS written by the real sha256sum,
// provenance naming both, and every file plus SHA256SUMS signed.
func release(t *testing.T) (dir string, s *keys.Signer, pubPath string) {
	t.Helper()
	testtool.Need(t, "sha256sum")
	dir = t.TempDir()
	s, pubPath = newSigner(t, t.TempDir())
	pseudoArchive(t, filepath.Join(dir, archiveName), 256<<10)
	os.WriteFile(filepath.Join(dir, "pypy3.9-v7.3.11-linux64.cdx.json"), []byte(`{"bomFormat":"CycloneDX"}`+"\n"), 0o644)
	sha256sum := exec.Command("sha256sum", archiveName, "pypy3.9-v7.3.11-linux64.cdx.json")
	sha256sum.Dir = dir
	out, err := sha256sum.Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, sums.Name), out, 0o644)
	epoch := int64(1700000000)
	st, err := provenance.New(provenance.Options{
		Release: "pypy3.9-v7.3.11", Target: "linux-amd64",
		Artifacts: []provenance.Artifact{
			{Name: archiveName, SHA256: sha256Hex(t, filepath.Join(dir, archiveName))},
			{Name: "pypy3.9-v7.3.11-linux64.cdx.json", SHA256: sha256Hex(t, filepath.Join(dir, "pypy3.9-v7.3.11-linux64.cdx.json"))},
		},
		PypyctlVersion: "test", SourceDateEpoch: &epoch,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := provenance.WriteFile(context.Background(), filepath.Join(dir, "pypy3.9-v7.3.11-linux64"+provenance.Suffix), s, st); err != nil {
		t.Fatal(err)
	}
	if _, err := SignFiles(context.Background(), s, []string{filepath.Join(dir, archiveName), filepath.Join(dir, "pypy3.9-v7.3.11-linux64.cdx.json"), filepath.Join(dir, sums.Name)}); err != nil {
		t.Fatal(err)
	}
	return dir, s, pubPath
}

func TestSignFileIsDeterministicAndReadOnly(t *testing.T) {
	dir := t.TempDir()
	s, _ := newSigner(t, dir)
	f := filepath.Join(dir, archiveName)
	pseudoArchive(t, f, 100<<10)
	before, _ := os.ReadFile(f)
	stBefore, _ := os.Stat(f)

	r1, err := SignFile(context.Background(), s, f)
	if err != nil {
		t.Fatal(err)
	}
	sig1, _ := os.ReadFile(r1.Signature)
	bundle1, _ := os.ReadFile(r1.Bundle)
	r2, err := SignFile(context.Background(), s, f)
	if err != nil {
		t.Fatal(err)
	}
	sig2, _ := os.ReadFile(r2.Signature)
	bundle2, _ := os.ReadFile(r2.Bundle)

	if !bytes.Equal(sig1, sig2) {
		t.Errorf(".sig differs between two signings:\n%s\n%s", sig1, sig2)
	}
	if !bytes.Equal(bundle1, bundle2) {
		t.Errorf(".sigstore.json differs between two signings")
	}
	after, _ := os.ReadFile(f)
	stAfter, _ := os.Stat(f)
	if !bytes.Equal(before, after) || !stAfter.ModTime().Equal(stBefore.ModTime()) || stAfter.Mode() != stBefore.Mode() {
		t.Error("signing changed the artifact")
	}
	if r1.SHA256 != sha256Hex(t, f) || r1.Signature != f+".sig" || r1.Bundle != f+".sigstore.json" {
		t.Errorf("result = %+v", r1)
	}
	if bytes.HasSuffix(sig1, []byte("\n")) {
		t.Error(".sig ends in a newline; cosign writes none")
	}
}

// TestOpenSSLVerifiesSignatures is the second implementation: openssl
// checks the .sig (decoded to DER) and the bundle's signature over the
// file, and rejects them for another file.
func TestOpenSSLVerifiesSignatures(t *testing.T) {
	testtool.Need(t, "openssl")
	dir := t.TempDir()
	s, pub := newSigner(t, dir)
	f := filepath.Join(dir, archiveName)
	pseudoArchive(t, f, 300<<10)
	r, err := SignFile(context.Background(), s, f)
	if err != nil {
		t.Fatal(err)
	}
	sigB64, _ := os.ReadFile(r.Signature)
	sigDER, err := base64.StdEncoding.DecodeString(string(sigB64))
	if err != nil {
		t.Fatal(err)
	}
	bundleJSON, _ := os.ReadFile(r.Bundle)
	b, err := ParseBundle(bundleJSON)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	os.WriteFile(other, []byte("not the archive"), 0o644)

	tests := []struct {
		name   string
		sig    []byte
		file   string
		wantOK bool
	}{
		{".sig", sigDER, f, true},
		{"bundle signature", b.Signature, f, true},
		{".sig over another file", sigDER, other, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sigFile := filepath.Join(t.TempDir(), "sig.der")
			os.WriteFile(sigFile, tt.sig, 0o644)
			out, err := exec.Command("openssl", "dgst", "-sha256", "-verify", pub, "-signature", sigFile, tt.file).CombinedOutput()
			ok := err == nil && strings.Contains(string(out), "Verified OK")
			if ok != tt.wantOK {
				t.Fatalf("openssl verify ok=%v, want %v: %s", ok, tt.wantOK, out)
			}
		})
	}
	if hex.EncodeToString(b.Digest) != sha256Hex(t, f) {
		t.Error("bundle messageDigest is not the file's sha256")
	}
}

// TestBundleJSONIsNormalised: protojson inserts random whitespace on
// purpose; whatever the spacing, the written bytes are the same.
func TestBundleJSONIsNormalised(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	want, err := MarshalBundle(d[:], []byte{0x30, 0x01, 0x02}, "hint")
	if err != nil {
		t.Fatal(err)
	}
	variants := []string{
		strings.ReplaceAll(string(want), `": `, `":  `),
		strings.ReplaceAll(strings.ReplaceAll(string(want), "\n", ""), "  ", ""),
		strings.ReplaceAll(string(want), ",\n", " ,\n\t"),
	}
	for i, v := range variants {
		got, err := normalizeJSON([]byte(v))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("variant %d normalises to\n%s\nwant\n%s", i, got, want)
		}
	}
	again, _ := MarshalBundle(d[:], []byte{0x30, 0x01, 0x02}, "hint")
	if !bytes.Equal(again, want) {
		t.Error("MarshalBundle is not stable")
	}
	for _, key := range []string{`"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"`, `"algorithm": "SHA2_256"`, `"hint": "hint"`} {
		if !strings.Contains(string(want), key) {
			t.Errorf("bundle lacks %s:\n%s", key, want)
		}
	}
}

func TestParseBundleRejects(t *testing.T) {
	d := sha256.Sum256([]byte("x"))
	good, _ := MarshalBundle(d[:], []byte{1}, "h")
	tests := []struct {
		name, from, to, wantErr string
	}{
		{"media type", "bundle.v0.3+json", "bundle.v0.9+json", "unsupported bundle media type"},
		{"hash algorithm", "SHA2_256", "SHA2_384", "want SHA2_256"},
		{"unknown field", `"hint"`, `"hunt"`, "not a Sigstore bundle"},
		{"no public key", `"publicKey"`, `"x509CertificateChain"`, "not a public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := strings.Replace(string(good), tt.from, tt.to, 1)
			if tt.name == "no public key" {
				b = strings.Replace(b, `"hint": "h"`, `"certificates": []`, 1)
			}
			if _, err := ParseBundle([]byte(b)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func verifyDir(t *testing.T, dir, pub string, sums string, files ...string) *Report {
	t.Helper()
	k, err := keys.LoadPublic(pub)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(dir, f))
	}
	rep, err := Verify(context.Background(), paths, VerifyOptions{Key: k, Sums: sums})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func flipByte(t *testing.T, path string, at func(b []byte) int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := at(b)
	// Swap for another base64 letter, so the change survives decoding and
	// must be caught by a signature or digest check.
	if b[i] == 'A' {
		b[i] = 'B'
	} else if isB64(b[i]) {
		b[i] = 'A'
	} else {
		b[i] ^= 0x01
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func isB64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
}

// middleOf finds the middle of the JSON string value after key.
func middleOf(key string) func(b []byte) int {
	return func(b []byte) int {
		i := bytes.Index(b, []byte(key))
		start := i + len(key)
		end := start + bytes.IndexByte(b[start:], '"')
		return (start + end) / 2
	}
}

func TestVerifyRelease(t *testing.T) {
	sidecars := []string{".sig", ".sigstore.json"}
	tests := []struct {
		name      string
		tamper    func(t *testing.T, dir string)
		otherKey  bool
		files     []string
		wantCheck string   // "" = verifies
		wantMsg   []string // substrings of the error
	}{
		{name: "untouched release verifies", files: []string{archiveName, "pypy3.9-v7.3.11-linux64.cdx.json", sums.Name}},
		{
			name: "archive byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, archiveName), func(b []byte) int { return len(b) / 2 })
			},
			wantCheck: CheckSHA256,
			wantMsg:   []string{archiveName + ": sha256 mismatch with", "expected ", ", actual "},
		},
		{
			name: "SHA256SUMS byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, sums.Name), func([]byte) int { return 10 })
			},
			wantCheck: CheckSumsSignature,
			wantMsg:   []string{"SHA256SUMS.sig: signature does not verify"},
		},
		{
			name: ".sig byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, archiveName+".sig"), func(b []byte) int { return len(b) / 2 })
			},
			wantCheck: CheckSignature,
			wantMsg:   []string{archiveName + ".sig: signature does not verify"},
		},
		{
			name: "bundle signature byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, archiveName+".sigstore.json"), middleOf(`"signature": "`))
			},
			wantCheck: CheckBundle,
			wantMsg:   []string{archiveName + ".sigstore.json: signature does not verify"},
		},
		{
			name: "bundle digest byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, archiveName+".sigstore.json"), middleOf(`"digest": "`))
			},
			wantCheck: CheckBundle,
			wantMsg:   []string{"bundle is for another file"},
		},
		{
			name: "provenance payload byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, "pypy3.9-v7.3.11-linux64.intoto.jsonl"), middleOf(`"payload":"`))
			},
			wantCheck: CheckProvenance,
			wantMsg:   []string{"pypy3.9-v7.3.11-linux64.intoto.jsonl: envelope 1:"},
		},
		{
			name: "provenance signature byte flipped",
			tamper: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, "pypy3.9-v7.3.11-linux64.intoto.jsonl"), middleOf(`"sig":"`))
			},
			wantCheck: CheckProvenance,
			wantMsg:   []string{"envelope 1: no signature in the envelope verifies"},
		},
		{
			name: "signatures missing",
			tamper: func(t *testing.T, dir string) {
				for _, s := range sidecars {
					os.Remove(filepath.Join(dir, archiveName+s))
				}
			},
			wantCheck: CheckSignature,
			wantMsg:   []string{"not signed: neither " + archiveName + ".sig nor"},
		},
		{
			name: "SHA256SUMS unsigned",
			tamper: func(t *testing.T, dir string) {
				for _, s := range sidecars {
					os.Remove(filepath.Join(dir, sums.Name+s))
				}
			},
			wantCheck: CheckSumsSignature,
			wantMsg:   []string{"not signed"},
		},
		{
			name:      "another key",
			otherKey:  true,
			wantCheck: CheckSumsSignature,
			wantMsg:   []string{"does not verify with key"},
		},
		{
			name: "file not listed in SHA256SUMS",
			tamper: func(t *testing.T, dir string) {
				os.WriteFile(filepath.Join(dir, "extra.zip"), []byte("extra"), 0o644)
			},
			files:     []string{"extra.zip"},
			wantCheck: CheckSHA256,
			wantMsg:   []string{"extra.zip: not listed in"},
		},
		{
			name: "provenance does not name the file",
			tamper: func(t *testing.T, dir string) {
				// Listed in SHA256SUMS and signed, but not a subject.
				os.WriteFile(filepath.Join(dir, "extra.zip"), []byte("extra"), 0o644)
				f, _ := os.OpenFile(filepath.Join(dir, sums.Name), os.O_APPEND|os.O_WRONLY, 0)
				f.WriteString(sha256Hex(t, filepath.Join(dir, "extra.zip")) + "  extra.zip\n")
				f.Close()
			},
			files:     []string{"extra.zip"},
			wantCheck: CheckProvenance,
			wantMsg:   []string{"extra.zip: not a subject of the provenance beside it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, s, pub := release(t)
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			if tt.name == "provenance does not name the file" {
				// Re-sign what the tamper step changed, so only the
				// provenance check can fail.
				SignFiles(context.Background(), s, []string{filepath.Join(dir, sums.Name), filepath.Join(dir, "extra.zip")})
			}
			if tt.otherKey {
				_, pub = newSigner(t, t.TempDir())
			}
			files := tt.files
			if files == nil {
				files = []string{archiveName}
			}
			rep := verifyDir(t, dir, pub, "", files...)
			err := rep.Err()
			if tt.wantCheck == "" {
				if err != nil || !rep.OK {
					t.Fatalf("verify failed: %v", err)
				}
				for _, f := range rep.Files {
					if len(f.Checks) == 0 {
						t.Errorf("%s: no checks ran", f.File)
					}
				}
				return
			}
			if err == nil || rep.OK {
				t.Fatal("verify passed, want a failure")
			}
			ve := err.(*VerifyError)
			if ve.Check.Name != tt.wantCheck {
				t.Errorf("first failing check = %s (%s), want %s", ve.Check.Name, ve.Check.Message, tt.wantCheck)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q lacks %q", err, m)
				}
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, files[0])+": ") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

// TestVerifyDigestMismatchNamesBothDigests pins the exact wording users
// see when an archive was altered.
func TestVerifyDigestMismatchNamesBothDigests(t *testing.T) {
	dir, _, pub := release(t)
	want := sha256Hex(t, filepath.Join(dir, archiveName))
	flipByte(t, filepath.Join(dir, archiveName), func([]byte) int { return 0 })
	got := sha256Hex(t, filepath.Join(dir, archiveName))
	err := verifyDir(t, dir, pub, "", archiveName).Err()
	wantMsg := filepath.Join(dir, archiveName) + ": sha256 mismatch with " + filepath.Join(dir, sums.Name) + ": expected " + want + ", actual " + got
	if err == nil || err.Error() != wantMsg {
		t.Fatalf("err = %v\nwant   %s", err, wantMsg)
	}
}

// TestVerifyEverySigByteFlip: no single-byte change of a .sig verifies
// (canonical base64 is enforced, so padding bits cannot hide a change).
func TestVerifyEverySigByteFlip(t *testing.T) {
	dir := t.TempDir()
	s, pubPath := newSigner(t, dir)
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("data"), 0o644)
	if _, err := SignFile(context.Background(), s, f); err != nil {
		t.Fatal(err)
	}
	orig, _ := os.ReadFile(f + SigSuffix)
	pub, _ := keys.LoadPublic(pubPath)
	v, _ := keys.NewVerifier(pub)
	vr := &verifier{v: v, keyID: s.KeyID()}
	sum := sha256.Sum256([]byte("data"))
	if c := vr.checkSig("f.sig", orig, sum[:]); !c.OK {
		t.Fatalf("untouched .sig fails: %s", c.Message)
	}
	for i := range orig {
		for _, bit := range []byte{0x01, 0x02, 0x04, 0x20} {
			b := bytes.Clone(orig)
			b[i] ^= bit
			if c := vr.checkSig("f.sig", b, sum[:]); c.OK {
				t.Fatalf("flipping bit %#x of byte %d still verifies", bit, i)
			}
		}
	}
}

// TestVerifyWithTopLevelSums: publish's top-level SHA256SUMS lists
// <release>/<file>; --sums points at it.
func TestVerifyWithTopLevelSums(t *testing.T) {
	dir, s, pub := release(t)
	topSums := filepath.Join(filepath.Dir(dir), "SHA256SUMS")
	line := sha256Hex(t, filepath.Join(dir, archiveName)) + "  " + filepath.Base(dir) + "/" + archiveName + "\n"
	os.WriteFile(topSums, []byte(line), 0o644)
	if _, err := SignFile(context.Background(), s, topSums); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, sums.Name)) // only the top-level one is left
	rep := verifyDir(t, dir, pub, topSums, archiveName)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Files[0].Checks {
		if c.Name == CheckSHA256 && c.Source != topSums {
			t.Errorf("sha256 checked against %s, want %s", c.Source, topSums)
		}
	}
}

func TestVerifySkipsSidecars(t *testing.T) {
	dir, _, pub := release(t)
	rep := verifyDir(t, dir, pub, "", archiveName+".sig", "pypy3.9-v7.3.11-linux64.intoto.jsonl")
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, f := range rep.Files {
		if f.Skipped == "" {
			t.Errorf("%s not skipped", f.File)
		}
	}
}

func TestMatchKey(t *testing.T) {
	dir := t.TempDir()
	s, pubPath := newSigner(t, dir)
	_, otherPath := newSigner(t, t.TempDir())
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("data"), 0o644)
	r, _ := SignFile(context.Background(), s, f)
	sig, _ := os.ReadFile(r.Signature)
	pub, _ := os.ReadFile(pubPath)
	other, _ := os.ReadFile(otherPath)
	tests := []struct {
		name    string
		keys    [][]byte
		sig     []byte
		want    int
		wantErr bool
	}{
		{"second key verifies", [][]byte{other, pub}, sig, 1, false},
		{"no key verifies", [][]byte{other}, sig, -1, true},
		{"bad key skipped", [][]byte{[]byte("junk"), pub}, sig, 1, false},
		{"not base64", [][]byte{pub}, []byte("!!"), -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MatchKey(context.Background(), f, tt.sig, tt.keys)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("MatchKey = %d, %v; want %d, err=%v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}
