package oci

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/platforms"
)

func names(pkgs []platforms.DebPackage) string {
	var out []string
	for _, p := range pkgs {
		out = append(out, p.Name)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestResolve(t *testing.T) {
	ctx := context.Background()
	extra := []fakePkg{
		{name: "libalt2", version: "1", arch: "arm64", depends: "libc6"},
		{name: "usesalt", version: "1", arch: "arm64", depends: "libalt1 | libalt2"},
		{name: "broken", version: "1", arch: "arm64", depends: "libgone (>= 2)"},
	}
	a := newFakeArchive(t, append(basePkgs("arm64"), extra...))
	tests := []struct {
		name  string
		roots []string
		want  string // names, or the error
		err   bool
	}{
		{"depends walked, script-only left out", []string{"ca-certificates", "libc6", "tzdata"},
			"ca-certificates gcc-12-base libc6 libgcc-s1 tzdata", false},
		{"first alternative the archive has", []string{"usesalt"}, "gcc-12-base libalt2 libc6 libgcc-s1 usesalt", false},
		{"missing root", []string{"libnothere"}, "libnothere", true},
		{"missing dependency", []string{"broken"}, "broken depends on libgone", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set := map[string]string{}
			for _, r := range tt.roots {
				set[r] = "test"
			}
			got, err := resolve(ctx, a, "arm64", set)
			if tt.err {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %v, %v; want error with %q", names(got), err, tt.want)
				}
				return
			}
			if err != nil || names(got) != tt.want {
				t.Fatalf("got %q, %v; want %q", names(got), err, tt.want)
			}
			for _, p := range got {
				if p.Name == "ca-certificates" && p.Arch != "all" || p.Name == "libc6" && p.Arch != "arm64" || p.SHA256 == "" {
					t.Errorf("pin %+v", p)
				}
			}
		})
	}
}

func TestPins(t *testing.T) {
	ctx := context.Background()
	a := newFakeArchive(t, basePkgs("amd64"))
	rootSet := map[string]string{"libc6": "base", "tzdata": "base"}
	l, _ := LoadLock(filepath.Join(t.TempDir(), "lock.yaml"))

	// First run: nothing locked for amd64, so it is resolved and recorded.
	got, changed, err := pins(ctx, a, l, "amd64", rootSet, false, nil)
	if err != nil || !changed || names(got) != "gcc-12-base libc6 libgcc-s1 tzdata" {
		t.Fatalf("first run: %q, changed %v, %v", names(got), changed, err)
	}
	// Later runs read the lock and do not ask apt.
	shows := a.shows
	got, changed, err = pins(ctx, a, l, "amd64", rootSet, false, nil)
	if err != nil || changed || a.shows != shows || names(got) != "gcc-12-base libc6 libgcc-s1 tzdata" {
		t.Fatalf("locked run: %q, changed %v, asked apt %d times, %v", names(got), changed, a.shows-shows, err)
	}
	// A root the lock lacks is an error, not a silent resolve.
	rootSet["libffi8"] = "runtime dependency"
	if _, _, err := pins(ctx, a, l, "amd64", rootSet, false, nil); err == nil || !strings.Contains(err.Error(), "libffi8 (runtime dependency)") || !strings.Contains(err.Error(), "--update-lock") {
		t.Fatalf("missing root: %v", err)
	}
	got, changed, err = pins(ctx, a, l, "amd64", rootSet, true, nil)
	if err != nil || !changed || !strings.Contains(names(got), "libffi8") {
		t.Fatalf("update: %q, %v, %v", names(got), changed, err)
	}
	emb, _ := LoadLock("")
	if _, _, err := pins(ctx, a, emb, "s390x", rootSet, false, nil); err == nil || !strings.Contains(err.Error(), "--lock FILE") {
		t.Fatalf("resolving into the embedded lock: %v", err)
	}
}

func TestFetchVerifies(t *testing.T) {
	ctx := context.Background()
	a := newFakeArchive(t, basePkgs("arm64"))
	good := a.pkgs["arm64/libc6"].DebPackage
	tests := []struct {
		name string
		pin  platforms.DebPackage
		want string
	}{
		{"matching", good, ""},
		{"digest differs", platforms.DebPackage{Name: good.Name, Version: good.Version, Arch: good.Arch, SHA256: sumA},
			"base package libc6_2.36-9+deb12u14_arm64.deb does not match the OCI lock test.yaml: expected sha256 " + sumA + ", got " + good.SHA256},
		{"version gone", platforms.DebPackage{Name: good.Name, Version: "2.36-1", Arch: good.Arch, SHA256: sumA}, "was not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cache := t.TempDir()
			got, err := fetch(ctx, a, cache, []platforms.DebPackage{tt.pin}, "test.yaml", nil)
			if tt.want == "" {
				if err != nil || len(got) != 1 || got[0].Deb.Control["Package"] != "libc6" {
					t.Fatalf("fetch: %+v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(cache, tt.pin.FileName())); err == nil {
				t.Errorf("a file that failed its pin was kept in the cache")
			}
		})
	}
	// A damaged cache entry is fetched again rather than used.
	cache := t.TempDir()
	path := filepath.Join(cache, good.FileName())
	os.WriteFile(path, []byte("rot"), 0o644)
	if got, err := fetch(ctx, a, cache, []platforms.DebPackage{good}, "test.yaml", nil); err != nil || got[0].Deb == nil {
		t.Fatalf("refetch after rot: %v", err)
	}
}

func TestCheckClosure(t *testing.T) {
	ctx := context.Background()
	a := newFakeArchive(t, basePkgs("amd64"))
	var all []platforms.DebPackage
	for _, n := range []string{"libc6", "libgcc-s1", "gcc-12-base", "ca-certificates"} {
		all = append(all, a.pkgs["amd64/"+n].DebPackage)
	}
	all[3] = a.pkgs["all/ca-certificates"].DebPackage
	debs, err := fetch(ctx, a, t.TempDir(), all, "l", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkClosure(debs, "l", "amd64"); err != nil {
		t.Fatalf("a whole set: %v", err)
	}
	if err := checkClosure(debs[:2], "l", "amd64"); err == nil || !strings.Contains(err.Error(), "libgcc-s1 depends on gcc-12-base") {
		t.Fatalf("a set without gcc-12-base: %v", err)
	}
}
