//go:build integration

package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// TestBuildLinuxAMD64 builds the default release in every format, checks
// SHA256SUMS with sha256sum, unpacks the tar.bz2 with GNU tar into a
// random directory and uses the tree the way a user would: native
// modules, ensurepip, venv and an offline pip install.
func TestBuildLinuxAMD64(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	out := mustRun(t, work, e, "build", "--target", "linux-amd64", "--formats", "tar.bz2,tar.gz,tar.xz,tar.zst,zip", "--json")
	rep := parseReport(t, out.stdout)
	want := map[string]bool{}
	for _, f := range []string{"tar.bz2", "tar.gz", "tar.xz", "tar.zst", "zip"} {
		want["pypy3.9-v7.3.11-linux64."+f] = true
	}
	want["SHA256SUMS"] = true
	want["pypy3.9-v7.3.11-linux64.cdx.json"] = true
	for _, a := range rep.Artifacts {
		if !want[a.Name] {
			t.Errorf("unexpected artifact %s", a.Name)
		}
		delete(want, a.Name)
	}
	if len(want) > 0 {
		t.Fatalf("missing artifacts: %v", want)
	}
	if rep.Smoke == nil || !rep.Smoke.CFFIModule || rep.Smoke.SOABI != "pypy39-pp73" {
		t.Fatalf("smoke report incomplete: %+v", rep.Smoke)
	}
	dist := filepath.Join(work, "dist")
	sh(t, dist, e, "sha256sum -c SHA256SUMS")
	checkBuildSBOM(t, filepath.Join(dist, "pypy3.9-v7.3.11-linux64.cdx.json"))
	sh(t, dist, e, "bzip2 -t *.tar.bz2 && xz -t *.tar.xz && zstd -q -t *.tar.zst && gzip -t *.tar.gz && unzip -tq *.zip")

	// Unpack somewhere unrelated to where it was built.
	where := filepath.Join(t.TempDir(), "some", "where")
	os.MkdirAll(where, 0o755)
	sh(t, where, e, "tar xjf "+filepath.Join(dist, "pypy3.9-v7.3.11-linux64.tar.bz2"))
	tree := filepath.Join(where, "pypy3.9-v7.3.11-linux64")
	for _, link := range []string{"pypy", "pypy3", "python", "python3", "python3.9"} {
		if l, err := os.Readlink(filepath.Join(tree, "bin", link)); err != nil || l != "pypy3.9" {
			t.Errorf("bin/%s: link %q, %v", link, l, err)
		}
	}
	wheel := makeWheel(t, t.TempDir())
	got := sh(t, where, e, `
P=pypy3.9-v7.3.11-linux64/bin/pypy3
$P -c "import ssl, sqlite3, lzma, ctypes, cffi, hashlib; hashlib.sha3_256; import site; print(site.getsitepackages()[0])"
$P -m ensurepip >/dev/null 2>&1
$P -m pip --version
$P -m venv v
v/bin/pip install --no-index `+wheel+` >/dev/null 2>&1
v/bin/python -c "import pypyctl_hello; print(pypyctl_hello.GREETING)"
`)
	for _, w := range []string{
		filepath.Join(tree, "lib", "pypy3.9", "site-packages"),
		"pip 23.0.1 from " + filepath.Join(tree, "lib", "pypy3.9", "site-packages", "pip"),
		"hello from a local wheel",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("tree check output lacks %q:\n%s", w, got)
		}
	}
}

// TestBuildReproducible builds twice in separate processes with separate
// stores, working directories, TZ, umask, locale and (with faketime, when
// installed) wall-clock time, and compares every artifact byte for byte.
func TestBuildReproducible(t *testing.T) {
	type run struct{ dir, umask, tz, lang, faketime string }
	runs := []run{
		{t.TempDir(), "022", "UTC", "C.UTF-8", ""},
		{filepath.Join(t.TempDir(), "deeper", "dir"), "077", "Pacific/Kiritimati", "POSIX", "2031-02-03 04:05:06"},
	}
	// Without faketime the second build would run at the real clock and
	// the test would not show that the wall clock leaves no trace.
	testtool.Need(t, "faketime")
	var sums []string
	for i, r := range runs {
		os.MkdirAll(r.dir, 0o755)
		e := env(t, "TZ="+r.tz, "LC_ALL="+r.lang)
		cmd := "umask " + r.umask + "; exec "
		if r.faketime != "" {
			cmd += "faketime '" + r.faketime + "' "
		}
		store := filepath.Join(t.TempDir(), "store")
		cmd += pypyctl + " build --target linux-amd64 --formats tar.bz2,tar.gz,tar.xz,tar.zst,zip --no-smoke --store " + store + " --json"
		res := runCmd(t, r.dir, e, "sh", "-c", cmd)
		if res.code != 0 {
			t.Fatalf("build %d: exit %d\n%s", i, res.code, res.stderr)
		}
		rep := parseReport(t, res.stdout)
		for _, s := range rep.Stages {
			if s.Hit {
				t.Fatalf("build %d: stage %s was a store hit; the builds must be independent", i, s.Name)
			}
		}
		b, err := os.ReadFile(filepath.Join(r.dir, "dist", "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		sums = append(sums, string(b))
	}
	if sums[0] != sums[1] {
		t.Fatalf("archives differ between the two builds:\n%s\nvs\n%s", sums[0], sums[1])
	}
	a, _ := os.ReadFile(filepath.Join(runs[0].dir, "dist", "pypy3.9-v7.3.11-linux64.tar.bz2"))
	b, _ := os.ReadFile(filepath.Join(runs[1].dir, "dist", "pypy3.9-v7.3.11-linux64.tar.bz2"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatal("tar.bz2 bytes differ")
	}
}

// TestBuildSecondRunIsStoreHit: nothing changed, so nothing is rebuilt and
// no archive is compressed again.
func TestBuildSecondRunIsStoreHit(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	store := filepath.Join(t.TempDir(), "store")
	mustRun(t, work, e, "build", "--target", "linux-amd64", "--store", store, "--json")
	rep := parseReport(t, mustRun(t, work, e, "build", "--target", "linux-amd64", "--store", store, "--json").stdout)
	if len(rep.Stages) == 0 {
		t.Fatal("no stages reported")
	}
	for _, s := range rep.Stages {
		if !s.Hit {
			t.Errorf("second build: stage %s did work", s.Name)
		}
	}
}

// TestBuildRejectsBadDebPin: a .deb that does not match its pin stops the
// build, names the file and both digests, and writes nothing to dist/.
func TestBuildRejectsBadDebPin(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	raw, err := os.ReadFile("../platforms/matrix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	matrix := string(raw)
	bad := strings.Replace(matrix, "21847932176d570d5b012e10fb807cf0f95ff851c525d9397afbda5a72a13650", strings.Repeat("0", 64), 1)
	if bad == matrix {
		t.Fatal("pin of pypy3 amd64 not found in the embedded matrix")
	}
	mpath := filepath.Join(work, "matrix.yaml")
	os.WriteFile(mpath, []byte(bad), 0o644)
	// A cache of its own, so the good cached .deb is not reused.
	e = append(e[:2:2], "XDG_CACHE_HOME="+t.TempDir(), e[3], e[4])
	r := run(t, work, e, "build", "--target", "linux-amd64", "--matrix", mpath)
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"pypy3_7.3.11+dfsg-2+deb12u3_amd64.deb", strings.Repeat("0", 64), "21847932176d570d5b012e10fb807cf0f95ff851c525d9397afbda5a72a13650"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("error does not name %q:\n%s", w, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(work, "dist")); !os.IsNotExist(err) {
		t.Errorf("dist/ was written despite the failure")
	}
}

// TestBuildLinuxARM64 builds the arm64 tree and runs it under qemu-user
// with a sysroot made from arm64 Debian packages.
func TestBuildLinuxARM64(t *testing.T) {
	testtool.Need(t, "qemu-aarch64-static")
	work := t.TempDir()
	e := env(t)
	rep := parseReport(t, mustRun(t, work, e, "build", "--target", "linux-arm64", "--json").stdout)
	if rep.Smoke == nil || !rep.Smoke.Emulated || rep.Smoke.Machine != "aarch64" {
		t.Fatalf("arm64 smoke report: %+v", rep.Smoke)
	}
	archive := filepath.Join(work, "dist", "pypy3.9-v7.3.11-aarch64.tar.bz2")
	where := t.TempDir()
	sh(t, where, e, "tar xjf "+archive)
	sysroots, _ := filepath.Glob(filepath.Join(testCache, "pypyctl", "sysroots", "arm64-*"))
	var sysroot string
	for _, s := range sysroots {
		if fi, err := os.Stat(s); err == nil && fi.IsDir() && !strings.HasSuffix(s, ".tmp") {
			sysroot = s
		}
	}
	if sysroot == "" {
		t.Fatal("no arm64 sysroot in the cache after the build")
	}
	got := sh(t, where, e, "qemu-aarch64-static -L "+sysroot+" pypy3.9-v7.3.11-aarch64/bin/pypy3 -c 'import sys, ssl, sqlite3, platform; print(sys.implementation.name, platform.machine())'")
	if !strings.Contains(got, "pypy aarch64") {
		t.Fatalf("arm64 interpreter said %q", got)
	}
}

// TestBuildSignVerify: `build --sign` signs every archive and SHA256SUMS
// without changing them; pypyctl verify and openssl (a second
// implementation) accept the signatures, and a flipped byte is refused.
func TestBuildSignVerify(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	mustRun(t, work, e, "keys", "generate", "--out", "k")
	mustRun(t, work, e, "build", "--target", "linux-amd64", "--sign", "--key", "k/pypyctl.key")
	archive := "dist/pypy3.9-v7.3.11-linux64.tar.bz2"
	prov := "dist/pypy3.9-v7.3.11-linux64.intoto.jsonl"
	sbom := "dist/pypy3.9-v7.3.11-linux64.cdx.json"
	out := mustRun(t, work, e, "verify", archive, sbom, "dist/SHA256SUMS", "--key", "k/pypyctl.pub", "--json")
	if !strings.Contains(out.stdout, `"provenance"`) {
		t.Errorf("verify did not check the provenance:\n%s", out.stdout)
	}
	sh(t, filepath.Join(work, "dist"), e, "sha256sum -c SHA256SUMS && grep -q intoto.jsonl SHA256SUMS && grep -q cdx.json SHA256SUMS")
	sh(t, work, e, "base64 -d "+archive+".sig > sig.der && openssl dgst -sha256 -verify k/pypyctl.pub -signature sig.der "+archive)
	// The provenance names the archive and the SBOM by digest; cosign,
	// when built, checks the DSSE envelope as a second implementation.
	stmt := sh(t, work, e, "head -1 "+prov+" | python3 -c 'import sys,json,base64; print(base64.b64decode(json.load(sys.stdin)[\"payload\"]).decode())'")
	for _, f := range []string{archive, sbom} {
		sum := strings.Fields(sh(t, work, e, "sha256sum "+f))[0]
		if !strings.Contains(stmt, sum) {
			t.Errorf("provenance does not name %s (sha256 %s):\n%s", f, sum, stmt)
		}
	}
	if cosign := cosignBinary(); cosign != "" {
		sh(t, work, e, cosign+" verify-blob-attestation --key k/pypyctl.pub --signature "+prov+" --type slsaprovenance1 --insecure-ignore-tlog "+archive)
	}
	sh(t, work, e, "cp "+archive+" bad.tar.bz2 && printf 'x' | dd of=bad.tar.bz2 bs=1 seek=1000 conv=notrunc 2>/dev/null && cp bad.tar.bz2 "+archive)
	r := run(t, work, e, "verify", archive, "--key", "k/pypyctl.pub")
	if r.code != 1 || !strings.Contains(r.stderr+r.stdout, "pypy3.9-v7.3.11-linux64.tar.bz2") {
		t.Fatalf("flipped archive: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

// checkBuildSBOM validates the build's SBOM with the CycloneDX schema
// (python3-jsonschema) and checks it names the VM's Debian packages and
// the ensurepip wheels by purl.
func checkBuildSBOM(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`"specVersion": "1.6"`, "pkg:deb/debian/pypy3@7.3.11", "pkg:pypi/pip@23.0.1", "pkg:pypi/setuptools@66.1.1"}
	// The libraries the tree links, at the versions dpkg has installed.
	for _, pkg := range []string{"libssl3", "libsqlite3-0", "libffi8", "libexpat1"} {
		v := strings.ReplaceAll(strings.TrimSpace(string(mustOutput(t, "dpkg-query", "-W", "-f", "${Version}", pkg+":amd64"))), "+", "%2B")
		want = append(want, "pkg:deb/debian/"+pkg+"@"+v+"?arch=amd64")
	}
	for _, w := range want {
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("SBOM lacks %s", w)
		}
	}
	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/CycloneDX/cyclonedx-go").Output()
	if err != nil {
		t.Fatalf("locate cyclonedx-go's schemas: %v", err)
	}
	out, err := exec.Command("python3", "-W", "ignore", "../trust/sbom/testdata/validate_cyclonedx.py", filepath.Join(strings.TrimSpace(string(dir)), "schema"), path).CombinedOutput()
	if err != nil {
		t.Fatalf("SBOM schema validation: %v\n%s", err, out)
	}
}

func mustOutput(t *testing.T, argv ...string) []byte {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	return out
}
