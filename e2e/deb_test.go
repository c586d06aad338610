//go:build integration

package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testtool"
)

// debReport is the part of `package deb --json` the tests read.
type debReport struct {
	Path         string   `json:"path"`
	Package      string   `json:"package"`
	Version      string   `json:"version"`
	Architecture string   `json:"architecture"`
	Prefix       string   `json:"prefix"`
	Depends      []string `json:"depends"`
	SHA256       string   `json:"sha256"`
}

func needDebTools(t *testing.T, tools ...string) {
	t.Helper()
	testtool.Need(t, tools...)
}

func hostTargetName(t *testing.T) string {
	t.Helper()
	name := map[string]string{"amd64": "linux-amd64", "arm64": "linux-arm64"}[runtime.GOARCH]
	if name == "" {
		// Safe skip: it depends on the host CPU, not on the setup; CI runs on amd64.
		t.Skipf("the default release has no target for %s", runtime.GOARCH)
	}
	return name
}

// TestDebPackage builds the default release's .deb for this machine and
// checks it the way a distro packager would: dpkg-deb and lintian on the
// real package, and byte equality of a second build.
func TestDebPackage(t *testing.T) {
	needDebTools(t, "dpkg-deb", "lintian")
	work := t.TempDir()
	e := env(t)
	target := hostTargetName(t)
	out := mustRun(t, work, e, "--json", "package", "deb", "--target", target, "--out", "debs")
	var rep debReport
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatalf("package deb --json: %v\n%s", err, out.stdout)
	}
	if rep.Package != "pypy3.9-v7.3.11" || rep.Version != "7.3.11-1" || rep.Prefix != "/opt/pypy/pypy3.9-v7.3.11" {
		t.Errorf("report %+v", rep)
	}
	info := sh(t, work, e, "dpkg-deb -I "+rep.Path)
	for _, want := range []string{"Package: pypy3.9-v7.3.11", "Version: 7.3.11-1", "Architecture: " + rep.Architecture,
		"Section: interpreters", "Priority: optional", "Homepage: https://www.pypy.org/", "Installed-Size: ",
		"libssl3 (>= 3.0.0)", "libsqlite3-0 (>= 3.7.15)", "libc6 (>= 2.35)"} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb -I lacks %q:\n%s", want, info)
		}
	}
	contents := sh(t, work, e, "dpkg-deb -c "+rep.Path)
	for _, want := range []string{
		`-rwxr-xr-x root/root +\d+ 2022-12-29 00:00 \./opt/pypy/pypy3\.9-v7\.3\.11/bin/pypy3\.9\n`,
		`\./opt/pypy/pypy3\.9-v7\.3\.11/bin/libpypy3\.9-c\.so\n`,
		`\./opt/pypy/pypy3\.9-v7\.3\.11/lib/pypy3\.9/ssl\.py\n`,
		`\./opt/pypy/pypy3\.9-v7\.3\.11/lib/pypy3\.9/_sqlite3_cffi\.pypy39-pp73-[a-z0-9_]+-linux-gnu\.so\n`,
		`\./opt/pypy/pypy3\.9-v7\.3\.11/include/pypy3\.9/Python\.h\n`,
		`\./usr/share/doc/pypy3\.9-v7\.3\.11/copyright\n`,
		`\./usr/share/doc/pypy3\.9-v7\.3\.11/changelog\.Debian\.gz\n`,
	} {
		if !regexp.MustCompile(want).MatchString(contents) {
			t.Errorf("dpkg-deb -c lacks %s", want)
		}
	}
	if strings.Contains(contents, "/__pycache__/") || strings.Contains(contents, ".pyc\n") {
		t.Error("the package ships bytecode")
	}

	// lintian on the real package: errors and warnings must all be fixed
	// or overridden by the overrides the package ships.
	lint := exec.Command("lintian", "--no-cfg", "--no-tag-display-limit", rep.Path)
	lout, lerr := lint.CombinedOutput()
	for _, line := range strings.Split(string(lout), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			t.Errorf("lintian: %s", line)
		}
	}
	if lerr != nil && !t.Failed() {
		t.Errorf("lintian exited %v:\n%s", lerr, lout)
	}

	// A second build from the same tree, in another directory, gives the
	// same bytes.
	out2 := mustRun(t, t.TempDir(), env(t, "TZ=Pacific/Auckland"), "--json", "package", "deb", "--target", target, "--out", "again")
	var rep2 debReport
	if err := json.Unmarshal([]byte(out2.stdout), &rep2); err != nil {
		t.Fatal(err)
	}
	if rep2.SHA256 != rep.SHA256 {
		t.Errorf("two builds differ: %s vs %s", rep.SHA256, rep2.SHA256)
	}
}

// debianMirror is the Debian mirror the machine's apt uses for bookworm.
func debianMirror(t *testing.T) string {
	t.Helper()
	if f, err := os.Open("/etc/apt/sources.list.d/debian.sources"); err == nil {
		defer f.Close()
		var uri string
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if v, ok := strings.CutPrefix(line, "URIs:"); ok {
				uri = strings.Fields(v)[0]
			}
			if v, ok := strings.CutPrefix(line, "Suites:"); ok && uri != "" {
				for _, s := range strings.Fields(v) {
					if s == "bookworm" {
						return uri
					}
				}
			}
			if line == "" {
				uri = ""
			}
		}
	}
	if b, err := os.ReadFile("/etc/apt/sources.list"); err == nil {
		if m := regexp.MustCompile(`(?m)^deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s`).FindSubmatch(b); m != nil {
			return string(m[1])
		}
	}
	return "http://deb.debian.org/debian"
}

// bookwormRoot returns a fresh Debian bookworm root (debootstrap
// --variant=minbase), unpacked from a tarball cached under the test
// cache; the first run makes the tarball.
func bookwormRoot(t *testing.T) string {
	t.Helper()
	needDebTools(t, "debootstrap", "tar")
	mirror := debianMirror(t)
	arch := strings.TrimSpace(sh(t, "", nil, "dpkg --print-architecture"))
	sum := sha256.Sum256([]byte(mirror))
	cache := filepath.Join(testCache, "rootfs", fmt.Sprintf("bookworm-minbase-%s-%s.tar", arch, hex.EncodeToString(sum[:4])))
	if _, err := os.Stat(cache); err != nil {
		if err := os.MkdirAll(filepath.Dir(cache), 0o755); err != nil {
			t.Fatal(err)
		}
		build := t.TempDir()
		t.Logf("debootstrap --variant=minbase bookworm from %s (cached as %s)", mirror, cache)
		sh(t, "", os.Environ(), fmt.Sprintf("debootstrap --variant=minbase --arch=%s bookworm %s/root %s >%s/log 2>&1 || { tail -20 %s/log; exit 1; }", arch, build, mirror, build, build))
		sh(t, "", nil, fmt.Sprintf("tar -C %s/root --numeric-owner -cf %s.tmp . && mv %s.tmp %s", build, cache, cache, cache))
	}
	root := filepath.Join(t.TempDir(), "root")
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	sh(t, "", nil, fmt.Sprintf("tar -C %s --numeric-owner -xpf %s", root, cache))
	return root
}

// inChroot runs script with /bin/sh inside root, in a private mount
// namespace (unshare -m): /proc, /dev and the bind mounts exist only for
// that process tree, so nothing is left mounted whatever happens.
func inChroot(t *testing.T, root string, binds map[string]string, script string) (string, error) {
	t.Helper()
	var setup strings.Builder
	setup.WriteString(`set -e; R="$1"; mount -t proc proc "$R/proc"; mount --rbind /dev "$R/dev"; cp /etc/resolv.conf "$R/etc/resolv.conf"; `)
	for dst, src := range binds {
		fmt.Fprintf(&setup, `mkdir -p "$R%s"; mount --bind %q "$R%s"; mount -o remount,bind,ro "$R%s"; `, dst, src, dst, dst)
	}
	setup.WriteString(`exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive /bin/sh -ec "$2"`)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c", setup.String(), "sh", root, script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestAptRepositoryInChroot: the generated repository, trusted through
// signed-by= its exported key, installs the package with its Debian
// dependencies in a minimal bookworm; the interpreter runs; Debian's own
// pypy3 installs beside it; purging leaves nothing in /opt; and a
// tampered Release makes apt-get update fail.
func TestAptRepositoryInChroot(t *testing.T) {
	testtool.NeedRoot(t) // debootstrap and chroot
	needDebTools(t, "unshare", "chroot", "gpgv")
	work := t.TempDir()
	os.Chmod(work, 0o755)
	e := env(t)
	target := hostTargetName(t)
	out := mustRun(t, work, e, "--json", "package", "deb", "--target", target, "--out", "debs")
	var rep debReport
	if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	mustRun(t, work, e, "package", "apt", "key", "--out", "keys")
	mustRun(t, work, e, "package", "apt", "--from", "debs", "--to", "repo", "--suite", "pypyctl", "--key", "keys/apt.key")
	repo := filepath.Join(work, "repo")
	keyring := filepath.Join(repo, "pypyctl-archive-keyring.gpg")
	sh(t, work, nil, "gpgv --keyring "+keyring+" repo/dists/pypyctl/InRelease")

	// A copy whose signed Release text was changed after signing.
	sh(t, work, nil, `cp -a repo tampered && sed -i 's/^Label: pypyctl$/Label: pypyctl-evil/' tampered/dists/pypyctl/InRelease tampered/dists/pypyctl/Release && grep -q pypyctl-evil tampered/dists/pypyctl/InRelease`)

	// Debian's own pypy3 packages, pinned and already fetched by the build.
	debianDebs := filepath.Join(testCache, "pypyctl", "downloads", "debian")
	own, _ := filepath.Glob(filepath.Join(debianDebs, "pypy3_*_"+rep.Architecture+".deb"))
	lib, _ := filepath.Glob(filepath.Join(debianDebs, "pypy3-lib_*_"+rep.Architecture+".deb"))
	if len(own) != 1 || len(lib) != 1 {
		t.Fatalf("Debian's pypy3 packages are not in %s: %v %v", debianDebs, own, lib)
	}

	root := bookwormRoot(t)
	binds := map[string]string{"/srv/repo": repo, "/srv/tampered": filepath.Join(work, "tampered"), "/srv/keys": filepath.Join(work, "repo"), "/srv/debian": debianDebs}
	step := func(name, script string) string {
		t.Helper()
		out, err := inChroot(t, root, binds, script)
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, out)
		}
		return out
	}

	step("trust the repository", `
		install -d /etc/apt/keyrings
		cp /srv/keys/pypyctl-archive-keyring.gpg /etc/apt/keyrings/pypyctl.gpg
		echo "deb [signed-by=/etc/apt/keyrings/pypyctl.gpg] file:/srv/repo pypyctl main" > /etc/apt/sources.list.d/pypyctl.list
		echo "deb [signed-by=/etc/apt/keyrings/pypyctl.gpg] file:/srv/tampered pypyctl main" > /etc/apt/tampered.list`)
	upd := step("apt-get update", `apt-get update`)
	if !strings.Contains(upd, "file:/srv/repo pypyctl InRelease") {
		t.Errorf("apt-get update did not read the repository's InRelease:\n%s", upd)
	}
	inst := step("apt-get install", `apt-get install -y --no-install-recommends `+rep.Package)
	// minbase lacks these; they must come from the Debian mirror.
	for _, dep := range []string{"libssl3", "libsqlite3-0", "libgdbm6", "libexpat1"} {
		if !regexp.MustCompile(`Get:\d+ https?://\S+ bookworm\S* \S+ ` + regexp.QuoteMeta(dep) + ` `).MatchString(inst) {
			t.Errorf("apt-get install did not pull %s from the mirror:\n%s", dep, inst)
		}
	}
	run := step("run the interpreter", `
		pypy3.9 -c 'import ssl, sqlite3; print("ok", ssl.OPENSSL_VERSION, sqlite3.sqlite_version)'
		pypy3 -c 'import sys; print(sys.executable)'
		readlink -f /usr/bin/pypy3.9
		update-alternatives --query pypy3 | grep -E '^(Value|Priority):'
		pypy3.9 -m venv --without-pip /tmp/venv && /tmp/venv/bin/python -c 'import sys; print("venv", sys.prefix)'
		pypy3.9 -c 'import json, email.parser'  # writes __pycache__ into /opt as root
		find /opt/pypy -name __pycache__ | grep -q . && echo "caches written"`)
	for _, want := range []string{"ok OpenSSL 3.", "/opt/pypy/pypy3.9-v7.3.11/bin/pypy3.9", "Priority: 90703119", "venv /tmp/venv", "caches written"} {
		if !strings.Contains(run, want) {
			t.Errorf("interpreter output lacks %q:\n%s", want, run)
		}
	}

	// Debian's pypy3 owns /usr/bin/pypy3.9 and /usr/bin/pypy3 as files:
	// it installs beside ours without a dpkg conflict and takes them over.
	both := step("install Debian's pypy3 beside it", `
		cp /srv/debian/`+filepath.Base(own[0])+` /srv/debian/`+filepath.Base(lib[0])+` /tmp/
		apt-get install -y --no-install-recommends /tmp/`+filepath.Base(own[0])+` /tmp/`+filepath.Base(lib[0])+`
		test ! -L /usr/bin/pypy3.9 && echo "debian owns pypy3.9"
		/opt/pypy/pypy3.9-v7.3.11/bin/pypy3.9 -c 'import sqlite3; print("ours still runs")'`)
	for _, want := range []string{"debian owns pypy3.9", "ours still runs"} {
		if !strings.Contains(both, want) {
			t.Errorf("coexistence: lacks %q:\n%s", want, both)
		}
	}
	purge := step("purge ours", `
		apt-get purge -y `+rep.Package+`
		test ! -e /opt/pypy/pypy3.9-v7.3.11 && echo "tree gone"
		pypy3.9 -c 'import sys; print("debian pypy", sys.pypy_version_info[:3])'`)
	for _, want := range []string{"tree gone", "debian pypy (7, 3, 11)"} {
		if !strings.Contains(purge, want) {
			t.Errorf("purge: lacks %q:\n%s", want, purge)
		}
	}

	// The tampered copy: apt must refuse it.
	bad, err := inChroot(t, root, binds, `apt-get -o Dir::Etc::SourceList=/etc/apt/tampered.list -o Dir::Etc::SourceParts=/nonexistent update`)
	if err == nil {
		t.Fatalf("apt-get update accepted a tampered InRelease:\n%s", bad)
	}
	if !strings.Contains(bad, "BADSIG") && !strings.Contains(bad, "not signed") {
		t.Errorf("apt-get update failed, but not on the signature:\n%s", bad)
	}
}

// TestBrewFormulaRuns builds the host target's archive, writes the
// release's formula from dist/SHA256SUMS, and runs the formula's own
// install and test blocks (with testdata/harness.rb standing in for
// Homebrew) on the unpacked archive: the real interpreter answers.
func TestBrewFormulaRuns(t *testing.T) {
	needDebTools(t, "ruby", "tar", "sha256sum")
	work := t.TempDir()
	e := env(t)
	target := hostTargetName(t)
	mustRun(t, work, e, "build", "--target", target, "--formats", "tar.bz2", "--out", "dist")
	dist := filepath.Join(work, "dist")
	base := "file://" + dist
	mustRun(t, work, e, "package", "brew", "--release", "pypy3.9-v7.3.11", "--to", "tap", "--from", "dist", "--base-url", base, "--allow-missing")
	formula := filepath.Join(work, "tap", "Formula", "pypy@3.9.rb")
	if out := sh(t, work, nil, "ruby -c "+formula); !strings.Contains(out, "Syntax OK") {
		t.Fatalf("ruby -c: %s", out)
	}
	archive := map[string]string{"linux-amd64": "pypy3.9-v7.3.11-linux64.tar.bz2", "linux-arm64": "pypy3.9-v7.3.11-aarch64.tar.bz2"}[target]
	sum := strings.Fields(sh(t, dist, nil, "sha256sum "+archive))[0]
	body, _ := os.ReadFile(formula)
	if !regexp.MustCompile(`url "` + regexp.QuoteMeta(base+"/"+archive) + `"\s+sha256 "` + sum + `"`).Match(body) {
		t.Errorf("formula does not pair %s with its sha256 %s:\n%s", archive, sum, body)
	}
	src := filepath.Join(work, "src")
	sh(t, work, nil, "mkdir src && tar -C src -xjf dist/"+archive)
	cpu := map[string]string{"linux-amd64": "intel", "linux-arm64": "arm"}[target]
	harness, _ := filepath.Abs("../packaging/brew/testdata/harness.rb")
	out := sh(t, work, nil, fmt.Sprintf("ruby %s install %s PypyAT39 linux %s %s/%s %s/prefix", harness, formula, cpu, src, strings.TrimSuffix(archive, ".tar.bz2"), work))
	if !strings.Contains(out, "install and test passed") {
		t.Fatalf("formula install/test:\n%s", out)
	}
}
