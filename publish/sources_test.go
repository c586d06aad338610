package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A release's sources and debug archives are published beside its
// archives, without versions.json entries; a listed source must be named
// <release>-src.*, a debug archive <release>-…-debug.*.
func TestPublishSources(t *testing.T) {
	cases := []struct {
		name    string
		sources []string
		debug   []string
		extra   map[string]string
		wantErr string
	}{
		{name: "published", sources: []string{"pypy3.11-v7.3.20-src.tar.bz2"},
			extra: map[string]string{"pypy3.11-v7.3.20-src.tar.bz2": "src", "pypy3.11-v7.3.20-src.tar.bz2.sig": "c2ln"}},
		{name: "missing from dist", sources: []string{"pypy3.11-v7.3.20-src.tar.gz"}, wantErr: "lists source archive pypy3.11-v7.3.20-src.tar.gz"},
		{name: "another release's", sources: []string{"pypy2.7-v7.3.20-src.tar.bz2"},
			extra: map[string]string{"pypy2.7-v7.3.20-src.tar.bz2": "src"}, wantErr: "not a pypy3.11-v7.3.20-src.* file"},
		{name: "debug published", debug: []string{"pypy3.11-v7.3.20-linux64-debug.tar.bz2"},
			extra: map[string]string{"pypy3.11-v7.3.20-linux64-debug.tar.bz2": "dbg"}},
		{name: "debug missing from dist", debug: []string{"pypy3.11-v7.3.20-linux64-debug.tar.gz"}, wantErr: "lists debug archive"},
		{name: "debug not named so", debug: []string{"pypy3.11-v7.3.20-linux64.tar.xz"},
			extra: map[string]string{"pypy3.11-v7.3.20-linux64.tar.xz": "x"}, wantErr: "not a pypy3.11-v7.3.20-…-debug.* file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tmp := t.TempDir()
			dist, dest := filepath.Join(tmp, "dist"), filepath.Join(tmp, "public")
			r := rel311
			r.Sources, r.Debug = c.sources, c.debug
			makeDist(t, dist, r, files311("a"), c.extra)
			_, err := Publish(context.Background(), Options{Dist: dist, Dest: dest})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			relDir := filepath.Join(dest, r.Name)
			for n := range c.extra {
				if _, err := os.Stat(filepath.Join(relDir, n)); err != nil {
					t.Errorf("%s not published: %v", n, err)
				}
			}
			ix := readIndex(t, dest)
			for _, f := range ix[0].Files {
				if strings.Contains(f.Filename, "-src.") || strings.Contains(f.Filename, "-debug.") {
					t.Errorf("versions.json lists %s", f.Filename)
				}
			}
		})
	}
}
