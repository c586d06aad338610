package oci

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

const sumA = "1896a2aacf4ad681ff5eacc24a5b0ca4d5d9c9b9c9e4b6de5197bc1e116ea619"

func TestLockRoundTrip(t *testing.T) {
	l := &Lock{Schema: LockSchema, Suite: "bookworm"}
	l.set("arm64", []platforms.DebPackage{
		{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "arm64", SHA256: sumA},
		{Name: "ca-certificates", Version: "20250419~deb12u2", Arch: "all", SHA256: sumA},
	})
	l.set("amd64", []platforms.DebPackage{{Name: "libssl3", Version: "3.0.22-1~deb12u2", Arch: "amd64", SHA256: sumA}})
	b := l.Marshal()
	got, err := ParseLock(b)
	if err != nil {
		t.Fatalf("parse what Marshal wrote: %v\n%s", err, b)
	}
	if !reflect.DeepEqual(got.Packages, l.Packages) || got.Suite != "bookworm" {
		t.Fatalf("round trip changed the lock:\n%+v\n%+v", got, l)
	}
	if got.Packages["arm64"][0].Name != "ca-certificates" {
		t.Errorf("entries are not sorted by name: %+v", got.Packages["arm64"])
	}
	if string(got.Marshal()) != string(b) {
		t.Errorf("Marshal is not stable")
	}
}

func TestParseLockErrors(t *testing.T) {
	pkg := func(name, arch, sum string) string {
		return "    - {name: " + name + ", version: \"1\", arch: " + arch + ", sha256: " + sum + "}\n"
	}
	tests := []struct {
		name, doc, want string
	}{
		{"schema", "schema: 2\npackages: {}\n", "schema 2"},
		{"unknown key", "schema: 1\npackages: {}\nextra: 1\n", "extra"},
		{"short digest", "schema: 1\npackages:\n  amd64:\n" + pkg("libc6", "amd64", "abc"), "not 64 hex digits"},
		{"wrong arch", "schema: 1\npackages:\n  amd64:\n" + pkg("libc6", "arm64", sumA), `has arch "arm64"`},
		{"duplicate", "schema: 1\npackages:\n  amd64:\n" + pkg("libc6", "amd64", sumA) + pkg("libc6", "amd64", sumA), "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseLock([]byte(tt.doc))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoadLock(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "new.yaml")
	l, err := LoadLock(missing)
	if err != nil || len(l.Packages) != 0 || l.Path != missing {
		t.Fatalf("a missing lock file is an empty lock to write: %+v, %v", l, err)
	}
	l.set("amd64", []platforms.DebPackage{{Name: "libc6", Version: "2.36", Arch: "amd64", SHA256: sumA}})
	if err := l.Save(); err != nil {
		t.Fatal(err)
	}
	again, err := LoadLock(missing)
	if err != nil || again.Arch("amd64")["libc6"].SHA256 != sumA {
		t.Fatalf("saved lock reads back as %+v, %v", again, err)
	}

	emb, err := LoadLock("")
	if err != nil {
		t.Fatalf("the embedded lock does not parse: %v", err)
	}
	if emb.Path != "" || emb.Name() != EmbeddedLockName {
		t.Errorf("embedded lock has path %q, name %q", emb.Path, emb.Name())
	}
	if err := emb.Save(); err == nil || !strings.Contains(err.Error(), "--lock FILE") {
		t.Errorf("saving the embedded lock: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("schema: [\n"), 0o644)
	if _, err := LoadLock(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a broken lock's error should name the file: %v", err)
	}
}
