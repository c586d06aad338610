//go:build integration

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

const releaseBaseURL = "https://downloads.example.invalid/pypy"

// releaseReport is the part of `pypyctl release --json` the tests read.
type releaseReport struct {
	Releases []string `json:"releases"`
	Targets  []struct {
		Release   string `json:"release"`
		Target    string `json:"target"`
		RecordHit bool   `json:"record_hit"`
		Stages    []struct {
			Name string `json:"name"`
			Hit  bool   `json:"store_hit"`
		} `json:"stages"`
		Files []struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"files"`
	} `json:"targets"`
	Aliases []string `json:"aliases"`
	Pruned  []string `json:"pruned"`
}

func parseRelease(t *testing.T, out string) releaseReport {
	t.Helper()
	var r releaseReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("release --json output is not JSON: %v\n%s", err, out)
	}
	return r
}

// builderEnv is a builder machine of its own: its own HOME and cache dir.
// Only the fetch caches of pinned, hash-checked inputs (.debs, the arm64
// sysroot) are linked in from the shared test cache, so the test does not
// download them again; every stage output lives in the store it is given.
func builderEnv(t *testing.T) []string {
	t.Helper()
	cache := t.TempDir()
	os.MkdirAll(filepath.Join(cache, "pypyctl"), 0o755)
	for _, d := range []string{"downloads", "sysroots"} {
		os.MkdirAll(filepath.Join(testCache, "pypyctl", d), 0o755)
		if err := os.Symlink(filepath.Join(testCache, "pypyctl", d), filepath.Join(cache, "pypyctl", d)); err != nil {
			t.Fatal(err)
		}
	}
	e := env(t)
	for i, kv := range e {
		if strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
			e[i] = "XDG_CACHE_HOME=" + cache
		}
	}
	return e
}

// readPublished maps every path under root (but the publish lock) to its
// bytes, or to its target for symlinks.
func readPublished(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Name() == ".pypyctl-publish.lock":
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			out[rel] = "symlink -> " + l
			return err
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		case fi.IsDir() && rel != ".":
			out[rel+"/"] = fi.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTrees(t *testing.T, a, b string) {
	t.Helper()
	ta, tb := readPublished(t, a), readPublished(t, b)
	for k, v := range ta {
		w, ok := tb[k]
		switch {
		case !ok:
			t.Errorf("%s is only in %s", k, a)
		case v != w:
			t.Errorf("%s differs between %s and %s", k, a, b)
		}
	}
	for k := range tb {
		if _, ok := ta[k]; !ok {
			t.Errorf("%s is only in %s", k, b)
		}
	}
	if len(ta) < 6 {
		t.Errorf("%s holds only %d entries", a, len(ta))
	}
}

// killDuring starts pypyctl and kills its process group as soon as a
// stderr line contains marker; it returns the stderr seen.
func killDuring(t *testing.T, dir string, environ []string, marker string, args ...string) string {
	t.Helper()
	cmd := exec.Command(pypyctl, args...)
	cmd.Dir, cmd.Env = dir, environ
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var seen strings.Builder
	found := false
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		seen.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), marker) {
			found = true
			// Our own child's group, by its pid.
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			break
		}
	}
	go func() { _, _ = bufio.NewReader(pipe).WriteTo(new(bytes.Buffer)) }()
	err = cmd.Wait()
	if !found {
		t.Fatalf("pypyctl %s finished (%v) before %q:\n%s", strings.Join(args, " "), err, marker, seen.String())
	}
	return seen.String()
}

// TestReleaseSplitMatchesSingle: a release of linux-amd64 + linux-arm64
// in one process, and the same release split over two builder processes
// (own HOME and cache each, sharing only a store) plus a merge process,
// publish byte-identical directories. The amd64 builder is killed
// mid-build; its rerun resumes from the store.
func TestReleaseSplitMatchesSingle(t *testing.T) {
	work := t.TempDir()
	single := filepath.Join(work, "single")
	// A store of its own, so the comparison is against a build from
	// scratch, not against entries earlier pypyctl versions left.
	rep := parseRelease(t, mustRun(t, work, builderEnv(t), "release", "--targets", "linux-amd64,linux-arm64", "--jobs", "2",
		"--to", single, "--base-url", releaseBaseURL, "--json").stdout)
	if len(rep.Targets) != 2 || len(rep.Releases) != 1 || rep.Releases[0] != "pypy3.9-v7.3.11" {
		t.Fatalf("single release report: %+v", rep)
	}
	sh(t, single, nil, "sha256sum -c SHA256SUMS >/dev/null && cd pypy3.9-v7.3.11 && sha256sum -c SHA256SUMS >/dev/null")

	shared := filepath.Join(t.TempDir(), "shared-store")
	rel := []string{"release", "--release", "pypy3.9-v7.3.11", "--store", shared, "--json"}

	// The merge refuses while builds are missing, naming them.
	res := run(t, work, env(t), "release", "--release", "pypy3.9-v7.3.11", "--from-store", shared, "--to", filepath.Join(work, "early"))
	if msg := lastLine(res.stderr); res.code != 1 || !strings.Contains(msg, "linux-amd64") || !strings.Contains(msg, "linux-arm64") {
		t.Fatalf("merge with nothing built: exit %d, stderr:\n%s", res.code, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "early", "versions.json")); err == nil {
		t.Fatal("a failed merge published a versions.json")
	}

	// Builder 1 (amd64) is killed while it compresses the archive.
	b1 := builderEnv(t)
	// (No --json here: the log lines on stderr tell when to kill it.)
	log := killDuring(t, work, b1, "archive:tar.bz2 building", "release", "--release", "pypy3.9-v7.3.11", "--store", shared, "--targets", "linux-amd64")
	t.Logf("killed builder 1 after:\n%s", log)
	rep1 := parseRelease(t, mustRun(t, work, b1, append(rel, "--targets", "linux-amd64")...).stdout)
	hits := map[string]bool{}
	for _, s := range rep1.Targets[0].Stages {
		hits[s.Name] = s.Hit
	}
	if rep1.Targets[0].RecordHit {
		t.Fatal("the killed builder left a record")
	}
	for _, st := range []string{"vm", "ensurepip", "assemble", "smoke"} {
		if !hits[st] {
			t.Errorf("rerun of the killed builder: stage %s was not a store hit (stages %+v)", st, rep1.Targets[0].Stages)
		}
	}
	if hits["archive:tar.bz2"] {
		t.Error("the archive the killed builder was compressing is a store hit")
	}

	// Only arm64 is missing now.
	res = run(t, work, env(t), "release", "--release", "pypy3.9-v7.3.11", "--from-store", shared, "--to", filepath.Join(work, "early"))
	if msg := lastLine(res.stderr); res.code != 1 || strings.Contains(msg, "linux-amd64") || !strings.Contains(msg, "linux-arm64") {
		t.Fatalf("merge with arm64 missing: exit %d, stderr:\n%s", res.code, res.stderr)
	}

	// Builder 2 (arm64): the single run smoked it under qemu already.
	mustRun(t, work, builderEnv(t), append(rel, "--targets", "linux-arm64", "--no-smoke")...)

	// The merge: a third machine with only the shared store.
	split := filepath.Join(work, "split")
	merged := parseRelease(t, mustRun(t, work, builderEnv(t), "release", "--release", "pypy3.9-v7.3.11", "--from-store", shared,
		"--to", split, "--base-url", releaseBaseURL, "--json").stdout)
	for _, tr := range merged.Targets {
		if !tr.RecordHit || len(tr.Stages) != 0 {
			t.Errorf("merge built %s: %+v", tr.Target, tr)
		}
	}
	sameTrees(t, single, split)

	// A rerun of the whole release over the shared store does no work.
	again := parseRelease(t, mustRun(t, work, builderEnv(t), append(rel, "--targets", "linux-amd64,linux-arm64")...).stdout)
	for _, tr := range again.Targets {
		if !tr.RecordHit {
			t.Errorf("rerun rebuilt %s", tr.Target)
		}
	}
}

// TestReleaseNightly names a nightly after a real git repository's HEAD
// (the VM is the Debian-imported 7.3.11 standing in for a translated
// nightly: translation cannot run here) and checks upstream's naming, the
// latest alias, the versions.json nightly entry and --keep.
func TestReleaseNightly(t *testing.T) {
	work := t.TempDir()
	src := filepath.Join(work, "pypy-src")
	os.MkdirAll(src, 0o755)
	genv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.invalid")
	sh(t, src, genv, "git init -q && for i in 1 2 3 4 5; do git commit -q --allow-empty -m c$i; done")
	dest := filepath.Join(work, "nightly")
	e := env(t)
	nightly := func() (releaseReport, string) {
		head := strings.TrimSpace(sh(t, src, genv, "git rev-parse HEAD"))
		count := strings.TrimSpace(sh(t, src, genv, "git rev-list --count HEAD"))
		r := parseRelease(t, mustRun(t, work, e, "release", "--nightly", "--source", src, "--targets", "linux-amd64", "--no-smoke",
			"--to", dest, "--base-url", releaseBaseURL, "--keep", "1", "--json").stdout)
		n, err := strconv.Atoi(count)
		if err != nil {
			t.Fatal(err)
		}
		return r, "pypy-c-jit-" + strconv.Itoa(n+1) + "-" + head[:12]
	}
	r1, name1 := nightly()
	if !strings.HasPrefix(name1, "pypy-c-jit-6-") {
		t.Fatalf("5 commits: nightly %s, want N = 1 + 5", name1)
	}
	archive := filepath.Join(dest, name1, name1+"-linux64.tar.bz2")
	sh(t, dest, nil, "bzip2 -t "+archive+" && cd "+name1+" && sha256sum -c SHA256SUMS >/dev/null")
	if l, err := os.Readlink(filepath.Join(dest, "pypy-c-jit-latest-linux64.tar.bz2")); err != nil || l != name1+"/"+name1+"-linux64.tar.bz2" {
		t.Fatalf("latest alias -> %q, %v", l, err)
	}
	if len(r1.Aliases) != 1 {
		t.Errorf("aliases %v", r1.Aliases)
	}
	var ix []map[string]any
	b, _ := os.ReadFile(filepath.Join(dest, "versions.json"))
	if err := json.Unmarshal(b, &ix); err != nil || len(ix) != 1 {
		t.Fatalf("versions.json: %v\n%s", err, b)
	}
	v := ix[0]
	if v["pypy_version"] != "nightly" || v["python_version"] != "3.9" || v["stable"] != false || v["latest_pypy"] != false || v["date"] != nil {
		t.Fatalf("nightly entry: %s", b)
	}
	files := v["files"].([]any)
	f := files[0].(map[string]any)
	if len(files) != 1 || f["filename"] != name1+"-linux64.tar.bz2" || f["arch"] != "x64" || f["platform"] != "linux" ||
		f["download_url"] != releaseBaseURL+"/"+name1+"/"+name1+"-linux64.tar.bz2" {
		t.Fatalf("nightly files: %s", b)
	}

	// A new commit: the next nightly replaces the entry, the alias moves,
	// and --keep 1 prunes the first.
	sh(t, src, genv, "git commit -q --allow-empty -m next")
	r2, name2 := nightly()
	if len(r2.Pruned) != 1 || r2.Pruned[0] != name1 {
		t.Fatalf("pruned %v, want %s", r2.Pruned, name1)
	}
	if _, err := os.Stat(filepath.Join(dest, name1)); !os.IsNotExist(err) {
		t.Fatalf("%s still published: %v", name1, err)
	}
	if l, _ := os.Readlink(filepath.Join(dest, "pypy-c-jit-latest-linux64.tar.bz2")); l != name2+"/"+name2+"-linux64.tar.bz2" {
		t.Fatalf("latest alias -> %q after the second nightly", l)
	}
	b, _ = os.ReadFile(filepath.Join(dest, "versions.json"))
	if bytes.Contains(b, []byte(name1)) || !bytes.Contains(b, []byte(name2)) {
		t.Fatalf("versions.json after pruning:\n%s", b)
	}
	sh(t, dest, nil, "sha256sum -c SHA256SUMS >/dev/null")
}

// lastLine is the error line pypyctl ends a failure with.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// TestReleaseSigned: --sign signs every published file and SHA256SUMS,
// and `pypyctl verify` accepts them with the public key.
func TestReleaseSigned(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	mustRun(t, work, e, "keys", "generate", "--out", "keys")
	pub := filepath.Join(work, "pub")
	mustRun(t, work, e, "release", "--targets", "linux-amd64", "--no-smoke", "--sign", "--key", filepath.Join(work, "keys", "pypyctl.key"), "--to", pub)
	dir := filepath.Join(pub, "pypy3.9-v7.3.11")
	for _, f := range []string{"pypy3.9-v7.3.11-linux64.tar.bz2", "pypy3.9-v7.3.11-linux64.cdx.json", "SHA256SUMS"} {
		for _, ext := range []string{"", ".sig", ".sigstore.json"} {
			if _, err := os.Stat(filepath.Join(dir, f+ext)); err != nil {
				t.Errorf("not published: %v", err)
			}
		}
	}
	// The index is signed too: installs trusting the key refuse a
	// replayed older one (docs/trust.md).
	mustRun(t, work, e, "verify", filepath.Join(pub, "versions.json"), "--key", filepath.Join(work, "keys", "pypyctl.pub"))
	out := mustRun(t, work, e, "verify", filepath.Join(dir, "pypy3.9-v7.3.11-linux64.tar.bz2"), filepath.Join(dir, "pypy3.9-v7.3.11-linux64.cdx.json"),
		"--key", filepath.Join(work, "keys", "pypyctl.pub"), "--json")
	// The merge wrote the target's signed provenance, and verify checked
	// that it names the archive; it lists the .debs the VM came from.
	if !strings.Contains(out.stdout, `"provenance"`) {
		t.Errorf("verify did not check provenance:\n%s", out.stdout)
	}
	stmt := sh(t, dir, e, "head -1 pypy3.9-v7.3.11-linux64.intoto.jsonl | python3 -c 'import sys,json,base64; print(base64.b64decode(json.load(sys.stdin)[\"payload\"]).decode())'")
	for _, w := range []string{"pypy3.9-v7.3.11-linux64.tar.bz2", "pkg:deb/debian/pypy3@7.3.11", "pkg:pypi/pip@23.0.1"} {
		if !strings.Contains(stmt, w) {
			t.Errorf("provenance lacks %s:\n%s", w, stmt)
		}
	}
	// Another key must not verify.
	mustRun(t, work, e, "keys", "generate", "--out", "other")
	if r := run(t, work, e, "verify", filepath.Join(dir, "pypy3.9-v7.3.11-linux64.tar.bz2"), "--key", filepath.Join(work, "other", "pypyctl.pub")); r.code == 0 {
		t.Fatalf("verify with another key passed:\n%s", r.stdout)
	}
}

// TestPlainBuildIsRecorded: a CI builder job may run plain `pypyctl build
// --store S`; the merge job's `release --from-store S` must find it, and
// must refuse a target whose formats were never built.
func TestPlainBuildIsRecorded(t *testing.T) {
	work := t.TempDir()
	e := env(t)
	store := filepath.Join(testCache, "pypyctl", "store")
	mustRun(t, work, e, "build", "--target", "linux-amd64", "--formats", "tar.gz", "--store", store)
	pub := filepath.Join(work, "pub")
	rep := parseRelease(t, mustRun(t, work, e, "release", "--targets", "linux-amd64", "--formats", "tar.gz",
		"--from-store", store, "--to", pub, "--json").stdout)
	if len(rep.Targets) != 1 || !rep.Targets[0].RecordHit {
		t.Fatalf("merge did not find the build's record: %+v", rep.Targets)
	}
	got, err := os.ReadFile(filepath.Join(work, "dist", "pypy3.9-v7.3.11-linux64.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(pub, "pypy3.9-v7.3.11", "pypy3.9-v7.3.11-linux64.tar.gz"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("published archive differs from the build's (%v)", err)
	}
	r := run(t, work, e, "release", "--targets", "linux-amd64", "--formats", "zip", "--from-store", store, "--to", filepath.Join(work, "pub2"))
	if r.code != 1 || !strings.Contains(r.stderr, "linux-amd64") {
		t.Fatalf("merge of a never-built format: exit %d\n%s", r.code, r.stderr)
	}
}

// TestReleaseDistroOutputs: --brew-tap and --apt-repo turn the published
// release into a Homebrew formula (ruby parses it, and it points at the
// published archive by sha256) and a signed apt repository (gpg accepts
// InRelease; the pool holds the target's .deb).
func TestReleaseDistroOutputs(t *testing.T) {
	needTools(t, "ruby", "gpg")
	work := t.TempDir()
	e := env(t)
	mustRun(t, work, e, "keys", "generate", "--openpgp", "--out", "pgp")
	pub, tap, repo := filepath.Join(work, "pub"), filepath.Join(work, "tap"), filepath.Join(work, "apt")
	rep := parseRelease(t, mustRun(t, work, e, "release", "--targets", "linux-amd64", "--formats", "tar.gz", "--no-smoke",
		"--to", pub, "--base-url", releaseBaseURL, "--brew-tap", tap, "--apt-repo", repo, "--apt-key", "pgp/apt.key", "--json").stdout)
	if len(rep.Targets) != 1 {
		t.Fatalf("targets: %+v", rep.Targets)
	}
	formula := filepath.Join(tap, "Formula", "pypy@3.9.rb")
	sh(t, work, e, "ruby -c "+formula)
	sum := strings.Fields(sh(t, work, e, "sha256sum "+filepath.Join(pub, "pypy3.9-v7.3.11", "pypy3.9-v7.3.11-linux64.tar.gz")))[0]
	if b, _ := os.ReadFile(formula); !strings.Contains(string(b), sum) {
		t.Errorf("formula does not pin the published archive %s:\n%s", sum, b)
	}
	home := t.TempDir()
	sh(t, work, e, "gpg --homedir "+home+" --batch -q --import pgp/apt.asc && gpg --homedir "+home+" --batch --verify "+filepath.Join(repo, "dists", "stable", "InRelease"))
	debs := sh(t, repo, e, "find pool -name '*.deb'")
	if !strings.Contains(debs, "_amd64.deb") {
		t.Fatalf("no amd64 .deb in the pool:\n%s", debs)
	}
}

// TestReleaseWheels: a matrix whose release lists a cffi project under
// wheels: gets its repaired manylinux wheel built with the release's PyPy,
// listed in SHA256SUMS and published in the release directory.
func TestReleaseWheels(t *testing.T) {
	needTools(t, "cc", "patchelf")
	work := t.TempDir()
	e := env(t)
	src, err := filepath.Abs("../wheels/testdata/sqlitever")
	if err != nil {
		t.Fatal(err)
	}
	m, err := os.ReadFile("../platforms/matrix.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const anchor = "  - name: pypy3.9-v7.3.11\n"
	if !bytes.Contains(m, []byte(anchor)) {
		t.Fatal("matrix.yaml no longer has the default release where the test expects it")
	}
	m = bytes.Replace(m, []byte(anchor), []byte(anchor+"    wheels:\n      - {name: sqlitever, path: "+src+", repair: true}\n"), 1)
	mpath := filepath.Join(work, "matrix.yaml")
	os.WriteFile(mpath, m, 0o644)
	pub := filepath.Join(work, "pub")
	out := mustRun(t, work, e, "--matrix", mpath, "release", "--targets", "linux-amd64", "--formats", "tar.gz", "--no-smoke", "--to", pub, "--json")
	if !strings.Contains(out.stdout, "manylinux_") {
		t.Fatalf("release report names no repaired wheel:\n%s", out.stdout)
	}
	dir := filepath.Join(pub, "pypy3.9-v7.3.11")
	whl, _ := filepath.Glob(filepath.Join(dir, "sqlitever-1.0-pp39-pypy39_pp73-manylinux_*_x86_64.whl"))
	if len(whl) != 1 {
		ls, _ := os.ReadDir(dir)
		t.Fatalf("published wheel: %v (dir has %v)", whl, ls)
	}
	sh(t, dir, e, "sha256sum -c SHA256SUMS && grep -q sqlitever SHA256SUMS")
	mustRun(t, work, e, "wheels", "check", whl[0])
}
