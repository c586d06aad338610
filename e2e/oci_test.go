//go:build integration

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// ociReport is the part of `package oci --json` the tests read.
type ociReport struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
	Images    []struct {
		Target   string `json:"target"`
		Platform string `json:"platform"`
		Digest   string `json:"digest"`
	} `json:"images"`
	Attachments []struct {
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
		Tag     string `json:"tag"`
	} `json:"attachments"`
	Lock struct {
		Path    string `json:"path"`
		Written bool   `json:"written"`
	} `json:"lock"`
}

func parseOCIReport(t *testing.T, out string) ociReport {
	t.Helper()
	var r ociReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("package oci --json output is not JSON: %v\n%s", err, out)
	}
	return r
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
}

// startRegistry runs Debian's docker-registry on a free 127.0.0.1 port
// with a config of the test's own (no auth, storage in a temp dir), and
// stops it by pid when the test ends.
func startRegistry(t *testing.T) string {
	t.Helper()
	needTools(t, "docker-registry")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	conf := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n  secret: pypyctl-e2e\n", filepath.Join(dir, "data"), addr)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", cfg)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start docker-registry: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "registry.log"))
			t.Fatalf("docker-registry did not answer on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// writeKeyPair writes an ECDSA P-256 key pair as PEM (PKCS#8 private,
// PKIX public), the kind cosign's --key accepts.
func writeKeyPair(t *testing.T, dir string) (key, pub string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pder, _ := x509.MarshalPKIXPublicKey(k.Public())
	key, pub = filepath.Join(dir, "key.pem"), filepath.Join(dir, "pub.pem")
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pder}), 0o644)
	return key, pub
}

// imageEnv reads an image's configured environment with skopeo.
func imageEnv(t *testing.T, e []string, ref, arch string) []string {
	t.Helper()
	out := sh(t, "", e, "skopeo inspect --tls-verify=false --override-arch "+arch+" --config docker://"+ref)
	var cfg struct {
		Architecture string `json:"architecture"`
		Config       struct {
			Env []string `json:"Env"`
			Cmd []string `json:"Cmd"`
		} `json:"config"`
	}
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		t.Fatalf("skopeo inspect --config: %v\n%s", err, out)
	}
	if cfg.Architecture != arch {
		t.Fatalf("%s config is for %s", arch, cfg.Architecture)
	}
	return cfg.Config.Env
}

// unpack copies one platform of ref out of the registry with skopeo and
// unpacks its filesystem with umoci; it returns the rootfs.
func unpack(t *testing.T, e []string, ref, arch string) string {
	t.Helper()
	dir := t.TempDir()
	sh(t, dir, e, "skopeo copy -q --src-tls-verify=false --override-arch "+arch+" docker://"+ref+" oci:layout:"+arch)
	sh(t, dir, e, "umoci unpack --rootless --image layout:"+arch+" bundle >/dev/null")
	return filepath.Join(dir, "bundle", "rootfs")
}

// sandbox runs argv inside rootfs with bwrap: the image's filesystem is
// the only thing bound from the host (read-only at /), plus fresh /proc,
// /dev and a tmpfs /tmp; the environment is the image's.
func sandbox(t *testing.T, rootfs string, env []string, extra []string, argv ...string) string {
	t.Helper()
	args := []string{"--unshare-all", "--die-with-parent", "--ro-bind", rootfs, "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--clearenv"}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		args = append(args, "--setenv", k, v)
	}
	args = append(append(args, extra...), argv...)
	out, err := exec.Command("bwrap", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("bwrap %s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

const ociProbe = `
import json, locale, os, pwd, sqlite3, ssl, sys, urllib.request, zoneinfo, platform
ctx = ssl.create_default_context()
db = sqlite3.connect(":memory:")
print(json.dumps({
    "machine": platform.machine(),
    "impl": sys.implementation.name,
    "ca": ctx.cert_store_stats()["x509_ca"],
    "sqlite": db.execute("select sqlite_version()").fetchone()[0],
    "locale": locale.setlocale(locale.LC_ALL, ""),
    "tz": str(zoneinfo.ZoneInfo("Europe/Paris")),
    "user": pwd.getpwuid(os.getuid()).pw_name,
    "exe": sys.executable,
}))
`

type probeResult struct {
	Machine string `json:"machine"`
	Impl    string `json:"impl"`
	CA      int    `json:"ca"`
	SQLite  string `json:"sqlite"`
	Locale  string `json:"locale"`
	TZ      string `json:"tz"`
	User    string `json:"user"`
	Exe     string `json:"exe"`
}

func parseProbe(t *testing.T, out string) probeResult {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var p probeResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &p); err != nil {
		t.Fatalf("probe output: %v\n%s", err, out)
	}
	return p
}

// cosignBinary is the cosign another part of the build caches, if any
// ($PYPYCTL_TEST_COSIGN names another one).
func cosignBinary() string {
	if p := os.Getenv("PYPYCTL_TEST_COSIGN"); p != "" {
		return p
	}
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	p := filepath.Join(base, "pypyctl-tools", "bin", "cosign")
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// TestOCIPushRunVerify pushes a signed multi-arch image to Debian's
// docker-registry, checks it with skopeo, runs each platform's filesystem
// (pulled back from the registry) in a bwrap sandbox that holds nothing
// of the host — arm64 under qemu-user — and verifies the signature with
// cosign when it is available.
func TestOCIPushRunVerify(t *testing.T) {
	needTools(t, "skopeo", "umoci", "bwrap", "qemu-aarch64-static")
	addr := startRegistry(t)
	work := t.TempDir()
	e := env(t)
	key, pub := writeKeyPair(t, work)
	ref := addr + "/pypy:3.9"

	rep := parseOCIReport(t, mustRun(t, work, e, "package", "oci", "--push", ref, "--sign", "--key", key, "--json").stdout)
	if rep.Reference != ref || !strings.HasPrefix(rep.Digest, "sha256:") || len(rep.Images) != 2 {
		t.Fatalf("report: %+v", rep)
	}
	kinds := map[string]int{}
	for _, a := range rep.Attachments {
		kinds[a.Kind]++
	}
	if kinds["sbom"] != 2 || kinds["provenance"] != 1 || kinds["signature"] != 3 || kinds["attestation"] != 3 {
		t.Errorf("attachments: %v", kinds)
	}

	// The index, as the registry serves it.
	raw := sh(t, work, e, "skopeo inspect --tls-verify=false --raw docker://"+ref)
	sum := sha256.Sum256([]byte(raw))
	if "sha256:"+hex.EncodeToString(sum[:]) != rep.Digest {
		t.Errorf("registry's index bytes hash to %x, pypyctl reported %s", sum, rep.Digest)
	}
	var idx struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				OS, Architecture, Variant string
			} `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal([]byte(raw), &idx); err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, m := range idx.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if idx.MediaType != "application/vnd.oci.image.index.v1+json" || strings.Join(plats, " ") != "linux/amd64 linux/arm64" {
		t.Fatalf("index %s lists %v", idx.MediaType, plats)
	}
	var insp struct {
		Architecture string            `json:"Architecture"`
		Labels       map[string]string `json:"Labels"`
	}
	json.Unmarshal([]byte(sh(t, work, e, "skopeo inspect --tls-verify=false --override-arch arm64 docker://"+ref)), &insp)
	if insp.Architecture != "arm64" || insp.Labels["org.opencontainers.image.version"] != "7.3.11" {
		t.Errorf("skopeo inspect arm64: %+v", insp)
	}

	// amd64: the image's own filesystem and environment, nothing else.
	rootfs := unpack(t, e, ref, "amd64")
	for _, shell := range []string{"usr/bin/sh", "usr/bin/dash", "usr/bin/bash"} {
		if _, err := os.Lstat(filepath.Join(rootfs, shell)); err == nil {
			t.Errorf("the image has a shell: /%s", shell)
		}
	}
	ienv := imageEnv(t, e, ref, "amd64")
	got := parseProbe(t, sandbox(t, rootfs, ienv, nil, "/opt/pypy/bin/pypy3", "-c", "import ssl, sqlite3, urllib.request\n"+ociProbe))
	if got.Impl != "pypy" || got.Machine != "x86_64" || got.CA < 100 || got.SQLite == "" || got.Locale != "C.UTF-8" || got.TZ != "Europe/Paris" || got.User != "root" {
		t.Errorf("amd64 image: %+v", got)
	}
	// By PATH, and as the unprivileged user.
	got = parseProbe(t, sandbox(t, rootfs, ienv, []string{"--unshare-user", "--uid", "1000", "--gid", "1000"}, "pypy3", "-c", ociProbe))
	if got.User != "pypy" || !strings.HasPrefix(got.Exe, "/opt/pypy/bin/") {
		t.Errorf("amd64 image as uid 1000: %+v", got)
	}

	// arm64 under qemu-user, the static emulator bound into the sandbox's /tmp.
	rootfs = unpack(t, e, ref, "arm64")
	qemu, _ := exec.LookPath("qemu-aarch64-static")
	got = parseProbe(t, sandbox(t, rootfs, imageEnv(t, e, ref, "arm64"), []string{"--ro-bind", qemu, "/tmp/qemu-aarch64-static"},
		"/tmp/qemu-aarch64-static", "/opt/pypy/bin/pypy3", "-c", "import ssl, sqlite3, urllib.request\n"+ociProbe))
	if got.Impl != "pypy" || got.Machine != "aarch64" || got.CA < 100 {
		t.Errorf("arm64 image: %+v", got)
	}

	cosign := cosignBinary()
	if cosign == "" {
		// Everything above already ran; only the cosign check is missing.
		testtool.Missing(t, "cosign is not in ${XDG_CACHE_HOME:-$HOME/.cache}/pypyctl-tools/bin: run scripts/tools/cosign.sh (make test does)")
		return
	}
	ce := append(env(t), "COSIGN_EXPERIMENTAL=0")
	digestRef := addr + "/pypy@" + rep.Digest
	res := runCmd(t, work, ce, cosign, "verify", "--key", pub, "--insecure-ignore-tlog", digestRef)
	if res.code != 0 {
		t.Fatalf("cosign verify: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, rep.Digest) {
		t.Errorf("cosign verify printed no payload for %s:\n%s", rep.Digest, res.stdout)
	}
	res = runCmd(t, work, ce, cosign, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", "slsaprovenance1", digestRef)
	if res.code != 0 {
		t.Errorf("cosign verify-attestation (provenance): exit %d\n%s", res.code, res.stderr)
	}
	res = runCmd(t, work, ce, cosign, "verify-attestation", "--key", pub, "--insecure-ignore-tlog", "--type", "cyclonedx", addr+"/pypy@"+rep.Images[0].Digest)
	if res.code != 0 {
		t.Errorf("cosign verify-attestation (SBOM): exit %d\n%s", res.code, res.stderr)
	}
	_, otherPub := writeKeyPair(t, t.TempDir())
	if res := runCmd(t, work, ce, cosign, "verify", "--key", otherPub, "--insecure-ignore-tlog", digestRef); res.code == 0 {
		t.Errorf("cosign verified the index with a key that did not sign it")
	}
}

// TestOCIReproducible builds the image index twice into OCI layouts, in
// separate processes with separate stores, working directories, TZ,
// umask, locale and (with faketime) clock, the first with the smoke test
// and a lock file it writes, the second reading that lock: the index
// digests must be equal, and the index must list both platforms.
func TestOCIReproducible(t *testing.T) {
	type run struct {
		dir, umask, tz, lang, faketime string
		extra                          string
	}
	runs := []run{
		{t.TempDir(), "022", "UTC", "C.UTF-8", "", ""},
		{filepath.Join(t.TempDir(), "deeper", "dir"), "077", "Pacific/Kiritimati", "POSIX", "2031-02-03 04:05:06", " --no-smoke"},
	}
	testtool.Need(t, "faketime") // the second build runs at a faked clock
	lock := filepath.Join(t.TempDir(), "oci-lock.yaml")
	var digests []string
	for i, r := range runs {
		os.MkdirAll(r.dir, 0o755)
		e := env(t, "TZ="+r.tz, "LC_ALL="+r.lang)
		cmd := "umask " + r.umask + "; exec "
		if r.faketime != "" {
			cmd += "faketime '" + r.faketime + "' "
		}
		store := filepath.Join(t.TempDir(), "store")
		cmd += pypyctl + " package oci --layout oci --lock " + lock + " --store " + store + " --json" + r.extra
		res := runCmd(t, r.dir, e, "sh", "-c", cmd)
		if res.code != 0 {
			t.Fatalf("build %d: exit %d\n%s", i, res.code, res.stderr)
		}
		rep := parseOCIReport(t, res.stdout)
		if rep.Lock.Written != (i == 0) {
			t.Errorf("build %d: lock written = %v", i, rep.Lock.Written)
		}
		var plats []string
		for _, img := range rep.Images {
			plats = append(plats, img.Platform)
		}
		if strings.Join(plats, " ") != "linux/amd64 linux/arm64/v8" {
			t.Errorf("build %d: platforms %v", i, plats)
		}
		digests = append(digests, rep.Digest)
		// skopeo reads the layout pypyctl wrote.
		out := sh(t, r.dir, e, "skopeo inspect --raw oci:oci:3.9-7.3.11")
		sum := sha256.Sum256([]byte(out))
		if "sha256:"+hex.EncodeToString(sum[:]) != rep.Digest {
			t.Errorf("build %d: layout index hashes to %x, reported %s", i, sum, rep.Digest)
		}
	}
	if digests[0] != digests[1] {
		t.Fatalf("index digests differ: %s vs %s", digests[0], digests[1])
	}
}
