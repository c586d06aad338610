package ensurepip

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

func TestVerifyAndPlace(t *testing.T) {
	dir := t.TempDir()
	body := []byte("pip wheel")
	sum := sha256.Sum256(body)
	w := platforms.Wheel{Name: "pip", Version: "23.0.1", SHA256: hex.EncodeToString(sum[:])}
	os.WriteFile(filepath.Join(dir, w.FileName()), body, 0o644)

	paths, err := Verify(dir, []platforms.Wheel{w})
	if err != nil {
		t.Fatal(err)
	}
	stdlib := t.TempDir()
	os.MkdirAll(filepath.Join(stdlib, BundledDir), 0o755)
	os.WriteFile(filepath.Join(stdlib, BundledDir, "pip-1.0-py3-none-any.whl"), []byte("stale"), 0o644)
	if err := Place(stdlib, paths); err != nil {
		t.Fatal(err)
	}
	got, _ := filepath.Glob(filepath.Join(stdlib, BundledDir, "*"))
	if len(got) != 1 || filepath.Base(got[0]) != "pip-23.0.1-py3-none-any.whl" {
		t.Fatalf("bundled: %v (the stale wheel must go)", got)
	}

	tests := []struct {
		name   string
		wheels []platforms.Wheel
		want   string
	}{
		{"no pins", nil, "pins no ensurepip wheels"},
		{"wrong digest", []platforms.Wheel{{Name: "pip", Version: "23.0.1", SHA256: strings.Repeat("a", 64)}}, "sha256 mismatch"},
		{"missing file", []platforms.Wheel{{Name: "setuptools", Version: "1", SHA256: w.SHA256}}, "setuptools-1-py3-none-any.whl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(dir, tc.wheels)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	_, err = Verify(dir, []platforms.Wheel{{Name: "pip", Version: "23.0.1", SHA256: strings.Repeat("a", 64)}})
	var dm *fsutil.DigestMismatchError
	if !errors.As(err, &dm) || dm.Actual != w.SHA256 {
		t.Fatalf("mismatch error does not carry the digests: %v", err)
	}
}

func TestInitModuleKeepsStdlibInterface(t *testing.T) {
	src := string(InitModule())
	for _, fn := range []string{"def version(", "def bootstrap(", "def _main(", "def _uninstall_helper(", "_bundled"} {
		if !strings.Contains(src, fn) {
			t.Errorf("replacement ensurepip lacks %q", fn)
		}
	}
}
