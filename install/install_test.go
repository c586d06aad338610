package install

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// runFake runs an installed fake interpreter and returns its output.
func runFake(t *testing.T, exe string, args ...string) string {
	t.Helper()
	out, err := exec.Command(exe, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", exe, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestInstallOverHTTPAndFromPath(t *testing.T) {
	ctx := context.Background()
	formats := []string{"tar.gz", "tar.bz2", "zip"}
	for _, format := range formats {
		t.Run(format, func(t *testing.T) {
			r311 := rel311
			r311.format = format
			// Over HTTP: publish with the server's URL as base.
			dest := t.TempDir()
			srv := newServer(t, dest)
			publishFixtures(t, dest, srv.URL, r311, rel27, rel39)
			d := testDirs(t)
			in := newTestInstaller(t, d)
			res, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: srv.URL + "/"})
			if err != nil {
				t.Fatal(err)
			}
			want := "pypy3.11-v7.3.20-linux64"
			if res.Status != StatusInstalled || res.Name != want || res.PythonVersion != "3.11.13" || res.ChecksumFrom != "index" || res.CacheHit {
				t.Fatalf("result = %s", mustJSON(res))
			}
			if got := runFake(t, res.Executable, "-c", "pass"); got != "fake-pypy "+want+" -c pass" {
				t.Errorf("interpreter says %q", got)
			}
			if filepath.Base(res.Executable) != "pypy3" || res.Dir != filepath.Join(d.Data, "versions", want) {
				t.Errorf("executable %s in %s", res.Executable, res.Dir)
			}
			// Installed versions satisfy later requests without the index.
			res, err = in.Install(ctx, mustRequest(t, "pypy3.11"), Options{Index: "http://127.0.0.1:1/unreachable.json"})
			if err != nil || res.Status != StatusAlreadyInstalled || res.Name != want || !strings.Contains(res.Note, "unavailable") {
				t.Fatalf("offline install = %s, %v", mustJSON(res), err)
			}
			// A missing index is a mistake, reported even when installed.
			var nf *NotFoundError
			if _, err := in.Install(ctx, mustRequest(t, "3.11"), Options{Index: filepath.Join(t.TempDir(), "versions.json")}); !errors.As(err, &nf) {
				t.Fatalf("missing index: %v", err)
			}
			res, err = in.Install(ctx, mustRequest(t, "3.11"), Options{Index: srv.URL})
			if err != nil || res.Status != StatusAlreadyInstalled || res.Note != "" {
				t.Fatalf("second install = %s, %v", mustJSON(res), err)
			}
			// --force reinstalls from the download cache.
			res, err = in.Install(ctx, mustRequest(t, "3.11"), Options{Index: srv.URL + "/versions.json", Force: true})
			if err != nil || res.Status != StatusInstalled || !res.CacheHit {
				t.Fatalf("forced install = %s, %v", mustJSON(res), err)
			}

			// From a path: the index as a directory, archives as file:// URLs.
			local := t.TempDir()
			publishFixtures(t, local, "", r311, rel27)
			d2 := testDirs(t)
			res, err = newTestInstaller(t, d2).Install(ctx, mustRequest(t, "2.7"), Options{Index: local})
			if err != nil {
				t.Fatal(err)
			}
			if res.Name != "pypy2.7-v7.3.20-linux64" || filepath.Base(res.Executable) != "pypy" || !strings.HasPrefix(res.URL, "file://") {
				t.Fatalf("2.7 result = %s", mustJSON(res))
			}
			runFake(t, res.Executable)
		})
	}
}

func mustRequest(t testing.TB, s string) Request {
	t.Helper()
	r, err := ParseRequest(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInstallNightly(t *testing.T) {
	ctx := context.Background()
	dest := t.TempDir()
	n := fixtureRelease{name: "pypy-c-jit-101-0123456789ab", pypy: "7.3.21", python: "3.11.13", stable: true, nightly: true, format: "tar.gz", suffix: "linux64"}
	publishFixtures(t, dest, "", rel311, n)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	tests := []struct {
		req, status, name string
	}{
		{"3.11", StatusInstalled, "pypy3.11-v7.3.20-linux64"},
		{"nightly", StatusInstalled, "pypy-c-jit-101-0123456789ab-linux64"},
		{"3.11@nightly", StatusAlreadyInstalled, "pypy-c-jit-101-0123456789ab-linux64"},
		{"3.11", StatusAlreadyInstalled, "pypy3.11-v7.3.20-linux64"},
	}
	for _, tt := range tests {
		res, err := in.Install(ctx, mustRequest(t, tt.req), Options{Index: dest})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != tt.status || res.Name != tt.name {
			t.Errorf("install %s = %s %s, want %s %s", tt.req, res.Status, res.Name, tt.status, tt.name)
		}
	}
	// The stable release stays the default; the nightly is never stable.
	sel, err := FindInstalled(Layout{Data: d.Data}, mustRequest(t, "3.11"))
	if err != nil || sel.Name != "pypy3.11-v7.3.20-linux64" {
		t.Errorf("3.11 resolves to %s, %v", sel.Name, err)
	}
}

func TestInstallDryRun(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", rel311)
	d := testDirs(t)
	res, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: dest, DryRun: true})
	if err != nil || res.Status != StatusWouldInstall || res.Filename != rel311.archiveName() {
		t.Fatalf("dry run = %s, %v", mustJSON(res), err)
	}
	assertNothingInstalled(t, d)
	if _, err := os.Stat(d.Downloads()); !os.IsNotExist(err) {
		t.Error("dry run downloaded")
	}
}

func TestInstallResumesAfterTruncation(t *testing.T) {
	dest := t.TempDir()
	blob := make([]byte, 256<<10)
	rand.Read(blob)
	r := rel311
	r.blob = blob
	srv := newServer(t, dest)
	publishFixtures(t, dest, srv.URL, r)
	srv.truncateOnce.Store(true)
	d := testDirs(t)
	res, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusInstalled || srv.rangeRequests() != 1 {
		t.Fatalf("status %s, %d range requests; log %v", res.Status, srv.rangeRequests(), srv.requests)
	}
}

func TestInstallChecksumFromSHA256SUMS(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", rel311)
	// Strip the digests from the index, as pypy.org's has none.
	ix, _ := index.ReadFile(filepath.Join(dest, "versions.json"))
	for i := range ix {
		for j := range ix[i].Files {
			ix[i].Files[j].SHA256 = ""
		}
	}
	fsutil.WriteAtomic(filepath.Join(dest, "versions.json"), 0o644, ix.Encode)
	d := testDirs(t)
	in := newTestInstaller(t, d)
	res, err := in.Install(context.Background(), mustRequest(t, "3.11"), Options{Index: dest})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.ChecksumFrom, "/pypy3.11-v7.3.20/SHA256SUMS") {
		t.Errorf("checksum from %s", res.ChecksumFrom)
	}
	// Without SHA256SUMS the install is refused.
	os.Remove(filepath.Join(dest, "pypy3.11-v7.3.20", "SHA256SUMS"))
	d2 := testDirs(t)
	_, err = newTestInstaller(t, d2).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: dest})
	var nc *NoChecksumError
	if !errors.As(err, &nc) {
		t.Fatalf("err = %v, want NoChecksumError", err)
	}
	assertNothingInstalled(t, d2)
}

// refusal is a broken index or archive that install must refuse.
type refusal struct {
	name string
	// setup prepares dest (served over HTTP at base) and returns the
	// request.
	setup func(t *testing.T, dest, base string, srv *server) string
	check func(t *testing.T, err error)
}

func TestInstallRefusals(t *testing.T) {
	// evil publishes one archive with the given entries under an honest
	// digest, so only extraction can refuse it.
	evil := func(format string, es []entry) func(t *testing.T, dest, base string, srv *server) string {
		return func(t *testing.T, dest, base string, srv *server) string {
			name := "pypy3.11-v7.3.20-linux64." + format
			os.MkdirAll(filepath.Join(dest, "r"), 0o755)
			p := filepath.Join(dest, "r", name)
			writeArchive(t, p, es)
			writeIndex(t, filepath.Join(dest, "versions.json"), index.Version{
				PyPyVersion: "7.3.20", PythonVersion: "3.11.13", Stable: true, Date: "2025-07-04",
				Files: []index.File{{Filename: name, Arch: "x64", Platform: "linux", DownloadURL: base + "/r/" + name, SHA256: fileSHA(t, p)}},
			})
			return "3.11"
		}
	}
	top := "pypy3.11-v7.3.20-linux64"
	// with is the honest tree plus evil entries (a fresh slice each time:
	// appending to a shared one would let cases overwrite each other).
	with := func(evil ...entry) []entry { return append(fakeTree(top, "3.11.13", nil), evil...) }
	wantUnsafe := func(entry string) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			if !isUnsafeEntry(err) || !strings.Contains(err.Error(), entry) {
				t.Fatalf("err = %v, want an unsafe-entry refusal naming %q", err, entry)
			}
		}
	}
	tests := []refusal{
		{
			name: "wrong sha256",
			setup: func(t *testing.T, dest, base string, srv *server) string {
				publishFixtures(t, dest, base, rel311)
				ix, _ := index.ReadFile(filepath.Join(dest, "versions.json"))
				ix[0].Files[0].SHA256 = strings.Repeat("0", 64)
				fsutil.WriteAtomic(filepath.Join(dest, "versions.json"), 0o644, ix.Encode)
				return "3.11"
			},
			check: func(t *testing.T, err error) {
				var dm *fsutil.DigestMismatchError
				if !errors.As(err, &dm) || dm.Expected != strings.Repeat("0", 64) || !strings.Contains(err.Error(), "got ") {
					t.Fatalf("err = %v, want DigestMismatchError naming both digests", err)
				}
			},
		},
		{
			name: "truncated download",
			setup: func(t *testing.T, dest, base string, srv *server) string {
				publishFixtures(t, dest, base, rel311)
				srv.truncateAt.Store(100)
				return "3.11"
			},
			check: func(t *testing.T, err error) {
				var te *TruncatedError
				if !errors.As(err, &te) || te.Got != 100 || !strings.Contains(err.Error(), "gave up after 3 attempts") {
					t.Fatalf("err = %v, want TruncatedError after retries", err)
				}
			},
		},
		{
			name: "truncated file on the server",
			setup: func(t *testing.T, dest, base string, srv *server) string {
				publishFixtures(t, dest, base, rel311)
				p := filepath.Join(dest, rel311.name, rel311.archiveName())
				b, _ := os.ReadFile(p)
				os.WriteFile(p, b[:len(b)/2], 0o644)
				return "3.11"
			},
			check: func(t *testing.T, err error) {
				var dm *fsutil.DigestMismatchError
				if !errors.As(err, &dm) {
					t.Fatalf("err = %v, want DigestMismatchError", err)
				}
			},
		},
		{
			name: "not a release tree",
			setup: evil("tar.gz", []entry{
				{name: top + "/", typ: tar.TypeDir, mode: 0o755},
				{name: top + "/README", typ: tar.TypeReg, mode: 0o644, body: "hi"},
			}),
			check: func(t *testing.T, err error) {
				if err == nil || !strings.Contains(err.Error(), "not a PyPy release tree") {
					t.Fatalf("err = %v", err)
				}
			},
		},
		{
			name:  "tar with ../ entry",
			setup: evil("tar.gz", with(entry{name: top + "/../../evil", typ: tar.TypeReg, mode: 0o644, body: "x"})),
			check: wantUnsafe("/../../evil"),
		},
		{
			name:  "tar with absolute path",
			setup: evil("tar.gz", with(entry{name: "/tmp/pypyctl-evil-abs", typ: tar.TypeReg, mode: 0o644, body: "x"})),
			check: wantUnsafe("/tmp/pypyctl-evil-abs"),
		},
		{
			name: "symlink pointing outside",
			setup: evil("tar.bz2", with(
				entry{name: top + "/lib/out", typ: tar.TypeSymlink, link: "../../../../outside"},
				entry{name: top + "/lib/out/evil", typ: tar.TypeReg, mode: 0o644, body: "x"})),
			check: wantUnsafe("lib/out"),
		},
		{
			name:  "hard link outside",
			setup: evil("tar.gz", with(entry{name: top + "/lib/passwd", typ: tar.TypeLink, link: "../../../../../etc/passwd"})),
			check: wantUnsafe("lib/passwd"),
		},
		{
			name:  "device file",
			setup: evil("tar.gz", with(entry{name: top + "/dev-null", typ: tar.TypeChar, mode: 0o666})),
			check: wantUnsafe("dev-null"),
		},
		{
			name:  "duplicate entry",
			setup: evil("tar.gz", with(entry{name: top + "/LICENSE", typ: tar.TypeReg, mode: 0o644, body: "swapped"})),
			check: wantUnsafe("LICENSE"),
		},
		{
			name:  "zip slip",
			setup: evil("zip", with(entry{name: top + "/../../zipslip", typ: tar.TypeReg, mode: 0o644, body: "x"})),
			check: wantUnsafe("zipslip"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			srv := newServer(t, dest)
			req := tt.setup(t, dest, srv.URL, srv)
			d := testDirs(t)
			_, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, req), Options{Index: srv.URL + "/versions.json"})
			tt.check(t, err)
			assertNothingInstalled(t, d)
			if _, err := os.Stat("/tmp/pypyctl-evil-abs"); err == nil {
				t.Error("absolute entry written")
			}
		})
	}
}

func TestInstallNotFoundIsNotRetried(t *testing.T) {
	dest := t.TempDir()
	srv := newServer(t, dest)
	publishFixtures(t, dest, srv.URL, rel311)
	os.Remove(filepath.Join(dest, rel311.name, rel311.archiveName()))
	d := testDirs(t)
	_, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Index: srv.URL})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), rel311.archiveName()) {
		t.Fatalf("err = %v, want NotFoundError", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	gets := 0
	for _, r := range srv.requests {
		if strings.Contains(r, rel311.archiveName()) {
			gets++
		}
	}
	if gets != 1 {
		t.Errorf("a 404 was retried: %v", srv.requests)
	}
	assertNothingInstalled(t, d)
}

func TestParseContentRange(t *testing.T) {
	tests := []struct {
		in          string
		start, size int64
		ok          bool
	}{
		{"bytes 100-199/200", 100, 200, true},
		{"bytes 0-0/*", 0, -1, true},
		{"bytes */200", 0, 0, false},
		{"items 1-2/3", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		start, size, ok := parseContentRange(tt.in)
		if ok != tt.ok || (ok && (start != tt.start || size != tt.size)) {
			t.Errorf("parseContentRange(%q) = %d, %d, %v", tt.in, start, size, ok)
		}
	}
}
