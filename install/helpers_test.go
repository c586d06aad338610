package install

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dsnet/compress/bzip2"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/publish"
	"github.com/pypyctl/pypyctl/publish/index"
)

// entry is one archive member.
type entry struct {
	name string
	typ  byte // tar.TypeReg, TypeDir, TypeSymlink, TypeLink
	body string
	link string
	mode int64
}

// fakeTree is a minimal upstream-layout release tree whose interpreter is
// a shell script that says who it is.
func fakeTree(top, python string, blob []byte) []entry {
	short := python
	if p, ok := index.VersionParts(python); ok && len(p) >= 2 {
		short = strconv.Itoa(p[0]) + "." + strconv.Itoa(p[1])
	}
	exe := "pypy" + short
	es := []entry{
		{name: top + "/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "/bin/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "/bin/" + exe, typ: tar.TypeReg, mode: 0o755,
			body: "#!/bin/sh\necho \"fake-pypy " + top + " $*\"\n"},
		{name: top + "/lib/", typ: tar.TypeDir, mode: 0o755},
		{name: top + "/LICENSE", typ: tar.TypeReg, mode: 0o644, body: "MIT\n"},
	}
	if strings.HasPrefix(python, "2") {
		es = append(es, entry{name: top + "/bin/pypy", typ: tar.TypeSymlink, link: exe})
	} else {
		es = append(es,
			entry{name: top + "/bin/pypy3", typ: tar.TypeSymlink, link: exe},
			entry{name: top + "/bin/pypy", typ: tar.TypeSymlink, link: exe})
	}
	if blob != nil {
		es = append(es, entry{name: top + "/lib/blob", typ: tar.TypeReg, mode: 0o644, body: string(blob)})
	}
	return es
}

func tarBytes(t testing.TB, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link, ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeArchive writes es as path in the format its name says.
func writeArchive(t testing.TB, path string, es []entry) {
	t.Helper()
	_, format, ok := index.SplitFormat(filepath.Base(path))
	if !ok {
		t.Fatalf("no format in %s", path)
	}
	var out bytes.Buffer
	switch format {
	case "tar.gz":
		zw, _ := gzip.NewWriterLevel(&out, gzip.BestSpeed)
		zw.Write(tarBytes(t, es))
		zw.Close()
	case "tar.bz2":
		zw, err := bzip2.NewWriter(&out, &bzip2.WriterConfig{Level: 1})
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(tarBytes(t, es))
		zw.Close()
	case "zip":
		zw := zip.NewWriter(&out)
		for _, e := range es {
			h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
			switch e.typ {
			case tar.TypeDir:
				h.SetMode(os.ModeDir | 0o755)
			case tar.TypeSymlink:
				h.SetMode(os.ModeSymlink | 0o777)
			default:
				h.SetMode(os.FileMode(e.mode))
			}
			w, err := zw.CreateHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if e.typ == tar.TypeSymlink {
				io.WriteString(w, e.link)
			} else {
				io.WriteString(w, e.body)
			}
		}
		zw.Close()
	default:
		t.Fatalf("fixture format %s not supported", format)
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSHA(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fixtureRelease describes one archive to publish.
type fixtureRelease struct {
	name, pypy, python, date string
	stable, nightly          bool
	format                   string // tar.gz, tar.bz2, zip
	suffix                   string // linux64, aarch64
	blob                     []byte
}

func (r fixtureRelease) archiveName() string {
	return r.name + "-" + r.suffix + "." + r.format
}

var (
	rel311 = fixtureRelease{name: "pypy3.11-v7.3.20", pypy: "7.3.20", python: "3.11.13", date: "2025-07-04", stable: true, format: "tar.gz", suffix: "linux64"}
	rel27  = fixtureRelease{name: "pypy2.7-v7.3.20", pypy: "7.3.20", python: "2.7.18", date: "2025-07-04", stable: true, format: "tar.bz2", suffix: "linux64"}
	rel39  = fixtureRelease{name: "pypy3.9-v7.3.11", pypy: "7.3.11", python: "3.9.16", date: "2022-12-29", stable: true, format: "tar.bz2", suffix: "linux64"}
)

// publishFixtures builds each release's archive and publishes it into
// dest with `publish` (the real producer of indexes), download URLs
// under base ("" = file:// URLs of dest).
func publishFixtures(t testing.TB, dest, base string, rels ...fixtureRelease) {
	t.Helper()
	for _, r := range rels {
		publishEntries(t, dest, base, r, fakeTree(r.name+"-"+r.suffix, r.python, r.blob))
	}
}

// publishEntries publishes one release whose archive holds es.
func publishEntries(t testing.TB, dest, base string, r fixtureRelease, es []entry) {
	t.Helper()
	dist := t.TempDir()
	an := r.archiveName()
	writeArchive(t, filepath.Join(dist, an), es)
	p, _ := index.PlatformOfSuffix(r.suffix)
	listed := sums.Sums{an: fileSHA(t, filepath.Join(dist, an))}
	os.WriteFile(filepath.Join(dist, "SHA256SUMS"), listed.Bytes(), 0o644)
	err := publish.WriteRelease(dist, publish.Release{
		Name: r.name, PyPyVersion: r.pypy, PythonVersion: r.python, Date: r.date, Stable: r.stable,
		Files: []publish.ReleaseFile{{Target: "t", Filename: an, Format: r.format, Arch: p.Arch, Platform: p.Platform}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := publish.Publish(context.Background(), publish.Options{Dist: dist, Dest: dest, BaseURL: base, Nightly: r.nightly}); err != nil {
		t.Fatal(err)
	}
}

// server serves a published directory through publish's real handler
// (Range, ETag), counting requests; hooks make it misbehave.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []string // "GET /path range"
	// truncateAt cuts every archive response off after this many bytes
	// of the file (0: never).
	truncateAt atomic.Int64
	// truncateOnce cuts only the first archive response.
	truncateOnce atomic.Bool
	// slow delays every 64 KiB of archive bytes.
	slow atomic.Int64 // nanoseconds
}

func newServer(t testing.TB, dir string) *server {
	t.Helper()
	h, err := publish.NewHandler(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path+" "+r.Header.Get("Range"))
		s.mu.Unlock()
		if _, _, isArchive := index.SplitFormat(r.URL.Path); isArchive {
			ww := &cutWriter{ResponseWriter: w, delay: time.Duration(s.slow.Load())}
			if n := s.truncateAt.Load(); n > 0 {
				ww.limited, ww.left = true, n-rangeStart(r)
			}
			if s.truncateOnce.CompareAndSwap(true, false) {
				ww.limited, ww.left = true, 1000
			}
			if ww.limited || ww.delay != 0 {
				h.ServeHTTP(ww, r)
				if ww.cut {
					// Drop the connection: the client sees a short body.
					panic(http.ErrAbortHandler)
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { s.Close(); h.Close() })
	return s
}

func (s *server) rangeRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if strings.Contains(r, "bytes=") {
			n++
		}
	}
	return n
}

func rangeStart(r *http.Request) int64 {
	var n int64
	if v, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes="); ok {
		for _, c := range v {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int64(c-'0')
		}
	}
	return n
}

// cutWriter passes at most left body bytes when limited, and sleeps
// delay per 64 KiB.
type cutWriter struct {
	http.ResponseWriter
	limited bool
	left    int64
	delay   time.Duration
	cut     bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		n := min(len(p), 64<<10)
		if c.limited {
			if c.left <= 0 {
				// Send what there is (headers at least), then fail.
				if f, ok := c.ResponseWriter.(http.Flusher); ok {
					f.Flush()
				}
				c.cut = true
				return total, io.ErrShortWrite
			}
			n = int(min(int64(n), c.left))
			c.left -= int64(n)
		}
		if c.delay > 0 {
			time.Sleep(c.delay)
		}
		m, err := c.ResponseWriter.Write(p[:n])
		total += m
		if err != nil {
			return total, err
		}
		if f, ok := c.ResponseWriter.(http.Flusher); ok && c.delay > 0 {
			f.Flush()
		}
		p = p[n:]
	}
	return total, nil
}

// testDirs are data/cache/config dirs under one temp home.
func testDirs(t testing.TB) dirs.Dirs {
	home := t.TempDir()
	return dirs.Dirs{Data: filepath.Join(home, "data"), Cache: filepath.Join(home, "cache"), Config: filepath.Join(home, "config")}
}

func newTestInstaller(t testing.TB, d dirs.Dirs) *Installer {
	return &Installer{
		Dirs: d, Host: index.Platform{Arch: "x64", Platform: "linux"},
		Extractor: testExtractor(), Retries: 2, Backoff: time.Millisecond,
	}
}

// assertNothingInstalled checks that a refused install left no version,
// no receipt and no work directory behind.
func assertNothingInstalled(t testing.TB, d dirs.Dirs) {
	t.Helper()
	l := Layout{Data: d.Data}
	ents, _ := os.ReadDir(l.Versions())
	for _, e := range ents {
		t.Errorf("versions/ holds %s after a refused install", e.Name())
	}
	recs, _ := os.ReadDir(l.Receipts())
	for _, e := range recs {
		t.Errorf("receipts/ holds %s after a refused install", e.Name())
	}
}

// writeIndex writes a versions.json with one entry per file.
func writeIndex(t testing.TB, path string, v index.Version) {
	t.Helper()
	ix, err := index.Index{}.Merge(v)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	ix.Encode(&b)
	os.WriteFile(path, b.Bytes(), 0o644)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
