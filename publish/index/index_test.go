package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"7.3.20", "7.3.20", 0},
		{"7.3.20", "7.3.9", 1},
		{"7.3.9", "7.3.20", -1},
		{"7.3.12rc1", "7.3.12", -1},
		{"7.3.12", "7.3.12rc2", 1},
		{"7.3.12rc2", "7.3.12rc1", 1},
		{"7.3.12b1", "7.3.12rc1", -1},
		{"7.3.13rc1", "7.3.12", 1},
		{"3.11", "3.11.0", 0},
		{"3.11.13", "3.9.16", 1},
		{"2.7.18", "3.6.9", -1},
		{"nightly", "7.3.1", -1},
		{"7.3.1", "nightly", 1},
		{"nightly", "nightly", 0},
		{"7.3.x", "7.3.1", -1},
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestHasPrefix(t *testing.T) {
	tests := []struct {
		v, p string
		want bool
	}{
		{"3.11.13", "3.11", true},
		{"3.11.13", "3", true},
		{"3.11.13", "3.1", false},
		{"3.11.13", "3.11.13", true},
		{"3.11", "3.11.13", false},
	}
	for _, tt := range tests {
		if got := HasPrefix(tt.v, tt.p); got != tt.want {
			t.Errorf("HasPrefix(%q, %q) = %v", tt.v, tt.p, got)
		}
	}
}

func TestParseArchiveName(t *testing.T) {
	tests := []struct {
		name string
		want ArchiveName
		ok   bool
	}{
		{"pypy3.11-v7.3.20-linux64.tar.bz2", ArchiveName{"pypy3.11-v7.3.20-linux64", "3.11", "7.3.20", "linux64", "tar.bz2"}, true},
		{"pypy2.7-v7.3.20-win64.zip", ArchiveName{"pypy2.7-v7.3.20-win64", "2.7", "7.3.20", "win64", "zip"}, true},
		{"pypy3.10-v7.3.12rc1-macos_arm64.tar.gz", ArchiveName{"pypy3.10-v7.3.12rc1-macos_arm64", "3.10", "7.3.12rc1", "macos_arm64", "tar.gz"}, true},
		{"pypy-c-jit-110000-0123456789ab-linux64.tar.bz2", ArchiveName{"pypy-c-jit-110000-0123456789ab-linux64", "", "nightly", "linux64", "tar.bz2"}, true},
		{"pypy-c-jit-latest-aarch64.tar.bz2", ArchiveName{"pypy-c-jit-latest-aarch64", "", "nightly", "aarch64", "tar.bz2"}, true},
		{"pypy3.11-v7.3.20-linux64.tar", ArchiveName{}, false},
		{"SHA256SUMS", ArchiveName{}, false},
		{"pypy3.11-v7.3.20-linux64.tar.bz2.sig", ArchiveName{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseArchiveName(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseArchiveName(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestHostPlatform(t *testing.T) {
	tests := []struct {
		goos, goarch string
		want         Platform
		err          bool
	}{
		{"linux", "amd64", Platform{"x64", "linux"}, false},
		{"linux", "arm64", Platform{"aarch64", "linux"}, false},
		{"darwin", "arm64", Platform{"arm64", "darwin"}, false},
		{"darwin", "amd64", Platform{"x64", "darwin"}, false},
		{"linux", "386", Platform{"i686", "linux"}, false},
		{"linux", "s390x", Platform{"s390x", "linux"}, false},
		{"windows", "amd64", Platform{"x64", "win64"}, false},
		{"linux", "riscv64", Platform{}, true},
	}
	for _, tt := range tests {
		got, err := HostPlatform(tt.goos, tt.goarch)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("HostPlatform(%s, %s) = %v, %v", tt.goos, tt.goarch, got, err)
		}
		if err == nil {
			found := false
			for _, p := range suffixes {
				found = found || p == got
			}
			if !found {
				t.Errorf("host pair %v is not an archive suffix's pair", got)
			}
		}
	}
}

func file(name, sum string) File {
	an, ok := ParseArchiveName(name)
	if !ok {
		panic(name)
	}
	p := suffixes[an.Suffix]
	return File{Filename: name, Arch: p.Arch, Platform: p.Platform, DownloadURL: "https://example.org/" + name, SHA256: sum}
}

func TestMerge(t *testing.T) {
	base := Index{
		{PyPyVersion: "7.3.19", PythonVersion: "3.11.11", Stable: true, LatestPyPy: true, Date: "2025-02-26", Files: []File{file("pypy3.11-v7.3.19-linux64.tar.bz2", "aa")}},
		{PyPyVersion: Nightly, PythonVersion: "3.11", Files: []File{file("pypy-c-jit-100-0123456789ab-linux64.tar.bz2", "n1")}},
	}
	tests := []struct {
		name    string
		add     Version
		wantErr bool
		check   func(t *testing.T, ix Index)
	}{
		{
			name: "new release goes first and takes latest_pypy for its python only",
			add:  Version{PyPyVersion: "7.3.20", PythonVersion: "3.11.13", Stable: true, Date: "2025-07-04", Files: []File{file("pypy3.11-v7.3.20-linux64.tar.bz2", "bb")}},
			check: func(t *testing.T, ix Index) {
				if ix[0].PyPyVersion != "7.3.20" || !ix[0].LatestPyPy {
					t.Errorf("first = %+v", ix[0])
				}
				if !ix[1].LatestPyPy {
					t.Errorf("7.3.19/3.11.11 lost latest_pypy (its python_version differs): %+v", ix[1])
				}
				if !ix[2].IsNightly() {
					t.Errorf("nightly not last")
				}
			},
		},
		{
			name: "same python version: newest pypy is the only latest",
			add:  Version{PyPyVersion: "7.3.20", PythonVersion: "3.11.11", Stable: true, Date: "2025-07-04", Files: []File{file("pypy3.11-v7.3.20-linux64.tar.bz2", "bb")}},
			check: func(t *testing.T, ix Index) {
				if !ix[0].LatestPyPy || ix[1].LatestPyPy {
					t.Errorf("latest flags: %v %v", ix[0].LatestPyPy, ix[1].LatestPyPy)
				}
			},
		},
		{
			name: "rc never latest",
			add:  Version{PyPyVersion: "7.3.21rc1", PythonVersion: "3.11.11", Stable: false, Files: []File{file("pypy3.11-v7.3.21rc1-linux64.tar.bz2", "cc")}},
			check: func(t *testing.T, ix Index) {
				if ix[0].PyPyVersion != "7.3.21rc1" || ix[0].LatestPyPy || !ix[1].LatestPyPy {
					t.Errorf("got %+v", ix[:2])
				}
			},
		},
		{
			name: "existing release gains a file",
			add:  Version{PyPyVersion: "7.3.19", PythonVersion: "3.11.11", Stable: true, Date: "2025-02-26", Files: []File{file("pypy3.11-v7.3.19-aarch64.tar.bz2", "dd")}},
			check: func(t *testing.T, ix Index) {
				if len(ix) != 2 || len(ix[0].Files) != 2 || ix[0].Files[0].Filename != "pypy3.11-v7.3.19-aarch64.tar.bz2" {
					t.Errorf("got %+v", ix[0])
				}
			},
		},
		{
			name: "same file same digest is fine",
			add:  Version{PyPyVersion: "7.3.19", PythonVersion: "3.11.11", Stable: true, Date: "2025-02-26", Files: []File{file("pypy3.11-v7.3.19-linux64.tar.bz2", "aa")}},
			check: func(t *testing.T, ix Index) {
				if len(ix[0].Files) != 1 {
					t.Errorf("got %+v", ix[0])
				}
			},
		},
		{
			name:    "same file other digest is refused",
			add:     Version{PyPyVersion: "7.3.19", PythonVersion: "3.11.11", Stable: true, Date: "2025-02-26", Files: []File{file("pypy3.11-v7.3.19-linux64.tar.bz2", "ee")}},
			wantErr: true,
		},
		{
			name:    "other date is refused",
			add:     Version{PyPyVersion: "7.3.19", PythonVersion: "3.11.11", Stable: true, Date: "2025-03-01"},
			wantErr: true,
		},
		{
			name: "nightly file for the same platform is replaced",
			add:  Version{PyPyVersion: Nightly, PythonVersion: "3.11", Files: []File{file("pypy-c-jit-101-ba9876543210-linux64.tar.bz2", "n2")}},
			check: func(t *testing.T, ix Index) {
				n := ix[len(ix)-1]
				if len(n.Files) != 1 || n.Files[0].SHA256 != "n2" || n.LatestPyPy {
					t.Errorf("nightly = %+v", n)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := json.Marshal(base)
			got, err := base.Merge(tt.add)
			after, _ := json.Marshal(base)
			if !bytes.Equal(before, after) {
				t.Fatal("Merge modified its receiver")
			}
			if tt.wantErr {
				var ce *ConflictError
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want ConflictError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if probs := got.Check(); len(probs) > 0 {
				t.Errorf("merged index has problems: %v", probs)
			}
			tt.check(t, got)
		})
	}
}

// upstreamStyle is a fixture written from pypy.org's schema.
const upstreamStyle = `[
  {"pypy_version": "7.3.20", "python_version": "3.11.13", "stable": true, "latest_pypy": true, "date": "2025-07-04",
   "files": [
    {"filename": "pypy3.11-v7.3.20-aarch64.tar.bz2", "arch": "aarch64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-aarch64.tar.bz2", "sha256": "9347fe691a07fd9df17a1b186554fb9d9e6210178ffef19520a579ce1f9eb741"},
    {"filename": "pypy3.11-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-linux64.tar.bz2", "sha256": "1410db3a7ae47603e2b7cbfd7ff6390b891b2e041c9eb4f1599f333677bccb3e"},
    {"filename": "pypy3.11-v7.3.20-linux64.tar.gz", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-linux64.tar.gz"},
    {"filename": "pypy3.11-v7.3.20-win64.zip", "arch": "x64", "platform": "win64", "download_url": "https://downloads.python.org/pypy/pypy3.11-v7.3.20-win64.zip"}
   ]},
  {"pypy_version": "7.3.20", "python_version": "2.7.18", "stable": true, "latest_pypy": true, "date": "2025-07-04",
   "files": [{"filename": "pypy2.7-v7.3.20-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy2.7-v7.3.20-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.12rc1", "python_version": "3.10.11", "stable": false, "latest_pypy": false, "date": "2023-05-28",
   "files": [{"filename": "pypy3.10-v7.3.12rc1-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.10-v7.3.12rc1-linux64.tar.bz2"}]},
  {"pypy_version": "7.3.11", "python_version": "3.9.16", "stable": true, "latest_pypy": true, "date": "2022-12-29",
   "files": [{"filename": "pypy3.9-v7.3.11-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://downloads.python.org/pypy/pypy3.9-v7.3.11-linux64.tar.bz2"}]},
  {"pypy_version": "nightly", "python_version": "3.11", "stable": false, "latest_pypy": false,
   "files": [{"filename": "pypy-c-jit-latest-linux64.tar.bz2", "arch": "x64", "platform": "linux", "download_url": "https://buildbot.pypy.org/nightly/py3.11/pypy-c-jit-latest-linux64.tar.bz2"}]}
]`

func TestParseEncodeRoundTrip(t *testing.T) {
	ix, err := Parse(strings.NewReader(upstreamStyle))
	if err != nil {
		t.Fatal(err)
	}
	if probs := ix.Check(); len(probs) > 0 {
		t.Fatalf("fixture problems: %v", probs)
	}
	var buf bytes.Buffer
	if err := ix.Normalize().Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), `\u0026`) {
		t.Error("HTML-escaped output")
	}
	again, err := Parse(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ix.Normalize(), again) {
		t.Error("round trip changed the index")
	}
	// The keys of each entry are exactly pypy.org's (plus sha256 on files).
	var raw []map[string]json.RawMessage
	buf.Reset()
	ix.Encode(&buf)
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, e := range raw {
		for k := range e {
			switch k {
			case "pypy_version", "python_version", "stable", "latest_pypy", "date", "files":
			default:
				t.Errorf("unexpected key %q", k)
			}
		}
	}
	if _, ok := raw[len(raw)-1]["date"]; ok {
		t.Error("nightly entry has a date")
	}
	bad := strings.Replace(upstreamStyle, `"python_version": "2.7.18", "stable": true, "latest_pypy": true`, `"python_version": "2.7.18", "stable": true, "latest_pypy": false`, 1)
	ix, err = Parse(strings.NewReader(bad))
	if err != nil {
		t.Fatal(err)
	}
	if probs := ix.Check(); len(probs) != 1 || !strings.Contains(probs[0], "2.7.18 has 0 latest_pypy") {
		t.Errorf("Check = %v", probs)
	}
}

func TestUVCatalogue(t *testing.T) {
	ix, err := Parse(strings.NewReader(upstreamStyle))
	if err != nil {
		t.Fatal(err)
	}
	got := UVCatalogue(ix)
	var keys []string
	for _, e := range got {
		keys = append(keys, e.Key)
	}
	// 2.7 and the rc and the nightly are left out, as uv's generator does;
	// 3.11 linux picks tar.gz over tar.bz2.
	want := []string{"pypy-3.11.13-linux-aarch64-gnu", "pypy-3.11.13-linux-x86_64-gnu", "pypy-3.11.13-windows-x86_64-none", "pypy-3.9.16-linux-x86_64-gnu"}
	if !reflect.DeepEqual(keys, want) {
		t.Fatalf("keys = %v, want %v", keys, want)
	}
	if u := got[1].Download.URL; !strings.HasSuffix(u, ".tar.gz") {
		t.Errorf("linux x86_64 url = %s, want the tar.gz", u)
	}
	if s := got[0].Download.SHA256; s == nil || *s != "9347fe691a07fd9df17a1b186554fb9d9e6210178ffef19520a579ce1f9eb741" {
		t.Errorf("aarch64 sha256 = %v", s)
	}
	var buf bytes.Buffer
	if err := EncodeUVCatalogue(&buf, got); err != nil {
		t.Fatal(err)
	}
	// Shape check against uv's JsonPythonDownload: every key present, arch
	// an object, variant and missing sha256 null, ints for the version.
	var raw map[string]map[string]any
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatalf("%v\n%s", err, buf.String())
	}
	e := raw["pypy-3.9.16-linux-x86_64-gnu"]
	wantKeys := []string{"arch", "build", "libc", "major", "minor", "name", "os", "patch", "prerelease", "sha256", "url", "variant"}
	var gotKeys []string
	for k := range e {
		gotKeys = append(gotKeys, k)
	}
	sort.Strings(gotKeys)
	if !reflect.DeepEqual(gotKeys, wantKeys) {
		t.Errorf("keys = %v", gotKeys)
	}
	if e["sha256"] != nil || e["variant"] != nil || e["name"] != "pypy" || e["libc"] != "gnu" || e["build"] != "7.3.11" || e["major"] != float64(3) || e["patch"] != float64(16) || e["prerelease"] != "" {
		t.Errorf("entry = %v", e)
	}
	if a, ok := e["arch"].(map[string]any); !ok || a["family"] != "x86_64" || a["variant"] != nil {
		t.Errorf("arch = %v", e["arch"])
	}
	// Order in the document is newest Python first.
	if i, j := strings.Index(buf.String(), "3.11.13"), strings.Index(buf.String(), "3.9.16"); i > j {
		t.Error("3.9 listed before 3.11")
	}
	back, err := ParseUVCatalogue(&buf)
	if err != nil || len(back) != 4 {
		t.Errorf("ParseUVCatalogue = %d, %v", len(back), err)
	}
}

func TestJSONReason(t *testing.T) {
	type doc struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
		List  []File `json:"list"`
	}
	tests := []struct{ in, want string }{
		{`{"name": 3}`, "field name is a JSON number where a string is expected"},
		{`{"count": "x"}`, "field count is a JSON string where a number is expected"},
		{`{"list": {}}`, "field list is a JSON object where an array is expected"},
		{`[1]`, "the document is a JSON array where an object is expected"},
		{`{"name": `, "unexpected EOF"},
		{`{"nmae": "x"}`, `unknown key "nmae"`},
		{`{,}`, "not valid JSON at byte 2"},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(strings.NewReader(tt.in))
		dec.DisallowUnknownFields()
		var d doc
		err := dec.Decode(&d)
		if got := JSONReason(err); !strings.Contains(got, tt.want) || strings.Contains(got, "Go value") {
			t.Errorf("%s: %q, want %q", tt.in, got, tt.want)
		}
	}
}
