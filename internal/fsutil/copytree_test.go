package fsutil

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestCopyTree(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "bin"), 0o755)
	os.WriteFile(filepath.Join(src, "bin", "pypy3.9"), []byte("ELF"), 0o555)
	os.Symlink("pypy3.9", filepath.Join(src, "bin", "pypy3"))
	tests := []struct {
		name  string
		extra os.FileMode
		want  os.FileMode
	}{
		{"as is", 0, 0o555},
		{"owner-writable", 0o200, 0o755},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "copy")
			if err := CopyTree(context.Background(), src, dst, tt.extra); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(filepath.Join(dst, "bin", "pypy3.9"))
			if err != nil || fi.Mode().Perm() != tt.want {
				t.Fatalf("mode %v (%v), want %v", fi.Mode().Perm(), err, tt.want)
			}
			if l, err := os.Readlink(filepath.Join(dst, "bin", "pypy3")); err != nil || l != "pypy3.9" {
				t.Fatalf("symlink: %q %v", l, err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := CopyTree(ctx, src, filepath.Join(t.TempDir(), "c"), 0); err == nil {
		t.Fatal("a cancelled copy succeeded")
	}
}
