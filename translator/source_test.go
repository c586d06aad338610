package translator

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/platforms"
)

// gitRepo makes a repository holding a fake PyPy tree with two tagged
// commits and returns its file:// URL and the commits.
func gitRepo(t *testing.T) (url, c1, c2 string) {
	t.Helper()
	testtool.Need(t, "git")
	dir := t.TempDir()
	runGit(t, dir, "init", "-q", "-b", "main")
	fakeSourceTree(t, dir, "3.11.13")
	if err := os.Symlink("README.rst", filepath.Join(dir, "README")); err != nil {
		t.Fatal(err)
	}
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "one")
	runGit(t, dir, "tag", "release-pypy3.11-v7.3.20")
	c1 = runGit(t, dir, "rev-parse", "HEAD")
	writeFile(t, filepath.Join(dir, "later.txt"), "later\n", 0o644)
	runGit(t, dir, "add", "-A")
	runGit(t, dir, "commit", "-q", "-m", "two")
	// Annotated, like upstream's 7.3.23 tags: TAG^{commit} is the commit.
	runGit(t, dir, "tag", "-a", "-m", "later", "later")
	c2 = runGit(t, dir, "rev-parse", "HEAD")
	return "file://" + dir, c1, c2
}

func TestFetchGit(t *testing.T) {
	url, c1, c2 := gitRepo(t)
	repo := strings.TrimPrefix(url, "file://")
	t1 := runGit(t, repo, "rev-parse", c1+"^{tree}")
	t2 := runGit(t, repo, "rev-parse", c2+"^{tree}")
	unreachable := "file://" + filepath.Join(t.TempDir(), "not-a-repo")
	cases := []struct {
		name, url, mirror string
		tag, commit, tree string
		wantHead          string
		wantErr           string
	}{
		{name: "tag", tag: "release-pypy3.11-v7.3.20", wantHead: c1},
		{name: "tag with its commit pinned", tag: "release-pypy3.11-v7.3.20", commit: c1, wantHead: c1},
		{name: "tag with commit and tree pinned", tag: "release-pypy3.11-v7.3.20", commit: c1, tree: t1, wantHead: c1},
		{name: "annotated tag with a short pin", tag: "later", commit: c2[:12], tree: t2, wantHead: c2},
		{name: "tag moved away from the pin", tag: "later", commit: c1, wantErr: "commit is " + c2 + ", but the matrix pins commit " + c1},
		{name: "tree not the pinned one", tag: "later", commit: c2, tree: t1, wantErr: "tree is " + t2 + ", but the matrix pins tree " + t1},
		{name: "commit only", commit: c1, wantHead: c1},
		{name: "missing tag", tag: "no-such-tag", wantErr: "no-such-tag"},
		{name: "mirror replaces the url", url: unreachable, mirror: url, tag: "later", commit: c2, tree: t2, wantHead: c2},
		{name: "mirror serving another tree", url: unreachable, mirror: url, tag: "later", commit: c2, tree: t1, wantErr: url + " tag later: tree is " + t2},
		{name: "unreachable without the mirror", url: unreachable, tag: "later", wantErr: "not-a-repo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var logs []string
			s := &Sources{Store: newStore(t), Logger: logging.Func(func(m string) { logs = append(logs, m) }), GitMirror: c.mirror}
			from := url
			if c.url != "" {
				from = c.url
			}
			r := &platforms.Release{Name: "r", Source: platforms.Source{Git: &platforms.GitSource{URL: from, Tag: c.tag, Commit: c.commit, Tree: c.tree}}}
			src, err := SourceFromRelease(r)
			if err != nil {
				t.Fatal(err)
			}
			dir, files, err := s.Fetch(context.Background(), &src)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				if left, _ := filepath.Glob(filepath.Join(s.Store.Root, "??", "*")); len(left) != 0 {
					t.Fatalf("failed fetch left store entries %v", left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantTree := runGit(t, repo, "rev-parse", c.wantHead+"^{tree}")
			if src.Digest != "git-tree:"+wantTree || src.Head != c.wantHead || !src.Fetched || src.StoreKey == "" {
				t.Fatalf("source %+v, want tree %s head %s", src, wantTree, c.wantHead)
			}
			if src.Mirror != c.mirror {
				t.Fatalf("source mirror %q, want %q", src.Mirror, c.mirror)
			}
			if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
				t.Fatalf("stored tree keeps .git: %v", err)
			}
			if err := CheckSourceTree(dir, &platforms.Release{Name: "r", PythonVersion: "3.11.13"}); err != nil {
				t.Fatal(err)
			}
			if target, err := os.Readlink(filepath.Join(dir, "README")); err != nil || target != "README.rst" {
				t.Fatalf("symlink: %q %v", target, err)
			}
			if st, err := os.Stat(filepath.Join(dir, "rpython", "bin", "rpython")); err != nil || st.Mode().Perm()&0o100 == 0 {
				t.Fatalf("rpython not executable: %v %v", st, err)
			}
			_, hasLater := os.Stat(filepath.Join(dir, "later.txt"))
			if (c.wantHead == c2) != (hasLater == nil) {
				t.Fatalf("later.txt presence wrong for %s", c.wantHead)
			}
			if len(files) < 5 {
				t.Fatalf("files %v", files)
			}

			// Again: from the store, no clone; and Lookup alone finds it.
			again, _ := SourceFromRelease(r)
			if err := s.Lookup(&again); err != nil || again.Digest != src.Digest {
				t.Fatalf("lookup: %+v %v", again, err)
			}
			before := len(logs)
			if _, _, err := s.Fetch(context.Background(), &again); err != nil {
				t.Fatal(err)
			}
			if len(logs) != before {
				t.Fatalf("second fetch cloned again: %v", logs[before:])
			}
		})
	}
}

func makeZip(t *testing.T, path, top string, files map[string]string) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range files {
		w, err := zw.Create(top + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return sha256Of(t, path)
}

func sha256Of(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func TestFetchArchive(t *testing.T) {
	files := map[string]string{"rpython/bin/rpython": "#!/bin/sh\n", "pypy/goal/targetpypystandalone.py": "#\n",
		"pypy/module/sys/version.py": "CPYTHON_VERSION = (3, 11, 13, 'final', 0)\n"}
	good := filepath.Join(t.TempDir(), "pypy3.11-v7.3.20-src.zip")
	goodSum := makeZip(t, good, "pypy3.11-v7.3.20-src", files)
	goodBytes, _ := os.ReadFile(good)

	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		if r.URL.Path == "/missing.zip" {
			http.NotFound(w, r)
			return
		}
		w.Write(goodBytes)
	}))
	defer srv.Close()

	cases := []struct {
		name    string
		cached  []byte // what the download cache holds, nil for nothing
		url     string
		sha     string
		wantErr string
		served  int32
	}{
		{name: "cached", cached: goodBytes, sha: goodSum},
		{name: "downloaded", url: srv.URL + "/pypy3.11-v7.3.20-src.zip", sha: goodSum, served: 1},
		{name: "damaged cache replaced", cached: []byte("junk"), url: srv.URL + "/pypy3.11-v7.3.20-src.zip", sha: goodSum, served: 1},
		{name: "damaged cache, no url", cached: []byte("junk"), sha: goodSum, wantErr: "sha256 mismatch"},
		{name: "not cached, no url", sha: goodSum, wantErr: "not in the download cache"},
		{name: "server has the wrong bytes", url: srv.URL + "/pypy3.11-v7.3.20-src.zip", sha: strings.Repeat("0", 64), wantErr: "sha256 mismatch", served: 1},
		{name: "server 404", url: srv.URL + "/missing.zip", sha: goodSum, wantErr: "404", served: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			served.Store(0)
			downloads := t.TempDir()
			if c.cached != nil {
				writeFile(t, filepath.Join(downloads, "source", "pypy3.11-v7.3.20-src.zip"), string(c.cached), 0o644)
			}
			s := &Sources{Store: newStore(t), Downloads: downloads, Client: srv.Client()}
			r := &platforms.Release{Name: "r", Source: platforms.Source{Archive: &platforms.Input{
				URL: c.url, File: "pypy3.11-v7.3.20-src.zip", SHA256: c.sha}}}
			src, err := SourceFromRelease(r)
			if err != nil {
				t.Fatal(err)
			}
			dir, got, err := s.Fetch(context.Background(), &src)
			if served.Load() != c.served {
				t.Errorf("server hit %d times, want %d", served.Load(), c.served)
			}
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Digest != "sha256:"+goodSum || len(got) != len(files) {
				t.Fatalf("source %+v files %v", src, got)
			}
			for name, body := range files {
				if readFile(t, filepath.Join(dir, name)) != body {
					t.Errorf("%s differs (top dir not stripped?)", name)
				}
			}
		})
	}
}

func TestFetchTarBz2(t *testing.T) {
	testtool.Need(t, "bzip2")
	root := t.TempDir()
	top := filepath.Join(root, "pypy3.11-v7.3.20-src")
	fakeSourceTree(t, top, "3.11.13")
	name := "pypy3.11-v7.3.20-src.tar.bz2"
	downloads := t.TempDir()
	arch := filepath.Join(downloads, "source", name)
	os.MkdirAll(filepath.Dir(arch), 0o755)
	if out, err := exec.Command("tar", "-C", root, "-cjf", arch, "pypy3.11-v7.3.20-src").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	s := &Sources{Store: newStore(t), Downloads: downloads}
	src, err := SourceFromRelease(&platforms.Release{Name: "r", Source: platforms.Source{Archive: &platforms.Input{File: name, SHA256: sha256Of(t, arch)}}})
	if err != nil {
		t.Fatal(err)
	}
	dir, _, err := s.Fetch(context.Background(), &src)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSourceTree(dir, &platforms.Release{Name: "r", PythonVersion: "3.11.13"}); err != nil {
		t.Fatal(err)
	}
}

func TestSourceFromDir(t *testing.T) {
	plain := func(t *testing.T) string { return fakeSourceTree(t, t.TempDir(), "3.11.13") }
	repo := func(t *testing.T) string {
		testtool.Need(t, "git")
		dir := plain(t)
		runGit(t, dir, "init", "-q")
		runGit(t, dir, "add", "-A")
		runGit(t, dir, "commit", "-q", "-m", "x")
		return dir
	}
	cases := []struct {
		name       string
		make       func(t *testing.T) string
		change     func(t *testing.T, dir string) // applied before the second digest
		prefix     string
		sameAfter  bool
		note       string
		wantTree   bool
		wantFilesN int
	}{
		{name: "plain dir", make: plain, prefix: "files-sha256:", wantFilesN: 4,
			change: func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "README.rst"), "changed\n", 0o644) }},
		{name: "plain dir, exec bit", make: plain, prefix: "files-sha256:", wantFilesN: 4,
			change: func(t *testing.T, d string) { os.Chmod(filepath.Join(d, "README.rst"), 0o755) }},
		{name: "clean git", make: repo, prefix: "git-tree:", wantTree: true, wantFilesN: 4,
			change: func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "untracked.o"), "x", 0o644) }, sameAfter: true},
		{name: "dirty git", make: repo, prefix: "git-tree:", wantTree: true, wantFilesN: 4,
			change: func(t *testing.T, d string) { writeFile(t, filepath.Join(d, "README.rst"), "edited\n", 0o644) },
			note:   "uncommitted changes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.make(t)
			s1, err := SourceFromDir(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(s1.Digest, c.prefix) || !s1.Fetched || s1.Dir != dir {
				t.Fatalf("source %+v", s1)
			}
			if c.wantTree {
				if want := "git-tree:" + runGit(t, dir, "rev-parse", "HEAD^{tree}"); s1.Digest != want {
					t.Fatalf("digest %s, want %s", s1.Digest, want)
				}
			}
			s2, _ := SourceFromDir(context.Background(), dir)
			if s1.Digest != s2.Digest {
				t.Fatal("digest not stable")
			}
			c.change(t, dir)
			s3, err := SourceFromDir(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			if (s3.Digest == s1.Digest) != c.sameAfter {
				t.Fatalf("after change: %s vs %s, same=%v want %v", s3.Digest, s1.Digest, s3.Digest == s1.Digest, c.sameAfter)
			}
			if c.note != "" && !strings.Contains(s3.Note, c.note) {
				t.Fatalf("note %q", s3.Note)
			}
			_, files, err := (&Sources{}).Fetch(context.Background(), &s3)
			if err != nil {
				t.Fatal(err)
			}
			if len(files) != c.wantFilesN {
				t.Fatalf("files %v, want %d (untracked files must not count in a git tree)", files, c.wantFilesN)
			}
		})
	}
}

func TestCheckSourceTree(t *testing.T) {
	cases := []struct {
		name, treeVersion, release string
		remove                     string
		want                       string
	}{
		{name: "matches", treeVersion: "3.11.13", release: "3.11.13"},
		{name: "other python", treeVersion: "3.10.16", release: "3.11.13", want: "implements Python 3.10.16"},
		{name: "no rpython", treeVersion: "3.11.13", release: "3.11.13", remove: "rpython/bin/rpython", want: "rpython/bin/rpython is missing"},
		{name: "no version.py", treeVersion: "3.11.13", release: "3.11.13", remove: "pypy/module/sys/version.py", want: "not a PyPy source tree"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := fakeSourceTree(t, t.TempDir(), c.treeVersion)
			if c.remove != "" {
				os.Remove(filepath.Join(dir, c.remove))
			}
			err := CheckSourceTree(dir, &platforms.Release{Name: "r", PythonVersion: c.release})
			if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}

func TestSourceFromReleaseNeedsPins(t *testing.T) {
	cases := []struct {
		name string
		src  platforms.Source
		want string
	}{
		{"nothing", platforms.Source{}, "has no source"},
		{"git without tag or commit", platforms.Source{Git: &platforms.GitSource{URL: "u"}}, "tag or commit"},
		{"archive without sha", platforms.Source{Archive: &platforms.Input{File: "x.zip"}}, "sha256 pin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := SourceFromRelease(&platforms.Release{Name: "r", Source: c.src})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}
