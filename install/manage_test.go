package install

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/trust"
	"github.com/pypyctl/pypyctl/trust/keys"
)

func writeKey(t *testing.T, dir, name string) (*ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	p := filepath.Join(dir, name)
	os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644)
	return k, p
}

// signFile writes path.sig the way `cosign sign-blob` does: base64 of an
// ASN.1 ECDSA signature over the file's sha256.
func signFile(t *testing.T, k *ecdsa.PrivateKey, path string) {
	t.Helper()
	b, _ := os.ReadFile(path)
	h := sha256.Sum256(b)
	sig, err := ecdsa.SignASN1(rand.Reader, k, h[:])
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path+".sig", []byte(base64.StdEncoding.EncodeToString(sig)), 0o644)
}

func TestInstallSignatures(t *testing.T) {
	keyDir := t.TempDir()
	good, goodPub := writeKey(t, keyDir, "release.pub")
	other, _ := writeKey(t, keyDir, "other.pub")
	archive := func(dest string) string { return filepath.Join(dest, rel311.name, rel311.archiveName()) }
	tests := []struct {
		name    string
		sign    func(t *testing.T, dest string)
		trust   bool
		wantErr string
	}{
		{"no key trusted, no signature needed", func(*testing.T, string) {}, false, ""},
		{"good signature", func(t *testing.T, dest string) { signFile(t, good, archive(dest)) }, true, ""},
		{"good signature by pypyctl sign", func(t *testing.T, dest string) {
			s, err := keys.NewSigner(good)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := trust.SignFile(context.Background(), s, archive(dest)); err != nil {
				t.Fatal(err)
			}
		}, true, ""},
		{"signature by an untrusted key", func(t *testing.T, dest string) { signFile(t, other, archive(dest)) }, true, "no trusted key verifies"},
		{"signature of other bytes", func(t *testing.T, dest string) {
			signFile(t, good, archive(dest))
			os.Rename(archive(dest)+".sig", filepath.Join(dest, "keep.sig"))
			os.WriteFile(filepath.Join(dest, "other"), []byte("other bytes"), 0o644)
			signFile(t, good, filepath.Join(dest, "other"))
			os.Rename(filepath.Join(dest, "other.sig"), archive(dest)+".sig")
		}, true, "no trusted key verifies"},
		{"garbage signature", func(t *testing.T, dest string) { os.WriteFile(archive(dest)+".sig", []byte("!!not base64"), 0o644) }, true, "signature"},
		{"missing signature", func(*testing.T, string) {}, true, ".sig is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			srv := newServer(t, dest)
			publishFixtures(t, dest, srv.URL, rel311)
			tt.sign(t, dest)
			d := testDirs(t)
			l := Layout{Data: d.Data}
			if tt.trust {
				if _, err := AddTrustedKey(l, goodPub); err != nil {
					t.Fatal(err)
				}
			}
			in := newTestInstaller(t, d)
			in.Verifier = nil // trust./ verifies
			res, err := in.Install(context.Background(), mustRequest(t, "3.11"), Options{Index: srv.URL})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tt.trust && !strings.HasPrefix(res.Signature, "verified by release-") {
					t.Errorf("signature = %q", res.Signature)
				}
				return
			}
			var se *SignatureError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want SignatureError with %q", err, tt.wantErr)
			}
			assertNothingInstalled(t, d)
		})
	}
}

func TestAddTrustedKey(t *testing.T) {
	dir := t.TempDir()
	_, pub := writeKey(t, dir, "my key.pub")
	l := Layout{Data: t.TempDir()}
	p1, err := AddTrustedKey(l, pub)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := AddTrustedKey(l, pub)
	if err != nil || p1 != p2 || !strings.HasPrefix(filepath.Base(p1), "my_key-") {
		t.Fatalf("re-adding gave %s, %v (first %s)", p2, err, p1)
	}
	stored, err := TrustedKeys(l)
	if err != nil || len(stored) != 1 {
		t.Fatalf("keys = %v, %v", stored, err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&p384.PublicKey)
	for name, content := range map[string][]byte{
		"not-pem.pub": []byte("not pem"),
		"p384.pub":    pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"private.pub": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: []byte{1}}),
	} {
		os.WriteFile(filepath.Join(dir, name), content, 0o644)
		if _, err := AddTrustedKey(l, filepath.Join(dir, name)); err == nil {
			t.Errorf("accepted %s", name)
		}
	}
	if stored, _ := TrustedKeys(l); len(stored) != 1 {
		t.Errorf("refused keys were stored: %v", stored)
	}
}

func TestListWhichUninstall(t *testing.T) {
	ctx := context.Background()
	dest := t.TempDir()
	r19 := fixtureRelease{name: "pypy3.11-v7.3.19", pypy: "7.3.19", python: "3.11.11", date: "2025-02-26", stable: true, format: "tar.gz", suffix: "linux64"}
	publishFixtures(t, dest, "", rel311, r19, rel39, rel27)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	for _, r := range []string{"3.11@7.3.19", "3.11", "3.9", "2.7"} {
		if _, err := in.Install(ctx, mustRequest(t, r), Options{Index: dest}); err != nil {
			t.Fatal(err)
		}
	}
	l := Layout{Data: d.Data}
	all, err := ListInstalled(l)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range all {
		names = append(names, i.Name+"="+i.PythonVersion)
	}
	want := "pypy3.11-v7.3.20-linux64=3.11.13 pypy3.11-v7.3.19-linux64=3.11.11 pypy3.9-v7.3.11-linux64=3.9.16 pypy2.7-v7.3.20-linux64=2.7.18"
	if strings.Join(names, " ") != want {
		t.Errorf("list = %s\nwant   %s", strings.Join(names, " "), want)
	}
	tests := []struct {
		req, want string
	}{
		{"3.11", "pypy3.11-v7.3.20-linux64"},
		{"3.11.11", "pypy3.11-v7.3.19-linux64"},
		{"pypy3.11-7.3.19", "pypy3.11-v7.3.19-linux64"},
		{"3", "pypy3.11-v7.3.20-linux64"},
		{"latest", "pypy3.11-v7.3.20-linux64"},
		{"2.7", "pypy2.7-v7.3.20-linux64"},
		{"pypy3.9-v7.3.11-linux64", "pypy3.9-v7.3.11-linux64"},
		{"pypy3.9-v7.3.11-linux64.tar.bz2", "pypy3.9-v7.3.11-linux64"},
		{"3.10", ""},
	}
	for _, tt := range tests {
		got, err := FindInstalled(l, mustRequest(t, tt.req))
		if tt.want == "" {
			var ni *NotInstalledError
			if !errors.As(err, &ni) {
				t.Errorf("FindInstalled(%s) = %v, %v", tt.req, got.Name, err)
			}
			continue
		}
		if err != nil || got.Name != tt.want {
			t.Errorf("FindInstalled(%s) = %s, %v; want %s", tt.req, got.Name, err, tt.want)
		}
	}
	// Ambiguous removal is refused; a precise one works.
	if _, err := Uninstall(ctx, l, mustRequest(t, "3.11")); err == nil || !strings.Contains(err.Error(), "matches 2 installed versions") {
		t.Fatalf("ambiguous uninstall: %v", err)
	}
	gone, err := Uninstall(ctx, l, mustRequest(t, "3.11@7.3.19"))
	if err != nil || gone.Name != "pypy3.11-v7.3.19-linux64" {
		t.Fatalf("uninstall = %v, %v", gone, err)
	}
	if _, err := os.Stat(gone.Dir); !os.IsNotExist(err) {
		t.Error("directory still there")
	}
	if _, err := os.Stat(filepath.Join(l.Receipts(), gone.Name+".json")); !os.IsNotExist(err) {
		t.Error("receipt still there")
	}
	if _, err := Uninstall(ctx, l, mustRequest(t, "3.11@7.3.19")); err == nil {
		t.Error("second uninstall succeeded")
	}
	ents, _ := os.ReadDir(l.Versions())
	if len(ents) != 3 {
		t.Errorf("versions/ has %d entries, want 3 (no temp dirs)", len(ents))
	}
}

func TestSelectAndPin(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", rel311, rel39)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	for _, r := range []string{"3.11", "3.9"} {
		if _, err := in.Install(context.Background(), mustRequest(t, r), Options{Index: dest}); err != nil {
			t.Fatal(err)
		}
	}
	l := Layout{Data: d.Data}
	proj := t.TempDir()
	sub := filepath.Join(proj, "a", "b")
	os.MkdirAll(sub, 0o755)
	other := t.TempDir()

	tests := []struct {
		name       string
		setup      func()
		dir        string
		explicit   string
		want       string
		wantSource string
		wantErr    string
	}{
		{"nothing pinned: newest", func() {}, other, "", "pypy3.11-v7.3.20-linux64", "newest", ""},
		{"explicit request", func() {}, other, "3.9", "pypy3.9-v7.3.11-linux64", "request", ""},
		{"global default", func() {
			if _, err := WriteVersionFile(GlobalVersionFile(d.Config), mustRequest(t, "3.9")); err != nil {
				t.Fatal(err)
			}
		}, other, "", "pypy3.9-v7.3.11-linux64", "global", ""},
		{"nearest .python-version up the tree wins over global", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("# project pin\ncpython@3.12\npypy3.11\n"), 0o644)
		}, sub, "", "pypy3.11-v7.3.20-linux64", filepath.Join(proj, ".python-version"), ""},
		{"pyenv spelling", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("pypy3.9-7.3.11\n"), 0o644)
		}, sub, "", "pypy3.9-v7.3.11-linux64", filepath.Join(proj, ".python-version"), ""},
		{"uv spelling", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("pypy@3.11\n"), 0o644)
		}, sub, "", "pypy3.11-v7.3.20-linux64", filepath.Join(proj, ".python-version"), ""},
		{"pin naming nothing installed", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("pypy3.10\n"), 0o644)
		}, sub, "", "", "", "pypy3.10 is not installed"},
		{"pyenv's system: skipped, global next", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("system\n"), 0o644)
		}, sub, "", "pypy3.9-v7.3.11-linux64", "global", ""},
		{"bare versions are CPython pins: skipped", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("3.12\n3.11.7\ncpython-3.12\n3.11\n"), 0o644)
		}, sub, "", "pypy3.9-v7.3.11-linux64", "global", ""},
		{"a PyPy line after CPython ones", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("3.12\npypy3.11\n"), 0o644)
		}, sub, "", "pypy3.11-v7.3.20-linux64", filepath.Join(proj, ".python-version"), ""},
		{"pypyctl's own 3.11@7.3.20 is a PyPy pin", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("3.11@7.3.20\n"), 0o644)
		}, sub, "", "pypy3.11-v7.3.20-linux64", filepath.Join(proj, ".python-version"), ""},
		{"no global either: newest installed", func() {
			os.WriteFile(filepath.Join(proj, ".python-version"), []byte("3.12\n"), 0o644)
			os.Remove(GlobalVersionFile(d.Config))
		}, sub, "", "pypy3.11-v7.3.20-linux64", "newest", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.setup()
			var req *Request
			if tt.explicit != "" {
				r := mustRequest(t, tt.explicit)
				req = &r
			}
			sel, err := Select(l, d.Config, tt.dir, req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sel.Name != tt.want || sel.Source != tt.wantSource {
				t.Errorf("selected %s by %s, want %s by %s", sel.Name, sel.Source, tt.want, tt.wantSource)
			}
			if strings.Contains(tt.name, "skipped") && (len(sel.Notes) == 0 || !strings.Contains(sel.Notes[0], "names no PyPy, skipped")) {
				t.Errorf("notes = %q, want a note per skipped line", sel.Notes)
			}
		})
	}
}

func TestShims(t *testing.T) {
	testtool.Need(t, "sh")
	dest := t.TempDir()
	publishFixtures(t, dest, "", rel311, rel39, rel27)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	for _, r := range []string{"3.11", "3.9", "2.7"} {
		if _, err := in.Install(context.Background(), mustRequest(t, r), Options{Index: dest}); err != nil {
			t.Fatal(err)
		}
	}
	l := Layout{Data: d.Data}
	// The shims call a stand-in pypyctl that answers `which --shim` with
	// this package's ShimTarget, run in a helper process (see TestMain).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	stub := filepath.Join(t.TempDir(), "pypyctl")
	os.WriteFile(stub, []byte("#!/bin/sh\nPYPYCTL_TEST_HELPER=which PYPYCTL_TEST_DATA='"+d.Data+"' PYPYCTL_TEST_CONFIG='"+d.Config+"' exec '"+self+"' \"$@\"\n"), 0o755)
	names, err := WriteShims(l, stub)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(names, " "); got != "pypy pypy2 pypy2.7 pypy3 pypy3.11 pypy3.9" {
		t.Fatalf("shims = %s", got)
	}
	proj := t.TempDir()
	os.WriteFile(filepath.Join(proj, ".python-version"), []byte("pypy3.9\n"), 0o644)
	tests := []struct {
		shim, dir, want string
	}{
		{"pypy3", proj, "fake-pypy pypy3.9-v7.3.11-linux64 a b"},
		{"pypy", proj, "fake-pypy pypy3.9-v7.3.11-linux64 a b"},
		{"pypy3.11", proj, "fake-pypy pypy3.11-v7.3.20-linux64 a b"},
		{"pypy2.7", proj, "fake-pypy pypy2.7-v7.3.20-linux64 a b"},
		{"pypy3", t.TempDir(), "fake-pypy pypy3.11-v7.3.20-linux64 a b"},
		{"pypy2", proj, "fake-pypy pypy2.7-v7.3.20-linux64 a b"},
	}
	for _, tt := range tests {
		cmd := exec.Command(filepath.Join(l.Shims(), tt.shim), "a", "b")
		cmd.Dir = tt.dir
		out, err := cmd.CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("%s in %s: %q, %v; want %q", tt.shim, tt.dir, out, err, tt.want)
		}
	}
	// A shim whose selection fails exits non-zero with pypyctl's message.
	os.WriteFile(filepath.Join(proj, ".python-version"), []byte("pypy3.10\n"), 0o644)
	cmd := exec.Command(filepath.Join(l.Shims(), "pypy"))
	cmd.Dir = proj
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "pypy3.10 is not installed") {
		t.Errorf("failing shim: %q, %v", out, err)
	}
	// Uninstalling 2.7 drops its shims on refresh; removal deletes ours only.
	if _, err := Uninstall(context.Background(), l, mustRequest(t, "2.7")); err != nil {
		t.Fatal(err)
	}
	if err := RefreshShims(l, stub); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(l.Shims(), "pypy2.7")); !os.IsNotExist(err) {
		t.Error("pypy2.7 shim kept after uninstall")
	}
	os.WriteFile(filepath.Join(l.Shims(), "mine"), []byte("#!/bin/sh\n"), 0o755)
	removed, err := RemoveShims(l)
	if err != nil || len(removed) != 4 {
		t.Fatalf("removed %v, %v", removed, err)
	}
	if _, err := os.Stat(filepath.Join(l.Shims(), "mine")); err != nil {
		t.Error("removed a file pypyctl did not write")
	}
	if !strings.Contains(PathLine(l), l.Shims()+":$PATH") {
		t.Errorf("path line %q", PathLine(l))
	}
}
