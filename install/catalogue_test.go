package install

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/install/catalogue"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/publish/index"
)

const upstream311Sum = "2bcab031cef7a37fe1930b51f7091e78a191ae63f80eca00a265d3378c3a645b"

// On a fresh home, with no source configured, 3.11 resolves to upstream's
// newest 3.11 with pypy.org's digest from the built-in catalogue.
func TestDryRunFromBuiltInCatalogue(t *testing.T) {
	tests := []struct {
		name, mirror, wantURL string
	}{
		{"upstream", "", "https://downloads.python.org/pypy/pypy3.11-v7.3.23-linux64.tar.gz"},
		{"mirror", "http://127.0.0.1:9/pypy", "http://127.0.0.1:9/pypy/pypy3.11-v7.3.23-linux64.tar.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srcs, err := ResolveSources(SourceFlags{Mirror: tt.mirror}, nil, Config{})
			if err != nil {
				t.Fatal(err)
			}
			in := newTestInstaller(t, testDirs(t))
			res, err := in.Install(context.Background(), mustRequest(t, "3.11"), Options{Sources: srcs, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusWouldInstall || res.PyPyVersion != "7.3.23" || res.PythonVersion != "3.11.15" ||
				res.Filename != "pypy3.11-v7.3.23-linux64.tar.gz" || res.SHA256 != upstream311Sum || res.URL != tt.wantURL ||
				res.SourceFrom != "default" || !strings.Contains(res.Source, "upstream") {
				t.Errorf("got %s", mustJSON(res))
			}
		})
	}
}

// mirrorFixture writes an archive under upstream's file name into a
// mirror directory served on 127.0.0.1 and a catalogue override listing
// it with upstream's download_url and the given digest ("" = the real one).
func mirrorFixture(t *testing.T, sum string) (mirrorURL, cataloguePath string) {
	t.Helper()
	dir := t.TempDir()
	name := "pypy3.11-v7.3.23-linux64.tar.gz"
	os.MkdirAll(filepath.Join(dir, "mirror"), 0o755)
	writeArchive(t, filepath.Join(dir, "mirror", name), fakeTree("pypy3.11-v7.3.23-linux64", "3.11.15", nil))
	if sum == "" {
		sum = fileSHA(t, filepath.Join(dir, "mirror", name))
	}
	cat := filepath.Join(dir, "catalogue.json")
	writeIndex(t, cat, index.Version{PyPyVersion: "7.3.23", PythonVersion: "3.11.15", Stable: true, Date: "2026-05-26",
		Files: []index.File{{Filename: name, Arch: "x64", Platform: "linux", DownloadURL: "https://downloads.python.org/pypy/" + name, SHA256: sum}}})
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(dir, "mirror"))))
	t.Cleanup(srv.Close)
	return srv.URL + "/", cat
}

func TestInstallFromMirrorWithCatalogueOverride(t *testing.T) {
	testtool.Need(t, "sh") // the fake interpreter is a sh script
	mirror, cat := mirrorFixture(t, "")
	srcs, err := ResolveSources(SourceFlags{}, func(k string) string {
		return map[string]string{MirrorEnv: mirror, CatalogueEnv: cat}[k]
	}, Config{})
	if err != nil {
		t.Fatal(err)
	}
	d := testDirs(t)
	res, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Sources: srcs})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusInstalled || res.Name != "pypy3.11-v7.3.23-linux64" || !strings.HasPrefix(res.URL, mirror) || res.ChecksumFrom != "catalogue" {
		t.Fatalf("got %s", mustJSON(res))
	}
	out, err := exec.Command(res.Executable, "-V").Output()
	if err != nil || !strings.Contains(string(out), "fake-pypy pypy3.11-v7.3.23-linux64 -V") {
		t.Errorf("interpreter: %q, %v", out, err)
	}
}

// The catalogue's digest is checked before extraction: other bytes under
// upstream's name install nothing.
func TestMirrorServingOtherBytesIsRefused(t *testing.T) {
	mirror, cat := mirrorFixture(t, upstream311Sum)
	d := testDirs(t)
	srcs := Sources{{Kind: SourceUpstream, Location: cat, From: "--catalogue", Mirror: strings.TrimRight(mirror, "/")}}
	_, err := newTestInstaller(t, d).Install(context.Background(), mustRequest(t, "3.11"), Options{Sources: srcs})
	var dm *fsutil.DigestMismatchError
	if !errors.As(err, &dm) || dm.Expected != upstream311Sum {
		t.Fatalf("err = %v, want a digest mismatch expecting %s", err, upstream311Sum)
	}
	assertNothingInstalled(t, d)
}

func TestCatalogueEntryWithoutDigestIsNotInstallable(t *testing.T) {
	cat := filepath.Join(t.TempDir(), "catalogue.json")
	writeIndex(t, cat, index.Version{PyPyVersion: "7.3.23", PythonVersion: "3.11.15", Stable: true,
		Files: []index.File{{Filename: "pypy3.11-v7.3.23-linux64.tar.gz", Arch: "x64", Platform: "linux", DownloadURL: "https://example.invalid/pypy3.11-v7.3.23-linux64.tar.gz"}}})
	srcs := Sources{{Kind: SourceUpstream, Location: cat, From: "--catalogue"}}
	_, err := newTestInstaller(t, testDirs(t)).Install(context.Background(), mustRequest(t, "3.11"), Options{Sources: srcs, DryRun: true})
	var ni *NotInstallableError
	if !errors.As(err, &ni) || !strings.Contains(err.Error(), "no published sha256") {
		t.Fatalf("err = %v", err)
	}
}

// An index comes before upstream: it answers what it has, upstream the rest.
func TestSourceOrder(t *testing.T) {
	dest := t.TempDir()
	publishFixtures(t, dest, "", fixtureRelease{name: "pypy3.9-v7.3.11", pypy: "7.3.11", python: "3.9.16", date: "2022-12-29", stable: true, format: "tar.gz", suffix: "linux64"})
	srcs, err := ResolveSources(SourceFlags{Indexes: []string{dest}}, nil, Config{})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ req, wantPyPy, wantFrom string }{
		{"3.9", "7.3.11", "--index"},
		{"3.11", "7.3.23", "default"},
		{"3.10", "7.3.19", "default"},
	}
	for _, tt := range tests {
		res, err := newTestInstaller(t, testDirs(t)).Install(context.Background(), mustRequest(t, tt.req), Options{Sources: srcs, DryRun: true})
		if err != nil {
			t.Fatalf("%s: %v", tt.req, err)
		}
		if res.PyPyVersion != tt.wantPyPy || res.SourceFrom != tt.wantFrom {
			t.Errorf("%s: got %s from %s", tt.req, res.PyPyVersion, res.SourceFrom)
		}
	}
	_, err = newTestInstaller(t, testDirs(t)).Install(context.Background(), mustRequest(t, "3.12"), Options{Sources: srcs, DryRun: true})
	if err == nil || !strings.Contains(err.Error(), dest+"/versions.json or upstream catalogue (built in); stable ones for this platform: 3.11.15 (PyPy 7.3.23), 3.10.16 (PyPy 7.3.19), 3.9.19 (PyPy 7.3.16)") {
		t.Errorf("err = %v", err)
	}
	os.Remove(filepath.Join(dest, "versions.json"))
	_, err = newTestInstaller(t, testDirs(t)).Install(context.Background(), mustRequest(t, "3.11"), Options{Sources: srcs, DryRun: true})
	if err == nil || !strings.Contains(err.Error(), "set by --index") || !strings.Contains(err.Error(), "not found") {
		t.Errorf("a missing index fell through: %v", err)
	}
}

func TestAvailableMarksEntriesWithoutDigest(t *testing.T) {
	cat := filepath.Join(t.TempDir(), "catalogue.json")
	writeIndex(t, cat, index.Version{PyPyVersion: "7.3.23", PythonVersion: "3.11.15", Stable: true,
		Files: []index.File{{Filename: "pypy3.11-v7.3.23-linux64.tar.gz", Arch: "x64", Platform: "linux", DownloadURL: "https://example.invalid/pypy3.11-v7.3.23-linux64.tar.gz"}}})
	av, err := newTestInstaller(t, testDirs(t)).Available(context.Background(), Options{Sources: Sources{{Kind: SourceUpstream, Location: cat, From: "--catalogue"}}})
	if err != nil || len(av) != 1 || av[0].Installable {
		t.Fatalf("available = %s, %v", mustJSON(av), err)
	}
}

// The built-in catalogue is not validated when loaded (it is part of
// pypyctl), so it must pass what any index or catalogue override passes:
// a regenerated upstream.json that did not would install unchecked names.
func TestBuiltInCatalogueValidates(t *testing.T) {
	ix, err := catalogue.Upstream()
	if err != nil {
		t.Fatal(err)
	}
	if err := validateIndex(ix, false); err != nil {
		t.Fatal(err)
	}
}
