package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

func pkgCLI(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return code, out.String(), errb.String()
}

func TestPackageUsage(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir()}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"deb without target", []string{"package", "deb"}, "--target is required"},
		{"deb for macOS", []string{"package", "deb", "--target", "macos-arm64"}, "Linux targets"},
		{"deb revision 0", []string{"package", "deb", "--target", "linux-amd64", "--revision", "0"}, "--revision"},
		{"deb zstd", []string{"package", "deb", "--target", "linux-amd64", "--compression", "zst"}, "xz or gz"},
		{"apt without key", []string{"package", "apt", "--from", "d", "--to", "r", "--suite", "s"}, "--key is required"},
		{"apt key without out", []string{"package", "apt", "key"}, "--out is required"},
		{"apt key bad base", []string{"package", "apt", "key", "--out", "k", "--base", "a/b"}, "--base"},
		{"brew without source", []string{"package", "brew", "--to", "tap"}, "--from DIST"},
		{"brew with both sources", []string{"package", "brew", "--to", "tap", "--from", "d", "--index", "i"}, "--from DIST"},
		{"brew from without base", []string{"package", "brew", "--to", "tap", "--from", "d"}, "--base-url"},
	}
	for _, tt := range tests {
		code, _, errOut := pkgCLI(t, env, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", tt.name, code, errOut, tt.want)
		}
	}
}

// TestPackageAptCommand: key generation, a repository from a package
// dpkg-deb made, Date from SOURCE_DATE_EPOCH, signatures gpgv accepts
// with the keyring the command exported.
func TestPackageAptCommand(t *testing.T) {
	testtool.Need(t, "dpkg-deb", "gpgv", "dpkg")
	dir := t.TempDir()
	env := map[string]string{"HOME": dir, "SOURCE_DATE_EPOCH": "1700000000"}
	root := filepath.Join(dir, "pkg")
	os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755)
	arch, _ := exec.Command("dpkg", "--print-architecture").Output()
	os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte("Package: hello-pypyctl\nVersion: 1.0-1\nArchitecture: "+strings.TrimSpace(string(arch))+"\nMaintainer: T <t@example.org>\nDescription: test\n test\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "debs"), 0o755)
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", root, filepath.Join(dir, "debs", "hello.deb")).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v\n%s", err, out)
	}

	keys := filepath.Join(dir, "keys")
	if code, _, errOut := pkgCLI(t, env, "package", "apt", "key", "--out", keys); code != 0 {
		t.Fatalf("apt key: %d %s", code, errOut)
	}
	repo := filepath.Join(dir, "repo")
	code, out, errOut := pkgCLI(t, env, "--json", "package", "apt", "--from", filepath.Join(dir, "debs"), "--to", repo, "--suite", "stable", "--key", filepath.Join(keys, "apt.key"))
	if code != 0 {
		t.Fatalf("apt: %d %s", code, errOut)
	}
	var rep struct {
		Date       string `json:"date"`
		Indexed    int    `json:"indexed"`
		Keyring    string `json:"keyring"`
		SourceLine string `json:"source_line"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("apt --json: %v\n%s", err, out)
	}
	if rep.Date != "Tue, 14 Nov 2023 22:13:20 UTC" || rep.Indexed != 1 || !strings.Contains(rep.SourceLine, "signed-by=") {
		t.Errorf("report %+v", rep)
	}
	for _, args := range [][]string{
		{"--keyring", rep.Keyring, filepath.Join(repo, "dists/stable/InRelease")},
		{"--keyring", rep.Keyring, filepath.Join(repo, "dists/stable/Release.gpg"), filepath.Join(repo, "dists/stable/Release")},
	} {
		if out, err := exec.Command("gpgv", args...).CombinedOutput(); err != nil {
			t.Errorf("gpgv %v: %v\n%s", args, err, out)
		}
	}

	// An encrypted key needs the password from the environment.
	pw := map[string]string{"HOME": dir, "PYPYCTL_KEY_PASSWORD": "s3cret"}
	if code, _, errOut := pkgCLI(t, pw, "package", "apt", "key", "--out", filepath.Join(dir, "enc")); code != 0 {
		t.Fatalf("apt key (encrypted): %d %s", code, errOut)
	}
	args := []string{"package", "apt", "--from", filepath.Join(dir, "debs"), "--to", repo, "--suite", "stable", "--key", filepath.Join(dir, "enc", "apt.key")}
	if code, _, errOut := pkgCLI(t, map[string]string{"HOME": dir}, args...); code != 1 || !strings.Contains(errOut, "PYPYCTL_KEY_PASSWORD") {
		t.Errorf("encrypted key without password: exit %d %q", code, errOut)
	}
	if code, _, errOut := pkgCLI(t, pw, args...); code != 0 {
		t.Errorf("encrypted key with password: exit %d %q", code, errOut)
	}
	if code, _, errOut := pkgCLI(t, env, "package", "apt", "--from", t.TempDir(), "--to", repo, "--suite", "stable", "--key", filepath.Join(keys, "apt.key")); code != 1 || !strings.Contains(errOut, "no .deb files") {
		t.Errorf("empty --from: exit %d %q", code, errOut)
	}
}

func TestPackageBrewCommand(t *testing.T) {
	dir := t.TempDir()
	dist := filepath.Join(dir, "dist")
	os.MkdirAll(dist, 0o755)
	var sums strings.Builder
	for _, name := range []string{"pypy3.9-v7.3.11-linux64.tar.bz2", "pypy3.9-v7.3.11-aarch64.tar.bz2"} {
		body := []byte("archive " + name)
		os.WriteFile(filepath.Join(dist, name), body, 0o644)
		s := sha256.Sum256(body)
		sums.WriteString(hex.EncodeToString(s[:]) + "  " + name + "\n")
	}
	os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(sums.String()), 0o644)
	tap := filepath.Join(dir, "tap")
	code, out, errOut := pkgCLI(t, map[string]string{"HOME": dir}, "--json", "package", "brew", "--to", tap, "--from", dist, "--base-url", "https://example.org/pypy")
	if code != 0 {
		t.Fatalf("brew: %d %s", code, errOut)
	}
	var rep struct {
		Formula  string `json:"formula"`
		Class    string `json:"class"`
		Archives []struct {
			URL    string `json:"url"`
			SHA256 string `json:"sha256"`
		} `json:"archives"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Formula != filepath.Join(tap, "Formula", "pypy@3.9.rb") || rep.Class != "PypyAT39" || len(rep.Archives) != 2 {
		t.Errorf("report %+v", rep)
	}
	// The 3.11 release ships macOS too, and this dist has none of it.
	if code, _, errOut := pkgCLI(t, map[string]string{"HOME": dir}, "package", "brew", "--release", "pypy3.11-v7.3.20", "--to", tap, "--from", dist, "--base-url", "https://x"); code != 1 || !strings.Contains(errOut, "--allow-missing") {
		t.Errorf("missing archives: exit %d %q", code, errOut)
	}
}
