//go:build integration

package trust

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/trust/provenance"
)

// cosignBinary is the cosign scripts/tools/cosign.sh builds and caches.
func cosignBinary(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			testtool.Missing(t, "no home directory to find the cached cosign in: %v", err)
		}
		cache = filepath.Join(home, ".cache")
	}
	bin := filepath.Join(cache, "pypyctl-tools", "bin", "cosign")
	if _, err := os.Stat(bin); err != nil {
		testtool.Missing(t, "cosign is not built: run scripts/tools/cosign.sh first (it caches %s)", bin)
	}
	return bin
}

// cosign runs the cached cosign offline, with its state in a temp home.
func cosign(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	home := t.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TUF_ROOT=" + filepath.Join(home, "tuf")}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCosignVerifiesPypyctlSignatures: cosign v2 accepts the .sig, the
// bundle and the provenance envelope pypyctl writes, and rejects them for
// an altered file.
func TestCosignVerifiesPypyctlSignatures(t *testing.T) {
	bin := cosignBinary(t)
	dir := t.TempDir()
	pair, err := keys.WriteNew(filepath.Join(dir, "keys"), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := keys.LoadPrivate(pair.Private, nil)
	s, _ := keys.NewSigner(priv)
	f := filepath.Join(dir, archiveName)
	pseudoArchive(t, f, 200<<10)
	if _, err := SignFile(context.Background(), s, f); err != nil {
		t.Fatal(err)
	}
	st, err := provenance.New(provenance.Options{Release: "pypy3.9-v7.3.11", Target: "linux-amd64",
		Artifacts: []provenance.Artifact{{Name: archiveName, SHA256: sha256Hex(t, f)}}})
	if err != nil {
		t.Fatal(err)
	}
	prov := filepath.Join(dir, "pypy3.9-v7.3.11-linux64"+provenance.Suffix)
	if err := provenance.WriteFile(context.Background(), prov, s, st); err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs("testdata/trusted_root.json")
	altered := filepath.Join(dir, "altered")
	b, _ := os.ReadFile(f)
	b[len(b)/2] ^= 1
	os.WriteFile(altered, b, 0o644)

	tests := []struct {
		name string
		args []string
	}{
		{"sig", []string{"verify-blob", "--key", pair.Public, "--signature", f + ".sig", "--insecure-ignore-tlog"}},
		{"bundle", []string{"verify-blob", "--bundle", f + ".sigstore.json", "--key", pair.Public, "--insecure-ignore-tlog", "--trusted-root", root}},
		{"provenance", []string{"verify-blob-attestation", "--key", pair.Public, "--signature", prov, "--type", "slsaprovenance1", "--insecure-ignore-tlog"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cosign(t, bin, nil, append(tt.args, f)...)
			if err != nil || !strings.Contains(out, "Verified OK") {
				t.Fatalf("cosign %s: %v\n%s", strings.Join(tt.args, " "), err, out)
			}
			if out, err := cosign(t, bin, nil, append(tt.args, altered)...); err == nil {
				t.Fatalf("cosign accepted an altered file:\n%s", out)
			}
		})
	}
}

// TestCosignUsesPypyctlKeys: cosign signs with a key from `pypyctl keys
// generate` (encrypted in cosign's format) and pypyctl verifies cosign's
// .sig and bundle; pypyctl also reads a key cosign generated.
func TestCosignUsesPypyctlKeys(t *testing.T) {
	bin := cosignBinary(t)
	dir := t.TempDir()
	const password = "correct horse battery staple"
	pair, err := keys.WriteNew(filepath.Join(dir, "keys"), []byte(password), false)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, archiveName)
	pseudoArchive(t, f, 50<<10)
	env := []string{"COSIGN_PASSWORD=" + password}
	if out, err := cosign(t, bin, env, "sign-blob", "--key", pair.Private, "--tlog-upload=false", "--yes",
		"--output-signature", f+".sig", "--new-bundle-format", "--bundle", f+".sigstore.json", f); err != nil {
		t.Fatalf("cosign sign-blob with pypyctl's key: %v\n%s", err, out)
	}
	pub, _ := keys.LoadPublic(pair.Public)
	// Only the signature files: no SHA256SUMS here, so check them directly.
	v, _ := keys.NewVerifier(pub)
	vr := &verifier{v: v, keyID: pair.KeyID}
	sum, _ := digestFile(context.Background(), f)
	for _, c := range vr.signatureChecks(f, sum) {
		if !c.OK {
			t.Errorf("pypyctl rejects cosign's %s: %s", c.Name, c.Message)
		}
	}
	if got := len(vr.signatureChecks(f, sum)); got != 2 {
		t.Errorf("checked %d signature files, want .sig and bundle", got)
	}

	// A key cosign generated loads in pypyctl and signs what cosign verifies.
	cdir := filepath.Join(dir, "cosign")
	os.MkdirAll(cdir, 0o755)
	cmd := exec.Command(bin, "generate-key-pair")
	cmd.Dir = cdir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "COSIGN_PASSWORD=" + password}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	priv, err := keys.LoadPrivate(filepath.Join(cdir, "cosign.key"), []byte(password))
	if err != nil {
		t.Fatalf("pypyctl cannot read cosign's key: %v", err)
	}
	s, _ := keys.NewSigner(priv)
	g := filepath.Join(dir, "g.bin")
	os.WriteFile(g, []byte("signed with cosign's key"), 0o644)
	if _, err := SignFile(context.Background(), s, g); err != nil {
		t.Fatal(err)
	}
	if out, err := cosign(t, bin, nil, "verify-blob", "--key", filepath.Join(cdir, "cosign.pub"), "--signature", g+".sig", "--insecure-ignore-tlog", g); err != nil {
		t.Fatalf("cosign rejects pypyctl's signature with cosign's key: %v\n%s", err, out)
	}
}
