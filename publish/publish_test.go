package publish

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish/index"
)

// dist writes a build output directory: the named files with the given
// contents, SHA256SUMS over the archives, and release metadata.
type distFile struct {
	target, name, arch, platform string
	content                      string
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func makeDist(t *testing.T, dir string, r Release, files []distFile, extra map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	listed := sums.Sums{}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, format, _ := index.SplitFormat(f.name)
		r.Files = append(r.Files, ReleaseFile{Target: f.target, Filename: f.name, Format: format, Arch: f.arch, Platform: f.platform, SHA256: sum(f.content)})
		listed[f.name] = sum(f.content)
	}
	if err := os.WriteFile(filepath.Join(dir, sums.Name), listed.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	for n, c := range extra {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteRelease(dir, r); err != nil {
		t.Fatal(err)
	}
}

var (
	rel311 = Release{Name: "pypy3.11-v7.3.20", PyPyVersion: "7.3.20", PythonVersion: "3.11.13", Date: "2025-07-04", Stable: true}
	rel27  = Release{Name: "pypy2.7-v7.3.20", PyPyVersion: "7.3.20", PythonVersion: "2.7.18", Date: "2025-07-04", Stable: true}
	rel39  = Release{Name: "pypy3.9-v7.3.11", PyPyVersion: "7.3.11", PythonVersion: "3.9.16", Date: "2022-12-29", Stable: true}
)

func files311(tag string) []distFile {
	return []distFile{
		{"linux-amd64", "pypy3.11-v7.3.20-linux64.tar.bz2", "x64", "linux", "linux64 " + tag},
		{"linux-arm64", "pypy3.11-v7.3.20-aarch64.tar.gz", "aarch64", "linux", "aarch64 " + tag},
	}
}

func readIndex(t *testing.T, dest string) index.Index {
	t.Helper()
	ix, err := index.ReadFile(filepath.Join(dest, VersionsJSON))
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func sha256sumCheck(t *testing.T, dir string) {
	t.Helper()
	testtool.Need(t, "sha256sum")
	cmd := exec.Command("sha256sum", "--strict", "-c", sums.Name)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sha256sum -c in %s: %v\n%s", dir, err, out)
	}
}

func TestPublish(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dist, dest := filepath.Join(tmp, "dist"), filepath.Join(tmp, "public")
	makeDist(t, dist, rel311, files311("a"), map[string]string{
		"pypy3.11-v7.3.20-linux64.tar.bz2.sig": "c2ln",
		"pypy3.11-v7.3.20-linux64.cdx.json":    "{}",
		"pypy3.11-v7.3.20-linux64.tar.xz":      "an unlisted archive",
		"pypy3.9-v7.3.11-linux64.cdx.json":     "{}",
		"notes.txt":                            "not ours",
	})
	rep, err := Publish(ctx, Options{Dist: dist, Dest: dest, BaseURL: "https://dl.example.org/pypy/"})
	if err != nil {
		t.Fatal(err)
	}
	relDir := filepath.Join(dest, "pypy3.11-v7.3.20")
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"pypy3.11-v7.3.20-linux64.tar.bz2", true},
		{"pypy3.11-v7.3.20-aarch64.tar.gz", true},
		{"pypy3.11-v7.3.20-linux64.tar.bz2.sig", true},
		{"pypy3.11-v7.3.20-linux64.cdx.json", true},
		{sums.Name, true},
		{"pypy3.11-v7.3.20-linux64.tar.xz", false},
		{"pypy3.9-v7.3.11-linux64.cdx.json", false},
		{"notes.txt", false},
		{"pypy3.11-v7.3.20" + ReleaseSuffix, false},
	} {
		_, err := os.Stat(filepath.Join(relDir, tt.name))
		if (err == nil) != tt.want {
			t.Errorf("%s present = %v, want %v", tt.name, err == nil, tt.want)
		}
	}
	ix := readIndex(t, dest)
	if len(ix) != 1 || !ix[0].LatestPyPy || !ix[0].Stable || ix[0].Date != "2025-07-04" || len(ix[0].Files) != 2 {
		t.Fatalf("versions.json = %+v", ix)
	}
	f := ix[0].Files[1]
	if f.Filename != "pypy3.11-v7.3.20-linux64.tar.bz2" || f.Arch != "x64" || f.Platform != "linux" ||
		f.DownloadURL != "https://dl.example.org/pypy/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.bz2" || f.SHA256 != sum("linux64 a") {
		t.Errorf("file entry = %+v", f)
	}
	data, err := os.ReadFile(filepath.Join(dest, DownloadMetadata))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := index.ParseUVCatalogue(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	uvx := cat["pypy-3.11.13-linux-x86_64-gnu"]
	if uvx.Build != "7.3.20" || uvx.URL != f.DownloadURL || uvx.SHA256 == nil || *uvx.SHA256 != f.SHA256 || len(cat) != 2 {
		t.Errorf("download-metadata = %s", data)
	}
	sha256sumCheck(t, relDir)
	sha256sumCheck(t, dest)
	if len(rep.Releases) != 1 || len(rep.Releases[0].Files) != 4 {
		t.Errorf("report = %+v", rep.Releases)
	}

	// Publishing the same bytes again changes nothing.
	before := snapshot(t, dest)
	rep, err = Publish(ctx, Options{Dist: dist, Dest: dest, BaseURL: "https://dl.example.org/pypy"})
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range rep.Releases[0].Files {
		if fr.Copied {
			t.Errorf("%s copied again", fr.Name)
		}
	}
	if after := snapshot(t, dest); after != before {
		t.Errorf("identical republish changed DEST:\n%s\n---\n%s", before, after)
	}

	// Other bytes under a published name are refused and change nothing.
	dist2 := filepath.Join(tmp, "dist2")
	makeDist(t, dist2, rel311, files311("b"), nil)
	_, err = Publish(ctx, Options{Dist: dist2, Dest: dest, BaseURL: "https://dl.example.org/pypy"})
	var oe *OverwriteError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v, want OverwriteError", err)
	}
	if after := snapshot(t, dest); after != before {
		t.Error("refused publish changed DEST")
	}
}

// snapshot lists every file in dir with its digest.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if d.Type().IsRegular() && d.Name() != lockName {
			s, _, _ := fsutil.SHA256File(p)
			rel, _ := filepath.Rel(dir, p)
			b.WriteString(rel + " " + s + "\n")
		}
		return nil
	})
	return b.String()
}

func TestPublishMergeOrderAndLatest(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "public")
	steps := []struct {
		rel   Release
		files []distFile
	}{
		{rel39, []distFile{{"linux-amd64", "pypy3.9-v7.3.11-linux64.tar.bz2", "x64", "linux", "39"}}},
		{rel27, []distFile{{"linux-amd64", "pypy2.7-v7.3.20-linux64.tar.bz2", "x64", "linux", "27"}}},
		{rel311, files311("x")},
		{Release{Name: "pypy3.11-v7.3.21rc1", PyPyVersion: "7.3.21rc1", PythonVersion: "3.11.13", Date: "2025-09-01"},
			[]distFile{{"linux-amd64", "pypy3.11-v7.3.21rc1-linux64.tar.bz2", "x64", "linux", "rc"}}},
		{Release{Name: "pypy3.11-v7.3.19", PyPyVersion: "7.3.19", PythonVersion: "3.11.13", Date: "2025-02-26", Stable: true},
			[]distFile{{"linux-amd64", "pypy3.11-v7.3.19-linux64.tar.bz2", "x64", "linux", "old"}}},
	}
	for i, s := range steps {
		dist := filepath.Join(tmp, "dist", s.rel.Name)
		makeDist(t, dist, s.rel, s.files, nil)
		if _, err := Publish(ctx, Options{Dist: dist, Dest: dest}); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	ix := readIndex(t, dest)
	var got []string
	for _, v := range ix {
		l := ""
		if v.LatestPyPy {
			l = "*"
		}
		got = append(got, v.PyPyVersion+"/"+v.PythonVersion+l)
	}
	want := "7.3.21rc1/3.11.13 7.3.20/3.11.13* 7.3.20/2.7.18* 7.3.19/3.11.13 7.3.11/3.9.16*"
	if strings.Join(got, " ") != want {
		t.Errorf("order = %s\nwant    %s", strings.Join(got, " "), want)
	}
	// Without a base URL, download_url is relative to versions.json.
	u := ix[len(ix)-1].Files[0].DownloadURL
	if want := "pypy3.9-v7.3.11/pypy3.9-v7.3.11-linux64.tar.bz2"; u != want {
		t.Errorf("download_url = %s, want %s", u, want)
	}
	sha256sumCheck(t, dest)
}

func TestPublishNightly(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "public")
	stable := filepath.Join(tmp, "stable")
	makeDist(t, stable, rel311, files311("s"), nil)
	if _, err := Publish(ctx, Options{Dist: stable, Dest: dest}); err != nil {
		t.Fatal(err)
	}
	for i, n := range []string{"pypy-c-jit-100-0123456789ab", "pypy-c-jit-101-ba9876543210"} {
		dist := filepath.Join(tmp, n)
		r := Release{Name: n, PyPyVersion: "7.3.21", PythonVersion: "3.11.13", Date: "2025-08-01", Stable: true}
		makeDist(t, dist, r, []distFile{{"linux-amd64", n + "-linux64.tar.bz2", "x64", "linux", n}}, nil)
		if _, err := Publish(ctx, Options{Dist: dist, Dest: dest, Nightly: true}); err != nil {
			t.Fatalf("nightly %d: %v", i, err)
		}
	}
	ix := readIndex(t, dest)
	if len(ix) != 2 {
		t.Fatalf("entries = %+v", ix)
	}
	n := ix[1]
	if !n.IsNightly() || n.PythonVersion != "3.11" || n.Stable || n.LatestPyPy || n.Date != "" || len(n.Files) != 1 ||
		n.Files[0].Filename != "pypy-c-jit-101-ba9876543210-linux64.tar.bz2" {
		t.Errorf("nightly entry = %+v", n)
	}
	if !ix[0].LatestPyPy {
		t.Error("a nightly took latest_pypy from the stable release")
	}
	// Older nightly files stay published (someone may have pinned them).
	if _, err := os.Stat(filepath.Join(dest, "pypy-c-jit-100-0123456789ab", "pypy-c-jit-100-0123456789ab-linux64.tar.bz2")); err != nil {
		t.Error(err)
	}
}

func TestPublishFromMatrix(t *testing.T) {
	m, err := platforms.Load("")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	dist, dest := filepath.Join(tmp, "dist"), filepath.Join(tmp, "public")
	os.MkdirAll(dist, 0o755)
	os.WriteFile(filepath.Join(dist, "pypy3.9-v7.3.11-linux64.tar.bz2"), []byte("vm"), 0o644)
	tests := []struct {
		name    string
		opt     Options
		wantErr string
	}{
		{"no metadata, no release", Options{Dist: dist, Dest: dest}, "pass --release"},
		{"unknown release", Options{Dist: dist, Dest: dest, Release: "pypy9.9-v1.0.0", Matrix: m}, "not in the matrix"},
		{"nothing built", Options{Dist: dist, Dest: dest, Release: "pypy3.11-v7.3.20", Matrix: m}, "holds no archive"},
		{"from matrix", Options{Dist: dist, Dest: dest, Release: "pypy3.9-v7.3.11", Matrix: m}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Publish(context.Background(), tt.opt)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ix := readIndex(t, dest)
			if len(ix) != 1 || ix[0].PythonVersion != "3.9.16" || ix[0].Date != "2022-12-29" || len(ix[0].Files) != 1 || ix[0].Files[0].SHA256 != sum("vm") {
				t.Errorf("versions.json = %+v", ix)
			}
		})
	}
}

func TestPublishRefusesCorruptDist(t *testing.T) {
	tmp := t.TempDir()
	dist, dest := filepath.Join(tmp, "dist"), filepath.Join(tmp, "public")
	makeDist(t, dist, rel311, files311("a"), nil)
	// The archive changed after SHA256SUMS was written.
	os.WriteFile(filepath.Join(dist, "pypy3.11-v7.3.20-aarch64.tar.gz"), []byte("flipped"), 0o644)
	_, err := Publish(context.Background(), Options{Dist: dist, Dest: dest})
	var dm *fsutil.DigestMismatchError
	if !errors.As(err, &dm) {
		t.Fatalf("err = %v, want DigestMismatchError", err)
	}
	if s := snapshot(t, dest); s != "" {
		t.Errorf("DEST got files:\n%s", s)
	}
}

func TestPublishSumsSignature(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	dest := filepath.Join(tmp, "public")
	amd := filepath.Join(tmp, "amd")
	makeDist(t, amd, rel311, files311("a")[:1], map[string]string{"SHA256SUMS.sig": "sig-of-amd-sums"})
	rep, err := Publish(ctx, Options{Dist: amd, Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	relDir := filepath.Join(dest, rel311.Name)
	if b, _ := os.ReadFile(filepath.Join(relDir, "SHA256SUMS.sig")); string(b) != "sig-of-amd-sums" || len(rep.Warnings) != 0 {
		t.Fatalf("signature not copied (%q), warnings %v", b, rep.Warnings)
	}
	// A second job publishes the arm64 archive: the merged SHA256SUMS is
	// no longer what was signed, so the signature must go.
	arm := filepath.Join(tmp, "arm")
	makeDist(t, arm, rel311, files311("a")[1:], nil)
	rep, err = Publish(ctx, Options{Dist: arm, Dest: dest})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(relDir, "SHA256SUMS.sig")); !os.IsNotExist(err) {
		t.Error("stale SHA256SUMS.sig kept")
	}
	if len(rep.Warnings) != 1 || !strings.Contains(rep.Warnings[0], "re-sign") {
		t.Errorf("warnings = %v", rep.Warnings)
	}
	merged, _ := sums.ReadFile(filepath.Join(relDir, sums.Name))
	if len(merged) != 2 {
		t.Errorf("merged sums = %v", merged)
	}
	if ix := readIndex(t, dest); len(ix) != 1 || len(ix[0].Files) != 2 {
		t.Errorf("versions.json = %+v", ix)
	}
	sha256sumCheck(t, relDir)
}

func TestWriteRelease(t *testing.T) {
	dir := t.TempDir()
	a := rel311
	a.Files = []ReleaseFile{{Target: "linux-amd64", Filename: "pypy3.11-v7.3.20-linux64.tar.bz2", Format: "tar.bz2", Arch: "x64", Platform: "linux"}}
	b := rel311
	b.Files = []ReleaseFile{{Target: "linux-arm64", Filename: "pypy3.11-v7.3.20-aarch64.tar.bz2", Format: "tar.bz2", Arch: "aarch64", Platform: "linux"}}
	bad := b
	bad.Date = "2025-07-05"
	tests := []struct {
		name      string
		r         Release
		wantFiles int
		wantErr   bool
	}{
		{"first target", a, 1, false},
		{"second target merges", b, 2, false},
		{"rewrite is idempotent", a, 2, false},
		{"other date refused", bad, 2, true},
		{"unsafe name refused", Release{Name: "../x", PyPyVersion: "1.0", PythonVersion: "3.9", Files: a.Files}, 2, true},
	}
	for _, tt := range tests {
		err := WriteRelease(dir, tt.r)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err = %v", tt.name, err)
		}
		rs, err := ReadReleases(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 1 || len(rs[0].Files) != tt.wantFiles {
			t.Errorf("%s: releases = %+v", tt.name, rs)
		}
	}
}

func TestCheckBaseURL(t *testing.T) {
	for base, ok := range map[string]bool{
		"":                             true,
		"https://dl.example.org/pypy":  true,
		"http://127.0.0.1:8080/":       true,
		"file:///srv/pypy":             true,
		"file://localhost/srv/pypy":    true,
		"file://otherhost/srv/pypy":    false,
		"ftp://dl.example.org/pypy":    false,
		"https:///pypy":                false,
		"downloads/pypy":               false,
		"https://dl.example.org/?x=1":  false,
		"https://dl.example.org/#frag": false,
		"https://dl.example.org/\x1b":  false,
	} {
		if err := CheckBaseURL(base); (err == nil) != ok {
			t.Errorf("CheckBaseURL(%q) = %v, want ok %v", base, err, ok)
		}
	}
}
