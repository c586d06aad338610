package install

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/testtool"

	"github.com/pypyctl/pypyctl/internal/archive"
	"github.com/pypyctl/pypyctl/publish/index"
)

// Hostile indexes and servers (issue #21). Every server here listens on
// 127.0.0.1 and every test is bounded by a context deadline.

// rawServer accepts connections on 127.0.0.1 and hands each to serve,
// which may misbehave at will; connections are closed when the test ends.
func rawServer(t *testing.T, serve func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// readRequest consumes one request's head, so the client is not stuck
// writing.
func readRequest(c net.Conn) {
	br := bufio.NewReader(c)
	http.ReadRequest(br)
}

// jsonIndex writes versions.json with one 3.11 entry whose only file is f.
func jsonIndex(t *testing.T, f index.File, pypy string) string {
	t.Helper()
	dir := t.TempDir()
	ix := index.Index{{PyPyVersion: pypy, PythonVersion: "3.11.13", Stable: true, LatestPyPy: true, Files: []index.File{f}}}
	var b strings.Builder
	if err := ix.Encode(&b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "versions.json")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const anySum = "0000000000000000000000000000000000000000000000000000000000000000"

func TestHostileFileNamesStayInTheCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := t.TempDir()
	publishFixtures(t, src, "", rel311)
	archive := filepath.Join(src, "pypy3.11-v7.3.20", rel311.archiveName())
	if _, err := os.Stat(archive); err != nil {
		// publish's layout may differ; find the archive wherever it went.
		matches, _ := filepath.Glob(filepath.Join(src, "*", rel311.archiveName()))
		if len(matches) != 1 {
			t.Fatalf("published archive not found: %v", matches)
		}
		archive = matches[0]
	}
	sum := fileSHA(t, archive)
	for _, name := range []string{
		"../../../../VICTIM/backup.tar.gz",
		"..tar.gz",
		"...tar.gz",
		".tar.gz",
		"sub/pypy3.11-v7.3.20-linux64.tar.gz",
		"pypy3.11-v7.3.20-linux64.tar.gz\n",
		"pypy3.11-v7.3.20-linux64",
		`..\pypy3.11-v7.3.20-linux64.tar.gz`,
	} {
		t.Run(name, func(t *testing.T) {
			d := testDirs(t)
			victimDir := t.TempDir()
			victim := filepath.Join(victimDir, "backup.tar.gz")
			os.WriteFile(victim, []byte("precious"), 0o644)
			// Aim the traversal at the victim from the cache dir.
			rel, _ := filepath.Rel(d.Downloads(), victim)
			fname := strings.Replace(name, "../../../../VICTIM/backup.tar.gz", rel, 1)
			loc := jsonIndex(t, index.File{Filename: fname, Arch: "x64", Platform: "linux", DownloadURL: "file://" + archive, SHA256: sum}, "7.3.20")
			in := newTestInstaller(t, d)
			res, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: loc})
			var ie *InvalidIndexError
			if !errors.As(err, &ie) {
				t.Fatalf("install = %s, %v; want an InvalidIndexError", mustJSON(res), err)
			}
			if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
				t.Errorf("victim changed: %q, %v", b, err)
			}
			ents, _ := os.ReadDir(victimDir)
			if len(ents) != 1 {
				t.Errorf("victim dir holds %d entries", len(ents))
			}
			assertNothingInstalled(t, d)
		})
	}
}

func TestIndexValidation(t *testing.T) {
	good := index.File{Filename: "pypy3.11-v7.3.20-linux64.tar.gz", Arch: "x64", Platform: "linux", DownloadURL: "https://example.invalid/a.tar.gz", SHA256: anySum}
	tests := []struct {
		name   string
		edit   func(ix index.Index) index.Index
		local  bool
		reason string // "" = valid
	}{
		{"valid", func(ix index.Index) index.Index { return ix }, false, ""},
		{"uppercase sha256 normalised", func(ix index.Index) index.Index {
			ix[0].Files[0].SHA256 = strings.ToUpper("ab" + anySum[2:])
			return ix
		}, false, ""},
		{"short sha256", func(ix index.Index) index.Index { ix[0].Files[0].SHA256 = "abc"; return ix }, false, "64 hex"},
		{"non-hex sha256", func(ix index.Index) index.Index { ix[0].Files[0].SHA256 = "zz" + anySum[2:]; return ix }, false, "64 hex"},
		{"duplicate entry", func(ix index.Index) index.Index { return append(ix, ix[0]) }, false, "duplicate entry"},
		{"duplicate file", func(ix index.Index) index.Index {
			ix[0].Files = append(ix[0].Files, ix[0].Files[0])
			return ix
		}, false, "duplicate file"},
		{"terminal escape in version", func(ix index.Index) index.Index { ix[0].PyPyVersion = "7.3.20\x1b[2J"; return ix }, false, "control"},
		{"bad pypy version", func(ix index.Index) index.Index { ix[0].PyPyVersion = "seven"; return ix }, false, "not a version"},
		{"file URL from a remote index", func(ix index.Index) index.Index { ix[0].Files[0].DownloadURL = "file:///etc/passwd"; return ix }, false, "local files"},
		{"file URL on another host", func(ix index.Index) index.Index {
			ix[0].Files[0].DownloadURL = "file://otherhost/x.tar.gz"
			return ix
		}, true, "another host"},
		{"file URL, local index", func(ix index.Index) index.Index { ix[0].Files[0].DownloadURL = "file:///srv/x.tar.gz"; return ix }, true, ""},
		{"ftp URL", func(ix index.Index) index.Index { ix[0].Files[0].DownloadURL = "ftp://h/x.tar.gz"; return ix }, false, "scheme"},
		{"negative size", func(ix index.Index) index.Index { ix[0].Files[0].Size = -1; return ix }, false, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := tt.edit(index.Index{{PyPyVersion: "7.3.20", PythonVersion: "3.11.13", Stable: true, Files: []index.File{good}}})
			err := validateIndex(ix, tt.local)
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range ix[0].Files {
					if f.SHA256 != strings.ToLower(f.SHA256) {
						t.Errorf("sha256 not normalised: %s", f.SHA256)
					}
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.reason) {
				t.Fatalf("err = %v, want %q", err, tt.reason)
			}
			if strings.ContainsAny(err.Error(), "\x1b\n") {
				t.Errorf("error prints raw control characters: %q", err.Error())
			}
		})
	}
}

func TestIndexTrailingGarbage(t *testing.T) {
	if _, err := index.Parse(strings.NewReader(`[] {"x": 1}`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func TestHostileServers(t *testing.T) {
	// A server that sends headers, then part of the body, then stalls.
	stall := func(c net.Conn) {
		readRequest(c)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n0123456789")
		time.Sleep(time.Minute)
	}
	// One that never answers.
	mute := func(c net.Conn) {
		readRequest(c)
		time.Sleep(time.Minute)
	}
	// One whose body never ends.
	endless := func(c net.Conn) {
		readRequest(c)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}
	tests := []struct {
		name  string
		serve func(net.Conn)
		size  int64
		check func(error) bool
	}{
		{"headers then stall", stall, 0, func(err error) bool { var e *IdleError; return errors.As(err, &e) }},
		{"no headers", mute, 0, func(err error) bool { var e *IdleError; return errors.As(err, &e) }},
		{"endless body", endless, 0, func(err error) bool { var e *SizeLimitError; return errors.As(err, &e) }},
		{"endless body, size from index", endless, 1 << 20, func(err error) bool { var e *SizeLimitError; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			base := rawServer(t, tt.serve)
			loc := jsonIndex(t, index.File{Filename: "pypy3.11-v7.3.20-linux64.tar.gz", Arch: "x64", Platform: "linux",
				DownloadURL: base + "/pypy3.11-v7.3.20-linux64.tar.gz", SHA256: anySum, Size: tt.size}, "7.3.20")
			d := testDirs(t)
			in := newTestInstaller(t, d)
			in.IdleTimeout = 300 * time.Millisecond
			in.MaxDownload = 4 << 20
			start := time.Now()
			_, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: loc})
			if err == nil || !tt.check(err) {
				t.Fatalf("err = %v", err)
			}
			if el := time.Since(start); el > 10*time.Second {
				t.Errorf("took %s", el)
			}
			parts, _ := filepath.Glob(filepath.Join(d.Downloads(), "*.part"))
			if tt.name != "headers then stall" && len(parts) > 0 {
				t.Errorf("left %v", parts)
			}
			assertNothingInstalled(t, d)
		})
	}
}

func TestLocalReadsAreCapped(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		testtool.Missing(t, "no /dev/zero")
	}
	d := testDirs(t)
	in := newTestInstaller(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: "/dev/zero"})
	var e *SizeLimitError
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
}

func TestStalledDownloadDoesNotBlockOtherInstalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d := testDirs(t)
	started := make(chan struct{}, 1)
	base := rawServer(t, func(c net.Conn) {
		readRequest(c)
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n01234")
		started <- struct{}{}
		time.Sleep(time.Minute)
	})
	slow := jsonIndex(t, index.File{Filename: "pypy3.11-v7.3.20-linux64.tar.gz", Arch: "x64", Platform: "linux",
		DownloadURL: base + "/a.tar.gz", SHA256: anySum}, "7.3.20")
	done := make(chan error, 1)
	go func() {
		in := newTestInstaller(t, d)
		in.Retries = -1
		in.IdleTimeout = 20 * time.Second
		_, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: slow})
		done <- err
	}()
	<-started
	local := t.TempDir()
	publishFixtures(t, local, "", rel27)
	start := time.Now()
	res, err := newTestInstaller(t, d).Install(ctx, mustRequest(t, "2.7"), Options{Index: local})
	if err != nil || res.Status != StatusInstalled {
		t.Fatalf("install = %s, %v", mustJSON(res), err)
	}
	if el := time.Since(start); el > 5*time.Second || res.Waited {
		t.Errorf("the unrelated install waited (%s, waited=%v)", el, res.Waited)
	}
	cancel()
	<-done
}

// archivePathIn finds a published archive under dest.
func archivePathIn(t *testing.T, dest, name string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(dest, "*", name))
	if len(matches) != 1 {
		t.Fatalf("published archive %s not found: %v", name, matches)
	}
	return matches[0]
}

func TestArchiveMustBeTheReleaseItIsInstalledAs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := t.TempDir()
	old := rel311
	old.name, old.pypy = "pypy3.11-v7.3.98", "7.3.98"
	publishFixtures(t, src, "", old)
	archive := archivePathIn(t, src, old.archiveName())
	// An index entry for 7.3.99 whose bytes are 7.3.98's.
	loc := jsonIndex(t, index.File{Filename: "pypy3.11-v7.3.99-linux64.tar.gz", Arch: "x64", Platform: "linux",
		DownloadURL: "file://" + archive, SHA256: fileSHA(t, archive)}, "7.3.99")
	d := testDirs(t)
	_, err := newTestInstaller(t, d).Install(ctx, mustRequest(t, "3.11"), Options{Index: loc})
	if err == nil || !strings.Contains(err.Error(), "another release") {
		t.Fatalf("err = %v", err)
	}
	assertNothingInstalled(t, d)
}

func TestInstalledTreeIsSettled(t *testing.T) {
	top := rel311.name + "-" + rel311.suffix
	base := fakeTree(top, rel311.python, nil)
	base[0].mode = 0o7777 // top dir: world-writable, setuid, setgid, sticky
	tests := []struct {
		name    string
		extra   []entry
		wantErr string
	}{
		{"read-only dir and 07777 top", []entry{
			{name: top + "/lib/ro/", typ: tar.TypeDir, mode: 0o555},
			{name: top + "/lib/ro/f", typ: tar.TypeReg, mode: 0o4777, body: "x"},
		}, ""},
		{"link into a sibling install", []entry{
			{name: top + "/lib/evil", typ: tar.TypeSymlink, link: "../../pypy2.7-v7.3.20-linux64/bin/pypy2.7"},
		}, "outside the installed tree"},
		{"link to the parent through a self link", []entry{
			{name: top + "/self", typ: tar.TypeSymlink, link: "."},
			{name: top + "/evil", typ: tar.TypeSymlink, link: "self/.."},
		}, "outside the installed tree"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			src := t.TempDir()
			es := append(append([]entry(nil), base...), tt.extra...)
			publishEntries(t, src, "", rel311, es)
			d := testDirs(t)
			l := Layout{Data: d.Data}
			res, err := newTestInstaller(t, d).Install(ctx, mustRequest(t, "3.11"), Options{Index: src})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("install = %s, %v; want %q", mustJSON(res), err, tt.wantErr)
				}
				assertNothingInstalled(t, d)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			filepath.WalkDir(res.Dir, func(p string, de fs.DirEntry, err error) error {
				if err != nil || de.Type()&fs.ModeSymlink != 0 {
					return err
				}
				st, _ := os.Lstat(p)
				m := st.Mode()
				if m.Perm()&0o022 != 0 || m&(fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky) != 0 || (m.IsDir() && m.Perm()&0o700 != 0o700) {
					t.Errorf("%s has mode %v", p, m)
				}
				return nil
			})
			if _, err := Uninstall(ctx, l, mustRequest(t, res.Name)); err != nil {
				t.Fatal(err)
			}
			assertNothingInstalled(t, d)
		})
	}
}

func TestIndexEntryMustNameItsOwnRelease(t *testing.T) {
	f := index.File{Filename: "pypy3.11-v7.3.98-linux64.tar.gz", Arch: "x64", Platform: "linux", DownloadURL: "https://h.invalid/a.tar.gz", SHA256: anySum}
	for _, v := range []index.Version{
		{PyPyVersion: "7.3.99", PythonVersion: "3.11.13", Files: []index.File{f}},
		{PyPyVersion: "7.3.98", PythonVersion: "3.10.14", Files: []index.File{f}},
	} {
		if err := validateIndex(index.Index{v}, false); err == nil || !strings.Contains(err.Error(), "is not PyPy") {
			t.Errorf("%s/%s: err = %v", v.PyPyVersion, v.PythonVersion, err)
		}
	}
}

func TestSignedIdentityAndRollback(t *testing.T) {
	keyDir := t.TempDir()
	key, pub := writeKey(t, keyDir, "release.pub")
	old := rel311
	old.name, old.pypy, old.date = "pypy3.11-v7.3.19", "7.3.19", "2025-02-26"
	newTrusting := func(t *testing.T) (*Installer, Layout) {
		d := testDirs(t)
		l := Layout{Data: d.Data}
		if _, err := AddTrustedKey(l, pub); err != nil {
			t.Fatal(err)
		}
		in := newTestInstaller(t, d)
		in.Verifier = nil
		return in, l
	}
	t.Run("signed SHA256SUMS binds the name", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dest := t.TempDir()
		publishFixtures(t, dest, "", rel311)
		relDir := filepath.Join(dest, rel311.name)
		signFile(t, key, filepath.Join(relDir, "SHA256SUMS"))
		in, _ := newTrusting(t)
		res, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: dest})
		if err != nil || !strings.Contains(res.Signature, "signed SHA256SUMS") {
			t.Fatalf("install = %s, %v", mustJSON(res), err)
		}
		// The same signed digest listed under another name does not vouch
		// for this one.
		sums := filepath.Join(relDir, "SHA256SUMS")
		b, _ := os.ReadFile(sums)
		os.WriteFile(sums, []byte(strings.Replace(string(b), rel311.archiveName(), "pypy3.11-v7.3.21-linux64.tar.gz", 1)), 0o644)
		signFile(t, key, sums)
		in2, _ := newTrusting(t)
		_, err = in2.Install(ctx, mustRequest(t, "3.11"), Options{Index: dest})
		var se *SignatureError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "does not list") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rolled-back signed index", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dest := t.TempDir()
		vj := filepath.Join(dest, "versions.json")
		publishFixtures(t, dest, "", old)
		signFile(t, key, filepath.Join(dest, old.name, "SHA256SUMS"))
		signFile(t, key, vj)
		oldIndex, _ := os.ReadFile(vj)
		oldSig, _ := os.ReadFile(vj + ".sig")
		publishFixtures(t, dest, "", rel311)
		signFile(t, key, filepath.Join(dest, rel311.name, "SHA256SUMS"))
		signFile(t, key, vj)
		in, _ := newTrusting(t)
		res, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: dest})
		if err != nil || res.PyPyVersion != "7.3.20" {
			t.Fatalf("install = %s, %v", mustJSON(res), err)
		}
		// Replay the older, correctly signed index.
		os.WriteFile(vj, oldIndex, 0o644)
		os.WriteFile(vj+".sig", oldSig, 0o644)
		var rb *RollbackError
		if _, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: dest, Force: true}); !errors.As(err, &rb) {
			t.Fatalf("rollback: err = %v", err)
		}
		// Stripping the signature does not help either.
		os.Remove(vj + ".sig")
		if _, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: dest, Force: true}); err == nil || !strings.Contains(err.Error(), "signed before") {
			t.Fatalf("unsigned: err = %v", err)
		}
	})
	t.Run("a rolled-back index does not hand over to the next source", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dest, other := t.TempDir(), t.TempDir()
		vj := filepath.Join(dest, "versions.json")
		publishFixtures(t, dest, "", old)
		signFile(t, key, vj)
		oldIndex, _ := os.ReadFile(vj)
		oldSig, _ := os.ReadFile(vj + ".sig")
		publishFixtures(t, dest, "", rel311)
		signFile(t, key, filepath.Join(dest, rel311.name, "SHA256SUMS"))
		signFile(t, key, vj)
		publishFixtures(t, other, "", rel311)
		srcs := Sources{{Kind: SourceIndex, Location: dest, From: "test"}, {Kind: SourceIndex, Location: other, From: "test"}}
		in, _ := newTrusting(t)
		if res, err := in.Install(ctx, mustRequest(t, "3.11@7.3.20"), Options{Sources: srcs}); err != nil || res.Source != "file://"+filepath.ToSlash(vj) {
			t.Fatalf("install = %s, %v", mustJSON(res), err)
		}
		// The replayed index lacks 7.3.20, so the second source would
		// answer: the rollback must be refused first.
		os.WriteFile(vj, oldIndex, 0o644)
		os.WriteFile(vj+".sig", oldSig, 0o644)
		var rb *RollbackError
		if _, err := in.Install(ctx, mustRequest(t, "3.11@7.3.20"), Options{Sources: srcs, Force: true}); !errors.As(err, &rb) {
			t.Fatalf("rollback: err = %v", err)
		}
	})
}

// A relative download_url is validated once resolved against the index
// URL: it may not reach another host's files through a local index, nor
// become a URL without a host.
func TestRelativeDownloadURLIsCheckedAfterResolution(t *testing.T) {
	local, _ := url.Parse("file:///srv/pypy/versions.json")
	remote, _ := url.Parse("https://dl.example.org/pypy/versions.json")
	name := "pypy3.11-v7.3.20-linux64.tar.gz"
	tests := []struct {
		base *url.URL
		ref  string
		want string // "" for refused
	}{
		{local, "pypy3.11-v7.3.20/" + name, "file:///srv/pypy/pypy3.11-v7.3.20/" + name},
		{local, "../other/" + name, "file:///srv/other/" + name},
		{local, "//evil.example/share/" + name, ""},
		{remote, "pypy3.11-v7.3.20/" + name, "https://dl.example.org/pypy/pypy3.11-v7.3.20/" + name},
		{remote, "//mirror.example/" + name, "https://mirror.example/" + name},
		{remote, "file:///etc/" + name, ""},
	}
	for _, tt := range tests {
		ix := index.Index{{PyPyVersion: "7.3.20", PythonVersion: "3.11.13", Stable: true,
			Files: []index.File{{Filename: name, Arch: "x64", Platform: "linux", DownloadURL: tt.ref, SHA256: anySum}}}}
		err := validateIndex(ix, tt.base.Scheme == "file")
		var u *url.URL
		if err == nil {
			li := &loadedIndex{Source: index.Source{URL: tt.base, Index: ix}}
			u, err = li.fileURL(ix[0].Files[0])
		}
		switch {
		case tt.want == "" && err == nil:
			t.Errorf("%s + %s = %s, want refused", tt.base, tt.ref, u)
		case tt.want != "" && (err != nil || u.String() != tt.want):
			t.Errorf("%s + %s = %v, %v; want %s", tt.base, tt.ref, u, err, tt.want)
		}
	}
}

func TestDecompressionBombIsCapped(t *testing.T) {
	defer func(old int64) { minTreeCap = old }(minTreeCap)
	minTreeCap = 1 << 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	top := rel311.name + "-" + rel311.suffix
	es := fakeTree(top, rel311.python, nil)
	// 16 MiB of zeros compress to a few KiB: far beyond 50 times.
	es = append(es, entry{name: top + "/lib/bomb", typ: tar.TypeReg, mode: 0o644, body: strings.Repeat("\x00", 16<<20)})
	src := t.TempDir()
	publishEntries(t, src, "", rel311, es)
	d := testDirs(t)
	_, err := newTestInstaller(t, d).Install(ctx, mustRequest(t, "3.11"), Options{Index: src})
	var tl *archive.TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v", err)
	}
	assertNothingInstalled(t, d)
}

func TestHugeVersionFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), VersionFileName)
	os.WriteFile(p, []byte(strings.Repeat("3", 10<<20)), 0o644)
	_, _, err := ReadVersionFile(p)
	var sl *SizeLimitError
	if !errors.As(err, &sl) {
		t.Fatalf("err = %v", err)
	}
	// A long line under the cap is reported (shortened), not taken as empty.
	os.WriteFile(p, []byte(strings.Repeat("x", 60<<10)), 0o644)
	reqs, notes, err := ReadVersionFile(p)
	if err != nil || len(reqs) != 0 || len(notes) != 1 || strings.Contains(notes[0], "is empty") || len(notes[0]) > 1024 {
		t.Fatalf("reqs = %v, notes = %.200q, err = %v", reqs, notes, err)
	}
	// A line too long to scan is an error, not an empty file.
	os.WriteFile(p, []byte("pypy"+strings.Repeat("x", 64<<10-4)), 0o644)
	if _, _, err := ReadVersionFile(p); err == nil || strings.Contains(err.Error(), "is empty") {
		t.Fatalf("err = %v", err)
	}
}

func TestSymlinkedTrustedKeyIsUsed(t *testing.T) {
	dir := t.TempDir()
	_, pub := writeKey(t, dir, "release.pub")
	l := Layout{Data: t.TempDir()}
	os.MkdirAll(l.TrustedKeys(), 0o755)
	if err := os.Symlink(pub, filepath.Join(l.TrustedKeys(), "linked.pub")); err != nil {
		t.Fatal(err)
	}
	ks, err := TrustedKeys(l)
	if err != nil || len(ks) != 1 || ks[0].Name != "linked.pub" {
		t.Fatalf("keys = %v, %v", ks, err)
	}
	// A dangling one is an error, not silently no key.
	os.Symlink(filepath.Join(dir, "gone.pub"), filepath.Join(l.TrustedKeys(), "gone.pub"))
	if _, err := TrustedKeys(l); err == nil {
		t.Fatal("dangling trusted key ignored")
	}
}

func TestUninstallReadOnlyTree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	src := t.TempDir()
	publishFixtures(t, src, "", rel311)
	d := testDirs(t)
	l := Layout{Data: d.Data}
	res, err := newTestInstaller(t, d).Install(ctx, mustRequest(t, "3.11"), Options{Index: src})
	if err != nil {
		t.Fatal(err)
	}
	// As an older pypyctl left it: read-only directories, top included.
	ro := filepath.Join(res.Dir, "lib", "ro")
	os.MkdirAll(ro, 0o755)
	os.WriteFile(filepath.Join(ro, "f"), []byte("x"), 0o444)
	os.Chmod(ro, 0o555)
	os.Chmod(res.Dir, 0o555)
	if _, err := Uninstall(ctx, l, mustRequest(t, res.Name)); err != nil {
		t.Fatal(err)
	}
	assertNothingInstalled(t, d)
}

func TestBadCertificateIsNotRetried(t *testing.T) {
	// The client does not trust the test server's certificate.
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	loc := jsonIndex(t, index.File{Filename: "pypy3.11-v7.3.20-linux64.tar.gz", Arch: "x64", Platform: "linux",
		DownloadURL: srv.URL + "/a.tar.gz", SHA256: anySum}, "7.3.20")
	d := testDirs(t)
	in := newTestInstaller(t, d)
	in.Retries = 3
	if _, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: loc}); err == nil || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("err = %v (want one attempt)", err)
	}
}

func TestLocalArchiveMustBeARegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pypy3.11-v7.3.20-linux64.tar.gz")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		testtool.Missing(t, "mkfifo: %v", err)
	}
	for _, src := range []string{fifo, "/dev/zero"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		loc := jsonIndex(t, index.File{Filename: "pypy3.11-v7.3.20-linux64.tar.gz", Arch: "x64", Platform: "linux",
			DownloadURL: "file://" + src, SHA256: anySum}, "7.3.20")
		_, err := newTestInstaller(t, testDirs(t)).Install(ctx, mustRequest(t, "3.11"), Options{Index: loc})
		cancel()
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: err = %v", src, err)
		}
	}
}
