package apt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/packaging/deb"
)

func needTool(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
}

func run(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustRun(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

var debArch = map[string]string{"amd64": "amd64", "arm64": "arm64", "386": "i386", "s390x": "s390x"}[runtime.GOARCH]

// makeDeb builds a small package with dpkg-deb itself, so the repository
// code is tested against packages it did not write.
func makeDeb(t *testing.T, dir, name, version string, epoch int64, payload string) string {
	t.Helper()
	needTool(t, "dpkg-deb")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "DEBIAN"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "usr/share", name), 0o755); err != nil {
		t.Fatal(err)
	}
	control := fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: Test <test@example.org>\nSection: interpreters\nPriority: optional\nDescription: test package %s\n A package made by the apt tests.\n", name, version, debArch, name)
	if err := os.WriteFile(filepath.Join(root, "DEBIAN/control"), []byte(control), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "usr/share", name, "payload"), []byte(payload), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, deb.FileName(name, version, debArch))
	mustRun(t, []string{fmt.Sprintf("SOURCE_DATE_EPOCH=%d", epoch)}, "dpkg-deb", "--root-owner-group", "-Zxz", "-b", root, out)
	return out
}

func testKey(t *testing.T, dir string) (*Key, *KeyFiles) {
	t.Helper()
	k, err := GenerateKey("pypyctl test repository", "repo@example.org", Ed25519, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	kf, err := WriteKeyFiles(dir, "apt", k, nil)
	if err != nil {
		t.Fatal(err)
	}
	return k, kf
}

// aptEnv is an apt configuration of the test's own: only the test
// repository, lists and caches in temp dirs, trust only via signed-by.
type aptEnv struct {
	dir  string
	opts []string
}

func newAptEnv(t *testing.T, repo, suite, keyring string) *aptEnv {
	t.Helper()
	needTool(t, "apt-get", "apt-cache")
	d := t.TempDir()
	// _apt (apt's download sandbox user) must be able to read the repo.
	os.Chmod(d, 0o755)
	for _, sub := range []string{"lists/partial", "cache/archives/partial", "parts", "trusted.d", "dl"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := fmt.Sprintf("deb [signed-by=%s] file:%s %s main\n", keyring, repo, suite)
	if err := os.WriteFile(filepath.Join(d, "sources.list"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &aptEnv{dir: d, opts: []string{
		"-o", "Dir::Etc::SourceList=" + filepath.Join(d, "sources.list"),
		"-o", "Dir::Etc::SourceParts=" + filepath.Join(d, "parts"),
		"-o", "Dir::Etc::Trusted=" + filepath.Join(d, "none.gpg"),
		"-o", "Dir::Etc::TrustedParts=" + filepath.Join(d, "trusted.d"),
		"-o", "Dir::State::Lists=" + filepath.Join(d, "lists"),
		"-o", "Dir::State::Status=" + filepath.Join(d, "status"),
		"-o", "Dir::Cache=" + filepath.Join(d, "cache"),
		"-o", "Debug::NoLocking=1",
		"-o", "APT::Sandbox::User=root",
		"-o", "Acquire::Languages=none",
		"-o", "APT::Architecture=" + debArch,
	}}
}

func (a *aptEnv) run(t *testing.T, tool string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(tool, append(append([]string{}, a.opts...), args...)...)
	cmd.Dir = filepath.Join(a.dir, "dl")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRepositoryWithApt(t *testing.T) {
	needTool(t, "gpgv")
	work := t.TempDir()
	os.Chmod(work, 0o755)
	repo := filepath.Join(work, "repo")
	debs := t.TempDir()
	k, kf := testKey(t, filepath.Join(work, "keys"))

	a1 := makeDeb(t, debs, "pypyctl-hello", "1.0-1", 1672272000, "one\n")
	res, err := Add(context.Background(), Options{Repo: repo, Suite: "stable", Debs: []string{a1}, Key: k, Description: "pypyctl test"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Packages) != 1 || !res.Packages[0].Added || res.Packages[0].Filename != "pool/main/p/pypyctl-hello/pypyctl-hello_1.0-1_"+debArch+".deb" {
		t.Fatalf("result %+v", res)
	}
	if res.Date != "Thu, 29 Dec 2022 00:00:00 UTC" {
		t.Errorf("Date %q: want the package's SOURCE_DATE_EPOCH", res.Date)
	}
	dists := filepath.Join(repo, "dists", "stable")

	// gpgv verifies both signatures with the exported binary key.
	mustRun(t, nil, "gpgv", "--keyring", kf.PublicGPG, filepath.Join(dists, "InRelease"))
	mustRun(t, nil, "gpgv", "--keyring", kf.PublicGPG, filepath.Join(dists, "Release.gpg"), filepath.Join(dists, "Release"))

	rel := string(must(os.ReadFile(filepath.Join(dists, "Release"))))
	for _, want := range []string{"Origin: pypyctl\n", "Label: pypyctl\n", "Suite: stable\n", "Codename: stable\n", "Date: Thu, 29 Dec 2022 00:00:00 UTC\n",
		"Architectures: " + debArch + "\n", "Components: main\n", "Acquire-By-Hash: yes\n", "Description: pypyctl test\n", "MD5Sum:\n", "SHA256:\n",
		"main/binary-" + debArch + "/Packages\n", "main/binary-" + debArch + "/Packages.gz\n", "main/binary-" + debArch + "/Packages.xz\n"} {
		if !strings.Contains(rel, want) {
			t.Errorf("Release lacks %q:\n%s", want, rel)
		}
	}

	// apt-get update trusts the repository through signed-by= only.
	env := newAptEnv(t, repo, "stable", kf.PublicGPG)
	if out, err := env.run(t, "apt-get", "update"); err != nil || strings.Contains(out, "W: ") {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	if out, _ := env.run(t, "apt-cache", "policy", "pypyctl-hello"); !strings.Contains(out, "Candidate: 1.0-1") {
		t.Fatalf("apt-cache policy:\n%s", out)
	}

	// Incremental: a new revision is added next to the old one; clients
	// holding the previous InRelease still find what it lists by hash.
	oldRelease := rel
	a2 := makeDeb(t, debs, "pypyctl-hello", "1.0-2", 1672358400, "two\n")
	res2, err := Add(context.Background(), Options{Repo: repo, Suite: "stable", Debs: []string{a2}, Key: k, Description: "pypyctl test"})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Indexed != 2 || res2.Date != "Fri, 30 Dec 2022 00:00:00 UTC" {
		t.Errorf("second update: %+v", res2)
	}
	checkByHash(t, dists, oldRelease)
	checkByHash(t, dists, string(must(os.ReadFile(filepath.Join(dists, "Release")))))
	if out, err := env.run(t, "apt-get", "update"); err != nil {
		t.Fatalf("apt-get update after adding: %v\n%s", err, out)
	}
	if out, _ := env.run(t, "apt-cache", "policy", "pypyctl-hello"); !strings.Contains(out, "Candidate: 1.0-2") || !strings.Contains(out, "1.0-1") {
		t.Fatalf("apt-cache policy after adding:\n%s", out)
	}
	// apt-get download checks the file against Packages' hashes.
	if out, err := env.run(t, "apt-get", "download", "pypyctl-hello=1.0-1"); err != nil {
		t.Fatalf("apt-get download: %v\n%s", err, out)
	}
	got := must(os.ReadFile(filepath.Join(env.dir, "dl", filepath.Base(a1))))
	if !bytes.Equal(got, must(os.ReadFile(a1))) {
		t.Error("the downloaded package differs from the one added")
	}

	// Adding the same file again changes nothing, to the byte.
	inBefore := must(os.ReadFile(filepath.Join(dists, "InRelease")))
	res3, err := Add(context.Background(), Options{Repo: repo, Suite: "stable", Debs: []string{a1, a2}, Key: k, Description: "pypyctl test"})
	if err != nil {
		t.Fatal(err)
	}
	if res3.Packages[0].Added || res3.Packages[1].Added {
		t.Errorf("re-adding reported new packages: %+v", res3.Packages)
	}
	if !bytes.Equal(inBefore, must(os.ReadFile(filepath.Join(dists, "InRelease")))) {
		t.Error("re-adding the same packages changed InRelease")
	}

	// Other bytes under a name/version already published are refused and
	// leave the repository as it was.
	clash := makeDeb(t, t.TempDir(), "pypyctl-hello", "1.0-2", 1672358400, "something else\n")
	if _, err := Add(context.Background(), Options{Repo: repo, Suite: "stable", Debs: []string{clash}, Key: k}); err == nil || !strings.Contains(err.Error(), "other contents") {
		t.Errorf("clashing package: %v", err)
	}
	if !bytes.Equal(inBefore, must(os.ReadFile(filepath.Join(dists, "InRelease")))) {
		t.Error("a refused update changed InRelease")
	}
}

// checkByHash checks that every index a Release lists is present under
// by-hash with those very bytes.
func checkByHash(t *testing.T, dists, release string) {
	t.Helper()
	ps, err := deb.ParseParagraphs(strings.NewReader(release))
	if err != nil || len(ps) != 1 {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(ps[0].Get("SHA256"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n++
		p := filepath.Join(dists, filepath.Dir(f[2]), "by-hash", "SHA256", f[0])
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("by-hash file of %s: %v", f[2], err)
			continue
		}
		if s := sha256.Sum256(b); hex.EncodeToString(s[:]) != f[0] || fmt.Sprint(len(b)) != f[1] {
			t.Errorf("by-hash file of %s does not match the Release", f[2])
		}
	}
	if n != 3 {
		t.Errorf("Release lists %d SHA256 entries, want 3", n)
	}
}

// TestTamperedRelease proves the signatures are checked: a changed
// InRelease, or a repository signed by another key, fails apt-get update.
func TestTamperedRelease(t *testing.T) {
	work := t.TempDir()
	os.Chmod(work, 0o755)
	debs := t.TempDir()
	k, kf := testKey(t, filepath.Join(work, "keys"))
	other, err := GenerateKey("someone else", "other@example.org", Ed25519, time.Unix(1700000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	p := makeDeb(t, debs, "pypyctl-hello", "1.0-1", 1672272000, "one\n")

	tests := []struct {
		name   string
		key    *Key
		tamper func(dists string)
		ok     bool
	}{
		{"untouched", k, func(string) {}, true},
		{"InRelease text changed", k, func(d string) {
			b := must(os.ReadFile(filepath.Join(d, "InRelease")))
			os.WriteFile(filepath.Join(d, "InRelease"), bytes.Replace(b, []byte("Label: pypyctl"), []byte("Label: evil!!"), 1), 0o644)
		}, false},
		{"Packages hash changed in both Release files", k, func(d string) {
			for _, f := range []string{"InRelease", "Release"} {
				b := must(os.ReadFile(filepath.Join(d, f)))
				i := bytes.Index(b, []byte("SHA256:\n ")) + len("SHA256:\n ")
				b[i] ^= 1
				os.WriteFile(filepath.Join(d, f), b, 0o644)
			}
		}, false},
		{"signed by another key", other, func(string) {}, false},
	}
	for _, tt := range tests {
		repo := filepath.Join(work, strings.ReplaceAll(tt.name, " ", "-"))
		if _, err := Add(context.Background(), Options{Repo: repo, Suite: "stable", Debs: []string{p}, Key: tt.key}); err != nil {
			t.Fatal(err)
		}
		tt.tamper(filepath.Join(repo, "dists", "stable"))
		env := newAptEnv(t, repo, "stable", kf.PublicGPG)
		out, err := env.run(t, "apt-get", "update")
		// apt-get update exits 0 with a W:/E: line for a repository it
		// refuses in some versions; count either as failure.
		t.Logf("%s: apt-get update: %v\n%s", tt.name, err, out)
		failed := err != nil || strings.Contains(out, "\nE: ") || strings.Contains(out, "\nW: ")
		if failed == tt.ok {
			t.Errorf("%s: apt-get update failed=%v, want %v\n%s", tt.name, failed, !tt.ok, out)
		}
		if !tt.ok {
			if pol, _ := env.run(t, "apt-cache", "policy", "pypyctl-hello"); strings.Contains(pol, "Candidate: 1.0-1") {
				t.Errorf("%s: apt still offers the package:\n%s", tt.name, pol)
			}
		}
	}
}

func TestKeys(t *testing.T) {
	needTool(t, "gpg", "gpgv")
	dir := t.TempDir()
	tests := []struct {
		alg  Algorithm
		algo string // gpg --with-colons algorithm id
	}{
		{Ed25519, "22"},
		{RSA4096, "1"},
	}
	for _, tt := range tests {
		k, err := GenerateKey("pypyctl "+string(tt.alg), "repo@example.org", tt.alg, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		kf, err := WriteKeyFiles(filepath.Join(dir, string(tt.alg)), "apt", k, nil)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(kf.Private); fi.Mode().Perm() != 0o600 {
			t.Errorf("private key mode %v", fi.Mode().Perm())
		}
		// gpg reads the exported public key (both forms) and agrees on
		// the fingerprint and algorithm.
		for _, pub := range []string{kf.Public, kf.PublicGPG} {
			out := mustRun(t, nil, "gpg", "--batch", "--homedir", t.TempDir(), "--with-colons", "--show-keys", pub)
			if !strings.Contains(out, "fpr:::::::::"+k.Fingerprint()+":") {
				t.Errorf("%s: gpg shows another fingerprint:\n%s", pub, out)
			}
			if !strings.Contains(out, ":"+tt.algo+":") || !strings.Contains(out, "uid:") {
				t.Errorf("%s: gpg shows:\n%s", pub, out)
			}
		}
		if _, err := WriteKeyFiles(filepath.Join(dir, string(tt.alg)), "apt", k, nil); err == nil {
			t.Error("WriteKeyFiles overwrote a private key")
		}
		loaded, err := LoadKey(kf.Private, nil)
		if err != nil {
			t.Fatal(err)
		}
		if loaded.Fingerprint() != k.Fingerprint() {
			t.Errorf("loaded %s, wrote %s", loaded.Fingerprint(), k.Fingerprint())
		}
		// A signature by the loaded key verifies with gpgv.
		msg := []byte("Origin: test\n")
		sig, err := loaded.DetachSign(msg, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "msg"), msg, 0o644)
		os.WriteFile(filepath.Join(dir, "msg.asc"), sig, 0o644)
		mustRun(t, nil, "gpgv", "--keyring", kf.PublicGPG, filepath.Join(dir, "msg.asc"), filepath.Join(dir, "msg"))
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	k, kf := testKey(t, dir)
	// An encrypted copy of the key.
	ekf, err := WriteKeyFiles(filepath.Join(dir, "enc"), "apt", k, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	enc := ekf.Private
	if _, err := k.DetachSign([]byte("x"), time.Now()); err != nil {
		t.Errorf("the key no longer signs after writing an encrypted copy: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "junk"), []byte("not a key"), 0o600)
	tests := []struct {
		name, path, pass, want string
	}{
		{"public key", kf.Public, "", "is a public key"},
		{"missing", filepath.Join(dir, "nope"), "", "no such file"},
		{"junk", filepath.Join(dir, "junk"), "", "signing key"},
		{"encrypted, no passphrase", enc, "", "no passphrase"},
		{"encrypted, wrong passphrase", enc, "wrong", "decrypt"},
		{"encrypted, right passphrase", enc, "s3cret", ""},
	}
	for _, tt := range tests {
		_, err := LoadKey(tt.path, []byte(tt.pass))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestSignatureTime: a Release dated before the key existed is signed at
// the key's creation time (verifiers reject signatures older than their
// key), and the same inputs give the same signature bytes.
func TestSignatureTime(t *testing.T) {
	needTool(t, "gpgv")
	dir := t.TempDir()
	k, kf := testKey(t, dir)
	msg := []byte("Origin: test\n")
	old := time.Unix(1000000000, 0)
	a, err := k.ClearSign(msg, old)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := k.ClearSign(msg, old)
	if !bytes.Equal(a, b) {
		t.Error("two signatures of the same Release at the same time differ")
	}
	p := filepath.Join(dir, "InRelease")
	os.WriteFile(p, a, 0o644)
	out := mustRun(t, []string{"TZ=UTC", "LC_ALL=C"}, "gpgv", "--keyring", kf.PublicGPG, p)
	if !strings.Contains(out, "Nov 14 22:13:20 2023") {
		t.Errorf("signature time is not the key's creation time:\n%s", out)
	}
}

func TestAddRefuses(t *testing.T) {
	k, _ := testKey(t, t.TempDir())
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"no key", Options{Suite: "stable"}, "signing key"},
		{"bad suite", Options{Suite: "../x", Key: k}, "suite"},
		{"empty new suite", Options{Suite: "stable", Key: k}, "no packages were given"},
		{"not a deb", Options{Suite: "stable", Key: k, Debs: []string{"/etc/hostname"}}, "not an ar archive"},
		{"newline in label", Options{Suite: "stable", Key: k, Label: "a\nb"}, "one line"},
	}
	for _, tt := range tests {
		tt.o.Repo = t.TempDir()
		_, err := Add(context.Background(), tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestReleaseDate(t *testing.T) {
	k, _ := testKey(t, t.TempDir())
	repo := t.TempDir()
	p := makeDeb(t, t.TempDir(), "pypyctl-hello", "1.0-1", 1672272000, "one\n")
	tests := []struct {
		name string
		date time.Time
		want string
	}{
		{"explicit date", time.Unix(1704067200, 0), "Mon, 01 Jan 2024 00:00:00 UTC"},
		{"an older date does not go back", time.Unix(1600000000, 0), "Mon, 01 Jan 2024 00:00:00 UTC"},
		{"package date is older too", time.Time{}, "Mon, 01 Jan 2024 00:00:00 UTC"},
		{"a newer date moves on", time.Unix(1735689600, 0), "Wed, 01 Jan 2025 00:00:00 UTC"},
	}
	for _, tt := range tests {
		res, err := Add(context.Background(), Options{Repo: repo, Suite: "s", Debs: []string{p}, Key: k, Date: tt.date})
		if err != nil {
			t.Fatal(err)
		}
		if res.Date != tt.want {
			t.Errorf("%s: Date %s, want %s", tt.name, res.Date, tt.want)
		}
	}
}
