package debrepo

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

func TestRelations(t *testing.T) {
	tests := []struct {
		field string
		want  [][]string
	}{
		{"", nil},
		{"libc6 (>= 2.34)", [][]string{{"libc6"}}},
		{"gcc-12-base (= 12.2.0-14+deb12u1), libc6 (>= 2.35)", [][]string{{"gcc-12-base"}, {"libc6"}}},
		{"openssl (>= 1.1.1), debconf (>= 0.5) | debconf-2.0", [][]string{{"openssl"}, {"debconf", "debconf-2.0"}}},
		{"python3:any, libfoo [amd64]", [][]string{{"python3"}, {"libfoo"}}},
	}
	for _, tt := range tests {
		if got, err := Relations(tt.field); err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Relations(%q) = %v, %v; want %v", tt.field, got, err, tt.want)
		}
	}
}

func TestPackageNames(t *testing.T) {
	got, err := PackageNames([]string{"libc6 (>= 2.35)", "zlib1g (>= 1:1.2.0)", "libssl3", "a | b", "libc6", " libffi8(>= 3.4)"})
	want := []string{"a", "libc6", "libffi8", "libssl3", "zlib1g"}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestParseParagraphs(t *testing.T) {
	in := "Package: tzdata\nVersion: 2026f\nDescription: time zone\n and daylight-saving data\n\nPackage: libc6\nArchitecture: arm64\n"
	got, err := ParseParagraphs([]byte(in))
	if err != nil || len(got) != 2 || got[0]["Description"] != "time zone\n and daylight-saving data" || got[1]["Architecture"] != "arm64" {
		t.Fatalf("got %#v", got)
	}
}

func TestAptSpec(t *testing.T) {
	tests := []struct {
		p    platforms.DebPackage
		want string
	}{
		{platforms.DebPackage{Name: "libc6", Version: "2.36-9", Arch: "arm64"}, "libc6:arm64=2.36-9"},
		{platforms.DebPackage{Name: "tzdata", Version: "2026f", Arch: "all"}, "tzdata=2026f"},
	}
	for _, tt := range tests {
		if got := aptSpec(tt.p); got != tt.want {
			t.Errorf("aptSpec(%+v) = %q, want %q", tt.p, got, tt.want)
		}
	}
}

// TestAptShow runs Apt against stand-in apt-cache/apt-get scripts that
// behave like apt does for a foreign architecture: name:arch finds
// arch-specific packages only, Architecture: all ones answer bare names.
func TestAptShow(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "apt-cache")
	script := `#!/bin/sh
shift 2
for spec in "$@"; do
  case "$spec" in
    libc6:arm64) printf 'Package: libc6\nVersion: 2.36\nArchitecture: arm64\nDepends: libgcc-s1\nSHA256: aa\n\n' ;;
    tzdata) printf 'Package: tzdata\nVersion: 2026f\nArchitecture: all\nSHA256: bb\n\n' ;;
    libc6) printf 'Package: libc6\nVersion: 2.36\nArchitecture: amd64\nSHA256: cc\n\n' ;;
  esac
done
`
	if err := os.WriteFile(cache, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := Apt{AptCache: cache}.Show(context.Background(), "arm64", []string{"libc6", "tzdata", "nosuch"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["libc6"].Arch != "arm64" || got["libc6"].Depends != "libgcc-s1" || got["tzdata"].Arch != "all" || got["tzdata"].SHA256 != "bb" {
		t.Fatalf("Show = %+v", got)
	}

	fail := filepath.Join(dir, "apt-get")
	os.WriteFile(fail, []byte("#!/bin/sh\necho \"E: Version '1' for 'libc6' was not found\" >&2\nexit 100\n"), 0o755)
	err = Apt{AptGet: fail}.Download(context.Background(), dir, []platforms.DebPackage{{Name: "libc6", Version: "1", Arch: "arm64"}})
	if err == nil || !strings.Contains(err.Error(), "was not found") || !strings.Contains(err.Error(), "--update-lock") {
		t.Fatalf("a failing apt-get should say what apt said and how to go on: %v", err)
	}
	if _, err := (Apt{AptCache: filepath.Join(dir, "no-such-apt")}).Show(context.Background(), "amd64", []string{"x"}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("missing apt-cache: %v", err)
	}
}
