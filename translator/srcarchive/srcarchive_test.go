package srcarchive

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/translator"
)

// upstream are pypy.org's published sha256 of the source archives
// (checksums.rst), independent of the matrix's pins.
var upstream = []struct{ release, file, sha256 string }{
	{"pypy3.11-v7.3.23", "pypy3.11-v7.3.23-src.tar.gz", "ded8b99efd7a347f6b54a2f7091b526cf44a6a2e0c33b36f4d05c5df143502b0"},
	{"pypy2.7-v7.3.23", "pypy2.7-v7.3.23-src.tar.gz", "c1baf2a240c2525e56989ba24c811eb72a4d1b761dad2276b5235663a798a6dc"},
	{"pypy3.11-v7.3.20", "pypy3.11-v7.3.20-src.tar.bz2", "7786dda760003e2ea7409c1037e50200c578ec427ce0245ac4cd758710b206fb"},
	{"pypy2.7-v7.3.20", "pypy2.7-v7.3.20-src.tar.bz2", "bf958498445f7bf78338723c8d86bd6711e8792461725d2481df77a9566a3e62"},
}

func embedded(t *testing.T) *platforms.Matrix {
	t.Helper()
	m, err := platforms.Load("")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func release(t *testing.T, m *platforms.Matrix, name string) *platforms.Release {
	t.Helper()
	r, err := m.Release(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestUpstreamArchives makes all four releases' source archives from the
// real release commits and compares them with pypy.org's digests.
func TestUpstreamArchives(t *testing.T) {
	if testing.Short() {
		// Safe skip: only under -short, which `make test` never passes.
		t.Skip("compresses four ~160 MB tar streams")
	}
	needTools(t, "git", "gzip")
	mirror := "file://" + filepath.Join(testenv.SharedPyPy(t), "pypy.git")
	m := embedded(t)
	for _, u := range upstream {
		t.Run(u.release, func(t *testing.T) {
			t.Parallel()
			r := release(t, m, u.release)
			if got := DefaultFormats(r); len(got) != 1 || FileName(r, got[0]) != u.file {
				t.Fatalf("default formats %v, want the one of %s", got, u.file)
			}
			if r.Source.Archive == nil || r.Source.Archive.SHA256 != u.sha256 {
				t.Fatalf("matrix pin %+v, want pypy.org's %s", r.Source.Archive, u.sha256)
			}
			out := t.TempDir()
			rep, err := Write(context.Background(), r, Options{OutDir: out, GitMirror: mirror})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Archives) != 1 {
				t.Fatalf("archives %+v", rep.Archives)
			}
			a := rep.Archives[0]
			if a.File != u.file || a.SHA256 != u.sha256 || !a.Verified {
				t.Fatalf("archive %+v, want %s with pypy.org's sha256 %s", a, u.file, u.sha256)
			}
			if err := fsutil.VerifySHA256(filepath.Join(out, u.file), u.sha256); err != nil {
				t.Fatal(err)
			}
			if rep.Commit != r.Source.Git.Commit || rep.Tree != r.Source.Git.Tree {
				t.Fatalf("report %+v, want the matrix's pins", rep)
			}
			assertOnly(t, out, u.file)
		})
	}
}

func TestArchivalFile(t *testing.T) {
	m := embedded(t)
	cases := []struct {
		release, commit, want, wantErr string
	}{
		{release: "pypy3.11-v7.3.23", commit: "194f9f44b50552d75484d67cda6e2b36607dee0c",
			want: "node: 194f9f44b505\nbranch: release-pypy3.11-v7.x\ntag: release-pypy3.11-v7.3.23\n"},
		{release: "pypy2.7-v7.3.20", commit: "c8e5dc4b395b0f7f6b71dfe67c4ac3c19276f369",
			want: "node: c8e5dc4b395b\nbranch: release-pypy2.7-v7.x\ntag: release-pypy2.7-v7.3.20\n"},
		{release: "pypy2.7-v7.3.20", commit: "c8e5dc4", wantErr: "too short"},
	}
	for _, c := range cases {
		t.Run(c.release+"/"+c.commit, func(t *testing.T) {
			got, err := ArchivalFile(release(t, m, c.release), c.commit)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
	noTag := &platforms.Release{Name: "r", PyPyVersion: "7.3.20", PythonVersion: "3.11.13",
		Source: platforms.Source{Git: &platforms.GitSource{URL: "u", Commit: strings.Repeat("a", 40)}}}
	if _, err := ArchivalFile(noTag, strings.Repeat("a", 40)); err == nil {
		t.Fatal("a release without a tag got an .hg_archival.txt")
	}
}

func TestDefaultFormats(t *testing.T) {
	cases := []struct {
		name    string
		archive string
		formats []string
		want    []archive.Format
	}{
		{name: "pinned tar.gz", archive: "r-src.tar.gz", want: []archive.Format{archive.TarGz}},
		{name: "pinned zip falls back", archive: "r-src.zip", want: []archive.Format{archive.TarBz2}},
		{name: "release formats", formats: []string{"tar.gz", "zip", "tar.xz"}, want: []archive.Format{archive.TarGz}},
		{name: "nothing: tar.bz2", want: []archive.Format{archive.TarBz2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &platforms.Release{Name: "r", Formats: c.formats}
			if c.archive != "" {
				r.Source.Archive = &platforms.Input{File: c.archive, SHA256: strings.Repeat("0", 64)}
			}
			got := DefaultFormats(r)
			if len(got) != len(c.want) || (len(got) > 0 && got[0] != c.want[0]) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestBrokenPins runs on a small repository: a wrong commit or tree pin
// stops before any archive, and an archive that is not the pinned bytes is
// not kept. Both errors name both values.
func TestBrokenPins(t *testing.T) {
	needTools(t, "git", "gzip", "bzip2")
	repo, commit, tree := smallRepo(t)
	good := func() *platforms.Release {
		return &platforms.Release{
			Name: "pypy3.11-v7.3.99", PyPyVersion: "7.3.99", PythonVersion: "3.11.9",
			Source: platforms.Source{Git: &platforms.GitSource{
				URL: "file://" + repo, Tag: "release-pypy3.11-v7.3.99", Commit: commit, Tree: tree,
			}},
		}
	}
	wrong := strings.Repeat("1", 40)
	cases := []struct {
		name    string
		edit    func(r *platforms.Release)
		formats []archive.Format
		want    []string
		kept    []string
	}{
		{name: "good, unpinned archives", formats: []archive.Format{archive.TarGz, archive.TarBz2},
			kept: []string{"pypy3.11-v7.3.99-src.tar.bz2", "pypy3.11-v7.3.99-src.tar.gz"}},
		{name: "wrong commit", edit: func(r *platforms.Release) { r.Source.Git.Commit = wrong },
			want: []string{"commit is " + commit, "pins commit " + wrong}},
		{name: "wrong tree", edit: func(r *platforms.Release) { r.Source.Git.Tree = wrong },
			want: []string{"tree is " + tree, "pins tree " + wrong}},
		{name: "archive not the pinned bytes", edit: func(r *platforms.Release) {
			r.Source.Archive = &platforms.Input{File: "pypy3.11-v7.3.99-src.tar.bz2", SHA256: strings.Repeat("0", 64)}
		}, want: []string{"pypy3.11-v7.3.99-src.tar.bz2: sha256 ", "pins " + strings.Repeat("0", 64)}},
		{name: "zip is not reproducible", formats: []archive.Format{archive.Zip}, want: []string{"tar.gz and tar.bz2, not zip"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := good()
			if c.edit != nil {
				c.edit(r)
			}
			out := filepath.Join(t.TempDir(), "out")
			rep, err := Write(context.Background(), r, Options{OutDir: out, Formats: c.formats})
			if len(c.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if rep.Commit != commit || rep.Tree != tree || len(rep.Archives) != len(c.kept) {
					t.Fatalf("report %+v", rep)
				}
				assertOnly(t, out, c.kept...)
				checkTar(t, out, c.kept, commit)
				return
			}
			if err == nil {
				t.Fatalf("no error, report %+v", rep)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			var pe *translator.GitPinError
			var de *DigestError
			if strings.HasPrefix(c.name, "wrong") != errors.As(err, &pe) || strings.HasPrefix(c.name, "archive") != errors.As(err, &de) {
				t.Errorf("error type %T", err)
			}
			assertOnly(t, out)
		})
	}
}

// checkTar lists each archive with tar(1): the prefix and the added file.
func checkTar(t *testing.T, dir string, files []string, commit string) {
	t.Helper()
	for _, f := range files {
		out, err := exec.Command("tar", "-xOf", filepath.Join(dir, f), "pypy3.11-v7.3.99-src/.hg_archival.txt").Output()
		if err != nil {
			t.Fatalf("tar %s: %v", f, err)
		}
		want := "node: " + commit[:12] + "\nbranch: release-pypy3.11-v7.x\ntag: release-pypy3.11-v7.3.99\n"
		if string(out) != want {
			t.Fatalf("%s: .hg_archival.txt %q, want %q", f, out, want)
		}
	}
}

// smallRepo is a bare repository with an annotated release tag.
func smallRepo(t *testing.T) (repo, commit, tree string) {
	t.Helper()
	work := t.TempDir()
	run := func(dir string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(work, "init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(work, "pypy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "pypy", "README.rst"), []byte(strings.Repeat("PyPy\n", 5000)), 0o644); err != nil {
		t.Fatal(err)
	}
	run(work, "add", "-A")
	run(work, "commit", "-q", "-m", "release")
	run(work, "tag", "-a", "-m", "release", "release-pypy3.11-v7.3.99")
	repo = filepath.Join(t.TempDir(), "pypy.git")
	run(work, "clone", "-q", "--bare", work, repo)
	return repo, run(work, "rev-parse", "HEAD"), run(work, "rev-parse", "HEAD^{tree}")
}

// assertOnly checks dir holds exactly files (no temp files, no scratch).
func assertOnly(t *testing.T, dir string, files ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(files, ",") {
		t.Fatalf("%s holds %v, want %v", dir, got, files)
	}
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s not installed", tool)
		}
	}
}
