package vm

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTags(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "_sqlite3_cffi.pypy39-pp73-x86_64-linux-gnu.so"), nil, 0o644)
	soabi, ext, err := Tags(dir, "x86_64-linux-gnu")
	if err != nil || soabi != "pypy39-pp73" || ext != ".pypy39-pp73-x86_64-linux-gnu.so" {
		t.Fatalf("%q %q %v", soabi, ext, err)
	}
	if _, _, err := Tags(dir, "aarch64-linux-gnu"); err == nil {
		t.Fatal("no error for a triplet with no modules")
	}
}
