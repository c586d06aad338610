package bazel

import (
	"bytes"
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/publish/index"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the generator")

func loadTestdata(t *testing.T) *index.Source {
	t.Helper()
	src, err := index.Load(context.Background(), nil, "testdata/versions.json")
	if err != nil {
		t.Fatal(err)
	}
	// Relative download URLs resolve against the index; pin the index URL
	// so that the golden files do not depend on the checkout's path.
	src.URL = &url.URL{Scheme: "https", Host: "mirror.example.net", Path: "/pypy/versions.json"}
	return src
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"pypy3.11-all", Options{Release: "pypy3.11-v7.3.20"}},
		{"pypy2.7-prefixed", Options{Release: "pypy2.7-v7.3.20", Prefix: "pypy27"}},
		{"pypy3.11-nightly", Options{Release: "pypy3.11-nightly"}},
		{"pypy3.11-two-targets", Options{Release: "pypy3.11-v7.3.20", Targets: []string{"linux-arm64", "linux-amd64", "linux-arm64"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Generate(loadTestdata(t), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", "golden", tt.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				if err := res.Write(dir); err != nil {
					t.Fatal(err)
				}
			}
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatalf("%v (run go test -update once to create the golden files)", err)
			}
			if len(entries) != len(res.Files) {
				t.Errorf("golden dir has %d files, generator made %d", len(entries), len(res.Files))
			}
			for _, f := range res.Files {
				want, err := os.ReadFile(filepath.Join(dir, f.Name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(f.Data, want) {
					t.Errorf("%s differs from %s (go test -update regenerates it):\n%s", f.Name, dir, f.Data)
				}
			}
		})
	}
}

func TestGenerateChoices(t *testing.T) {
	res, err := Generate(loadTestdata(t), Options{Release: "pypy3.11-v7.3.20"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Repo{}
	var order []string
	for _, r := range res.Repos {
		got[r.Target] = r
		order = append(order, r.Target)
	}
	// s390x ships only tar.zst, which Bazel 4's http_archive cannot open.
	if want := "linux-amd64 linux-arm64 macos-arm64 windows-amd64"; strings.Join(order, " ") != want {
		t.Errorf("targets %q, want %q", strings.Join(order, " "), want)
	}
	amd := got["linux-amd64"]
	if amd.Filename != "pypy3.11-v7.3.20-linux64.tar.gz" || amd.StripPrefix != "pypy3.11-v7.3.20-linux64" {
		t.Errorf("linux-amd64 took %s strip %s; want the tar.gz over the tar.bz2", amd.Filename, amd.StripPrefix)
	}
	if amd.URL != "https://mirror.example.net/pypy/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz" {
		t.Errorf("relative URL resolved to %s", amd.URL)
	}
	if arm := got["linux-arm64"]; arm.URL != "https://downloads.example.org/pypy/pypy3.11-v7.3.20/pypy3.11-v7.3.20-aarch64.tar.bz2" || arm.SHA256 != "9347fe691a07fd9df17a1b186554fb9d9e6210178ffef19520a579ce1f9eb741" {
		t.Errorf("linux-arm64 = %+v", arm)
	}
	if win := got["windows-amd64"]; win.Interpreter != "pypy3.exe" || !strings.Contains(win.Build, `"@platforms//os:windows"`) {
		t.Errorf("windows-amd64 interpreter %q, BUILD:\n%s", win.Interpreter, win.Build)
	}
	if mac := got["macos-arm64"]; !strings.Contains(mac.Build, `"@platforms//cpu:aarch64"`) || !strings.Contains(mac.Build, `"@platforms//os:osx"`) {
		t.Errorf("macos-arm64 BUILD:\n%s", mac.Build)
	}
	bzl := string(res.Files[0].Data)
	for _, r := range res.Repos {
		if !strings.Contains(bzl, `sha256 = "`+r.SHA256+`"`) || !strings.Contains(bzl, `"@`+r.Name+`//:toolchain"`) {
			t.Errorf("%s lacks the pin or the toolchain of %s", RepositoriesFile, r.Name)
		}
	}
}

// The output is a function of the index entry, not of its file order.
func TestGenerateIgnoresFileOrder(t *testing.T) {
	a := loadTestdata(t)
	b := loadTestdata(t)
	files := b.Index[0].Files
	for i, j := 0, len(files)-1; i < j; i, j = i+1, j-1 {
		files[i], files[j] = files[j], files[i]
	}
	ra, err := Generate(a, Options{Release: "7.3.20", Targets: nil})
	if err == nil {
		t.Fatalf("7.3.20 ships two Python versions; a bare version must be refused, got %s", ra.Release)
	}
	ra, err = Generate(a, Options{Release: "pypy3.11-v7.3.20"})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := Generate(b, Options{Release: "pypy3.11-v7.3.20"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ra.Files {
		if !bytes.Equal(ra.Files[i].Data, rb.Files[i].Data) {
			t.Errorf("%s depends on the index's file order", ra.Files[i].Name)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no release", Options{}, "no release given"},
		{"release not in index", Options{Release: "pypy3.10-v7.3.20"}, "release pypy3.10-v7.3.20 is not in the index (it has pypy3.11-v7.3.20, pypy2.7-v7.3.20, pypy3.9-v7.3.11, pypy3.11-nightly)"},
		{"nightly of another python", Options{Release: "pypy3.9-nightly"}, "is not in the index"},
		{"version not in index", Options{Release: "7.3.99"}, "is not in the index"},
		{"ambiguous version", Options{Release: "7.3.20"}, "ambiguous: say one of pypy3.11-v7.3.20, pypy2.7-v7.3.20"},
		{"unknown target", Options{Release: "pypy3.11-v7.3.20", Targets: []string{"linux-riscv64"}}, `unknown target "linux-riscv64"`},
		{"target not in release", Options{Release: "pypy3.11-v7.3.20", Targets: []string{"linux-386"}}, "has no archive Bazel can extract for linux-386"},
		{"only tar.zst", Options{Release: "pypy3.11-v7.3.20", Targets: []string{"linux-s390x"}}, "release pypy3.11-v7.3.20 has no archive Bazel can extract for linux-s390x (it has: linux-amd64, linux-arm64, macos-arm64, windows-amd64)"},
		{"upper-case sha256", Options{Release: "7.3.11", Targets: []string{"linux-amd64"}}, `bad sha256 "F3FD4481`},
		{"missing sha256", Options{Release: "pypy3.9-v7.3.11", Targets: []string{"linux-arm64"}}, "has no sha256 in the index"},
		{"ftp URL", Options{Release: "pypy3.9-v7.3.11", Targets: []string{"linux-386"}}, "is not an http, https or file URL"},
		{"bad prefix", Options{Release: "pypy3.11-v7.3.20", Prefix: "1pypy"}, "repository prefix"},
		{"prefix with dash", Options{Release: "pypy3.11-v7.3.20", Prefix: "py-py"}, "repository prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Generate(loadTestdata(t), tt.opts)
			if err == nil {
				t.Fatalf("no error; generated %s", res.Release)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestBadSHA256Strings(t *testing.T) {
	good := "f3fd4481fc1b684b1ee87cc945e36cc9bebb4e3d2dfcbe882985577bb05e9ae3"
	tests := []struct {
		sum string
		ok  bool
	}{
		{good, true},
		{good[:63], false},
		{good + "0", false},
		{strings.ToUpper(good), false},
		{"sha256:" + good[7:], false},
		{strings.Replace(good, "f", "g", 1), false},
		{" " + good[1:], false},
	}
	for _, tt := range tests {
		src := loadTestdata(t)
		src.Index[0].Files[0].SHA256 = tt.sum
		src.Index[0].Files = src.Index[0].Files[:1]
		_, err := Generate(src, Options{Release: "pypy3.11-v7.3.20"})
		if (err == nil) != tt.ok {
			t.Errorf("sha256 %q: err = %v, want ok=%v", tt.sum, err, tt.ok)
		}
	}
}

func TestLoad(t *testing.T) {
	data, err := os.ReadFile("testdata/versions.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "versions.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	tests := []struct {
		loc     string
		wantURL string // of pypy3.11's linux64 tar.gz
		wantErr string
	}{
		{dir, "file://" + filepath.ToSlash(dir) + "/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz", ""},
		{filepath.Join(dir, "versions.json"), "file://" + filepath.ToSlash(dir) + "/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz", ""},
		{"file://" + filepath.ToSlash(dir), "file://" + filepath.ToSlash(dir) + "/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz", ""},
		{srv.URL + "/", srv.URL + "/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz", ""},
		{srv.URL + "/versions.json", srv.URL + "/pypy3.11-v7.3.20/pypy3.11-v7.3.20-linux64.tar.gz", ""},
		{srv.URL + "/missing.json", "", "404"},
		{filepath.Join(dir, "missing.json"), "", "no such file"},
		{"ftp://example.org/versions.json", "", "scheme ftp"},
		{"file://host/versions.json", "", "name no host"},
		{"", "", "no index given"},
	}
	for _, tt := range tests {
		t.Run(tt.loc, func(t *testing.T) {
			src, err := index.Load(context.Background(), srv.Client(), tt.loc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := Generate(src, Options{Release: "pypy3.11-v7.3.20", Targets: []string{"linux-amd64"}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Repos[0].URL != tt.wantURL {
				t.Errorf("URL %s, want %s", res.Repos[0].URL, tt.wantURL)
			}
		})
	}
}

func TestLoadBadJSON(t *testing.T) {
	p := filepath.Join(t.TempDir(), "versions.json")
	if err := os.WriteFile(p, []byte(`[{"pypy_version": "7.3.20"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := index.Load(context.Background(), nil, p); err == nil || !strings.Contains(err.Error(), "python_version") {
		t.Errorf("err = %v", err)
	}
}

func TestWrite(t *testing.T) {
	res, err := Generate(loadTestdata(t), Options{Release: "pypy3.11-v7.3.20"})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "third_party", "pypy")
	for range 2 { // the second run replaces the files in place
		if err := res.Write(dir); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "BUILD.bazel "+RepositoriesFile {
		t.Errorf("dir holds %q (temporary files left behind?)", got)
	}
	// A file where the directory should be: an error, not a panic.
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := res.Write(filepath.Join(blocker, "sub")); err == nil {
		t.Error("writing under a regular file succeeded")
	}
}

func TestStarlarkString(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"https://example.org/a.tar.gz", `"https://example.org/a.tar.gz"`, true},
		{"", `""`, true},
		{`a"b`, "", false},
		{`a\b`, "", false},
		{"a\nb", "", false},
		{"a\x01b", "", false},
	}
	for _, tt := range tests {
		got, err := starlarkString(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("starlarkString(%q) = %q, %v", tt.in, got, err)
		}
	}
}
