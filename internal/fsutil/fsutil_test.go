package fsutil

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestCopyHashed(t *testing.T) {
	src := filepath.Join(t.TempDir(), "a.tar.gz")
	os.WriteFile(src, []byte("archive bytes"), 0o600)
	h := sha256.Sum256([]byte("archive bytes"))
	want := hex.EncodeToString(h[:])
	tests := []struct {
		name string
		o    CopyOptions
	}{
		{"atomic", CopyOptions{Perm: 0o644}},
		{"atomic, checked", CopyOptions{Perm: 0o644, SHA256: want}},
		{"in place, executable", CopyOptions{Perm: 0o755, InPlace: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dst := filepath.Join(dir, "sub", "a.tar.gz")
			sum, size, err := CopyHashed(src, dst, tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if sum != want || size != int64(len("archive bytes")) {
				t.Errorf("got %s %d, want %s %d", sum, size, want, len("archive bytes"))
			}
			b, err := os.ReadFile(dst)
			if err != nil || string(b) != "archive bytes" {
				t.Fatalf("dst %q, %v", b, err)
			}
			if fi, _ := os.Stat(dst); fi.Mode().Perm() != tt.o.Perm {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.o.Perm)
			}
			if ents, _ := os.ReadDir(filepath.Dir(dst)); len(ents) != 1 {
				t.Errorf("left beside dst: %v", ents)
			}
		})
	}
}

func TestCopyHashedRefusesOtherBytes(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	os.WriteFile(src, []byte("changed"), 0o644)
	os.WriteFile(dst, []byte("old"), 0o644)
	_, _, err := CopyHashed(src, dst, CopyOptions{Perm: 0o644, SHA256: "00"})
	var dm *DigestMismatchError
	if !errors.As(err, &dm) || dm.Path != src || dm.Expected != "00" {
		t.Fatalf("err = %v, want a DigestMismatchError for %s", err, src)
	}
	if b, _ := os.ReadFile(dst); string(b) != "old" {
		t.Errorf("dst = %q: a copy that failed its check was renamed into place", b)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temp file left: %v", ents)
	}
	if _, _, err := CopyHashed(filepath.Join(dir, "missing"), dst, CopyOptions{Perm: 0o644}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing source: %v", err)
	}
}
