package cffi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFailedErrorNamesEachModule(t *testing.T) {
	long := strings.Repeat("noise\n", 100) + "_ssl_cffi.c:10:10: fatal error: openssl/ssl.h: No such file or directory\n"
	err := &FailedError{Failed: []Failure{
		{Key: "_ssl", Script: "_ssl_build.py", Output: long},
		{Key: "lzma", Script: "_lzma_build.py", Output: "lzma.h missing"},
	}}
	msg := err.Error()
	for _, want := range []string{"2 module(s) failed", "--- _ssl (_ssl_build.py)", "openssl/ssl.h: No such file", "--- lzma (_lzma_build.py)", "lzma.h missing"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "noise") > 25 {
		t.Errorf("error is not trimmed to the tail: %d noise lines", strings.Count(msg, "noise"))
	}
}

func TestRemoveLeftovers(t *testing.T) {
	root := t.TempDir()
	keep := []string{"lib/pypy3.9/os.py", "lib/pypy3.9/_sqlite3_build.py"}
	for _, f := range keep {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644)
	}
	before, err := listFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	added := []string{"lib/pypy3.9/_sqlite3_cffi.c", "lib/pypy3.9/_sqlite3_cffi.o", "lib/pypy3.9/__pycache__/x.pyc", "lib/pypy3.9/_sqlite3_cffi.pypy39-pp73-x86_64-linux-gnu.so"}
	for _, f := range added {
		os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte("y"), 0o644)
	}
	if err := removeLeftovers(root, before); err != nil {
		t.Fatal(err)
	}
	for f, want := range map[string]bool{
		keep[0]: true, keep[1]: true, added[0]: false, added[1]: false,
		"lib/pypy3.9/__pycache__": false, added[3]: true,
	} {
		_, err := os.Stat(filepath.Join(root, f))
		if got := err == nil; got != want {
			t.Errorf("%s exists = %v, want %v", f, got, want)
		}
	}
}

func TestShort(t *testing.T) {
	for in, want := range map[string]string{"3.9.16": "3.9", "3.11.13": "3.11", "2.7.18": "2.7"} {
		if got := short(in); got != want {
			t.Errorf("short(%s) = %s, want %s", in, got, want)
		}
	}
}
