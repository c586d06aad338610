package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

// fakeApt writes a stand-in for apt-get that "downloads" a file from a
// directory of prepared packages (named as Debian names them), and counts
// its calls.
func fakeApt(t *testing.T, repo string) (bin, calls string) {
	t.Helper()
	dir := t.TempDir()
	calls = filepath.Join(dir, "calls")
	bin = filepath.Join(dir, "apt-get")
	script := `#!/bin/sh
echo "$@" >> ` + calls + `
[ "$1" = download ] || exit 100
spec=$2; name=${spec%%=*}; name=${name%%:*}; ver=${spec#*=}
for f in ` + repo + `/${name}_${ver}_*.deb; do [ -e "$f" ] && cp "$f" . && exit 0; done
echo "E: Unable to locate package $spec" >&2; exit 100
`
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, calls
}

func TestFetchVerifiesPins(t *testing.T) {
	repo := t.TempDir()
	body := []byte("pretend deb")
	os.WriteFile(filepath.Join(repo, "pypy3_1.0-1_amd64.deb"), body, 0o644)
	sum := sha256.Sum256(body)
	good := platforms.DebPackage{Name: "pypy3", Version: "1.0-1", Arch: "amd64", SHA256: hex.EncodeToString(sum[:])}
	bad := good
	bad.SHA256 = strings.Repeat("0", 64)

	t.Run("good pin downloads once then uses the cache", func(t *testing.T) {
		apt, calls := fakeApt(t, repo)
		f := &Fetcher{CacheDir: t.TempDir(), AptGet: apt}
		for i := 0; i < 2; i++ {
			paths, err := f.Fetch(context.Background(), []platforms.DebPackage{good})
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Base(paths[0]) != "pypy3_1.0-1_amd64.deb" {
				t.Fatalf("path %s", paths[0])
			}
		}
		if b, _ := os.ReadFile(calls); strings.Count(string(b), "download") != 1 {
			t.Fatalf("apt-get calls: %q", b)
		}
	})
	t.Run("bad pin names file and both digests and keeps nothing", func(t *testing.T) {
		apt, _ := fakeApt(t, repo)
		cache := t.TempDir()
		f := &Fetcher{CacheDir: cache, AptGet: apt}
		_, err := f.Fetch(context.Background(), []platforms.DebPackage{bad})
		if err == nil {
			t.Fatal("no error")
		}
		for _, w := range []string{"pypy3_1.0-1_amd64.deb", bad.SHA256, good.SHA256} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error lacks %q: %v", w, err)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(cache, "*")); len(left) != 0 {
			t.Errorf("cache keeps %v", left)
		}
	})
	t.Run("damaged cache entry is fetched again", func(t *testing.T) {
		apt, calls := fakeApt(t, repo)
		cache := t.TempDir()
		os.WriteFile(filepath.Join(cache, "pypy3_1.0-1_amd64.deb"), []byte("bit rot"), 0o644)
		f := &Fetcher{CacheDir: cache, AptGet: apt}
		if _, err := f.Fetch(context.Background(), []platforms.DebPackage{good}); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(calls); strings.Count(string(b), "download") != 1 {
			t.Fatalf("apt-get calls: %q", b)
		}
	})
	t.Run("unknown package explains the architecture", func(t *testing.T) {
		apt, _ := fakeApt(t, repo)
		f := &Fetcher{CacheDir: t.TempDir(), AptGet: apt}
		missing := platforms.DebPackage{Name: "pypy3", Version: "9.9", Arch: "arm64", SHA256: good.SHA256}
		_, err := f.Fetch(context.Background(), []platforms.DebPackage{missing})
		if err == nil || !strings.Contains(err.Error(), "dpkg --add-architecture arm64") {
			t.Fatalf("err = %v", err)
		}
	})
}
