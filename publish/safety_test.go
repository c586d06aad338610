package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/sums"
)

func TestPublishRefusesHostileDist(t *testing.T) {
	tests := []struct {
		name    string
		extra   map[string]string
		prepare func(t *testing.T, dest string)
		wantErr string // "" = publishes
		absent  []string
	}{
		{"signing key named after the release stays behind", map[string]string{
			"pypy3.11-v7.3.20-signing.key":         "PRIVATE",
			"pypy3.11-v7.3.20-linux64.tar.bz2.key": "PRIVATE",
			"pypy3.11-v7.3.20-notes.txt":           "?",
		}, nil, "", []string{"pypy3.11-v7.3.20-signing.key", "pypy3.11-v7.3.20-linux64.tar.bz2.key", "pypy3.11-v7.3.20-notes.txt"}},
		{"newline in a file name", map[string]string{
			"pypy3.11-v7.3.20-x\n" + strings.Repeat("0", 64) + "  evil.cdx.json": "{}",
		}, nil, "cannot be published", nil},
		{"corrupt SHA256SUMS in the destination", nil, func(t *testing.T, dest string) {
			os.MkdirAll(filepath.Join(dest, "pypy3.9-v7.3.11"), 0o755)
			os.WriteFile(filepath.Join(dest, "pypy3.9-v7.3.11", sums.Name), []byte("garbage\n"), 0o644)
		}, "SHA256SUMS", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dist, dest := t.TempDir(), t.TempDir()
			makeDist(t, dist, rel311, files311("a"), tt.extra)
			if tt.prepare != nil {
				tt.prepare(t, dest)
			}
			_, err := Publish(context.Background(), Options{Dist: dist, Dest: dest})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if _, err := os.Stat(filepath.Join(dest, VersionsJSON)); err == nil {
					t.Error("versions.json written by a failed publish")
				}
				if _, err := os.Stat(filepath.Join(dest, rel311.Name)); err == nil {
					t.Error("release dir written by a failed publish")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range tt.absent {
				if _, err := os.Stat(filepath.Join(dest, rel311.Name, n)); err == nil {
					t.Errorf("%s was published", n)
				}
			}
		})
	}
}
