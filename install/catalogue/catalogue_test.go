package catalogue

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/publish/index"
)

// The committed catalogue is exactly what the generator makes from the
// shared upstream files: rerun `go run ./scripts/catalogue` when not.
func TestCommittedCatalogueIsGenerated(t *testing.T) {
	v, err := os.Open(testenv.SharedUpstream(t, "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	c, err := os.Open(testenv.SharedUpstream(t, "checksums.rst"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ix, err := Generate(v, c)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, ix); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), UpstreamJSON()) {
		t.Fatal("install/catalogue/upstream.json is stale: run `go run ./scripts/catalogue`")
	}
}

func findFile(ix index.Index, name string) (index.Version, index.File, bool) {
	for _, v := range ix {
		for _, f := range v.Files {
			if f.Filename == name {
				return v, f, true
			}
		}
	}
	return index.Version{}, index.File{}, false
}

func TestUpstreamKnownValues(t *testing.T) {
	ix, err := Upstream()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file, sha, python, pypy string
	}{
		{"pypy3.11-v7.3.20-linux64.tar.bz2", "1410db3a7ae47603e2b7cbfd7ff6390b891b2e041c9eb4f1599f333677bccb3e", "3.11.13", "7.3.20"},
		{"pypy3.11-v7.3.20-aarch64.tar.bz2", "9347fe691a07fd9df17a1b186554fb9d9e6210178ffef19520a579ce1f9eb741", "3.11.13", "7.3.20"},
		{"pypy3.11-v7.3.23-linux64.tar.gz", "2bcab031cef7a37fe1930b51f7091e78a191ae63f80eca00a265d3378c3a645b", "3.11.15", "7.3.23"},
		// Listed only on the checksums page, not in versions.json.
		{"pypy3.11-v7.3.23-linux64.tar.bz2", "16f9f56e82d1f4ec95a324c1a8cacfd78afc7f0656c0a809a18725ef4391453a", "3.11.15", "7.3.23"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			v, f, ok := findFile(ix, tt.file)
			if !ok {
				t.Fatalf("%s not in the catalogue", tt.file)
			}
			if f.SHA256 != tt.sha || v.PythonVersion != tt.python || v.PyPyVersion != tt.pypy {
				t.Errorf("got %s %s %s", f.SHA256, v.PythonVersion, v.PyPyVersion)
			}
			if !strings.HasSuffix(f.DownloadURL, "/"+tt.file) {
				t.Errorf("download_url %s", f.DownloadURL)
			}
		})
	}
	// The newest 3.11 is 7.3.23 (Python 3.11.15) in .tar.gz; no rc or
	// nightly made it in; source archives are not installable and left out.
	var newest *index.Version
	for i := range ix {
		v := &ix[i]
		if !v.Stable || v.IsNightly() || index.IsPrerelease(v.PyPyVersion) {
			t.Errorf("unstable entry %s/%s", v.PyPyVersion, v.PythonVersion)
		}
		for _, f := range v.Files {
			if strings.Contains(f.Filename, "-src.") {
				t.Errorf("source archive %s", f.Filename)
			}
		}
		if index.HasPrefix(v.PythonVersion, "3.11") && (newest == nil || index.CompareVersions(v.PyPyVersion, newest.PyPyVersion) > 0) {
			newest = v
		}
	}
	if newest == nil || newest.PyPyVersion != "7.3.23" || newest.PythonVersion != "3.11.15" || !strings.HasSuffix(newest.Files[0].Filename, ".tar.gz") {
		t.Errorf("newest 3.11 = %+v", newest)
	}
}

func TestGenerate(t *testing.T) {
	versions := `[
 {"pypy_version":"7.3.24rc1","python_version":"3.11.16","stable":false,"latest_pypy":false,"files":[{"filename":"pypy3.11-v7.3.24rc1-linux64.tar.gz","arch":"x64","platform":"linux","download_url":"https://dl.example/pypy/pypy3.11-v7.3.24rc1-linux64.tar.gz"}]},
 {"pypy_version":"7.3.23","python_version":"3.11.15","stable":true,"latest_pypy":true,"date":"2026-05-26","files":[
  {"filename":"pypy3.11-v7.3.23-linux64.tar.gz","arch":"x64","platform":"linux","download_url":"https://dl.example/pypy/pypy3.11-v7.3.23-linux64.tar.gz"},
  {"filename":"pypy3.11-v7.3.23-win64.zip","arch":"x64","platform":"win64","download_url":"https://dl.example/pypy/pypy3.11-v7.3.23-win64.zip"}]},
 {"pypy_version":"nightly","python_version":"3.11","stable":false,"latest_pypy":false,"files":[]}
]`
	sums := "pypy3.11-v7.3.23 sha256::\n\n    " + strings.Repeat("a", 64) + "  pypy3.11-v7.3.23-linux64.tar.gz\n    " +
		strings.Repeat("b", 64) + "  pypy3.11-v7.3.23-linux64.tar.bz2\n    " + strings.Repeat("c", 64) + "  pypy3.11-v7.3.23-src.tar.gz\n"
	ix, err := Generate(strings.NewReader(versions), strings.NewReader(sums))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix) != 1 || len(ix[0].Files) != 3 {
		t.Fatalf("got %+v", ix)
	}
	want := []struct{ name, sum, url string }{
		{"pypy3.11-v7.3.23-linux64.tar.gz", strings.Repeat("a", 64), "https://dl.example/pypy/pypy3.11-v7.3.23-linux64.tar.gz"},
		{"pypy3.11-v7.3.23-win64.zip", "", "https://dl.example/pypy/pypy3.11-v7.3.23-win64.zip"},
		{"pypy3.11-v7.3.23-linux64.tar.bz2", strings.Repeat("b", 64), "https://dl.example/pypy/pypy3.11-v7.3.23-linux64.tar.bz2"},
	}
	for i, w := range want {
		f := ix[0].Files[i]
		if f.Filename != w.name || f.SHA256 != w.sum || f.DownloadURL != w.url {
			t.Errorf("file %d = %+v, want %+v", i, f, w)
		}
	}
}

func TestParseChecksumsConflict(t *testing.T) {
	in := strings.Repeat("a", 64) + "  x.tar.gz\n" + strings.Repeat("b", 64) + "  x.tar.gz\n"
	if _, err := ParseChecksums(strings.NewReader(in)); err == nil || !strings.Contains(err.Error(), "x.tar.gz") {
		t.Errorf("err = %v", err)
	}
}
