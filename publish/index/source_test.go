package index

import (
	"net/url"
	"testing"
)

// TestFileURL: download_urls resolve against the index they came from
// (packaging/brew's formulas, packaging/bazel's rules, install).
func TestFileURL(t *testing.T) {
	tests := []struct{ index, dl, want string }{
		{"https://dl.example.org/pypy/versions.json", "pypy3.11-v7.3.20/a.tar.gz", "https://dl.example.org/pypy/pypy3.11-v7.3.20/a.tar.gz"},
		{"https://dl.example.org/pypy/", "pypy3.11-v7.3.20/a.tar.gz", "https://dl.example.org/pypy/pypy3.11-v7.3.20/a.tar.gz"},
		{"https://dl.example.org/pypy/versions.json", "https://mirror.example.org/a.tar.gz", "https://mirror.example.org/a.tar.gz"},
		{"/srv/public/versions.json", "r/a.tar.gz", "file:///srv/public/r/a.tar.gz"},
	}
	for _, tt := range tests {
		base, err := LocationURL(tt.index)
		if err != nil {
			t.Fatal(err)
		}
		src := &Source{URL: base}
		got, err := src.FileURL(File{Filename: "a.tar.gz", DownloadURL: tt.dl})
		if err != nil || got.String() != tt.want {
			t.Errorf("FileURL(%s, %s) = %s, %v; want %s", tt.index, tt.dl, got, err, tt.want)
		}
	}
}

func TestFileURLRefuses(t *testing.T) {
	remote := &Source{URL: &url.URL{Scheme: "https", Host: "dl.example.org", Path: "/versions.json"}}
	for _, tt := range []struct {
		src *Source
		dl  string
	}{
		{remote, ""},
		{remote, "ftp://example.org/a.tar.gz"},
		{remote, "%zz"},
		{&Source{}, "a.tar.gz"}, // relative, and no index URL to resolve it against
	} {
		if u, err := tt.src.FileURL(File{Filename: "a.tar.gz", DownloadURL: tt.dl}); err == nil {
			t.Errorf("FileURL(%q) = %s, want refused", tt.dl, u)
		}
	}
}
