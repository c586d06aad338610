package artifact

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The kinds are a file format: reports, store records and publish's
// report write them, and scripts read them.
func TestKindsAsWritten(t *testing.T) {
	a := Artifact{Name: "x.tar.bz2", Kind: KindDebugArchive, Target: "linux-amd64"}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"x.tar.bz2","path":"","kind":"debug-archive","size":0,"sha256":""}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
	for k, want := range map[Kind]string{
		KindArchive: "archive", KindDebugArchive: "debug-archive", KindSBOM: "sbom", KindProvenance: "provenance",
		KindChecksums: "checksums", KindSignature: "signature", KindWheel: "wheel", KindSource: "source", KindOther: "other",
	} {
		if string(k) != want {
			t.Errorf("kind %q, want %q", k, want)
		}
	}
}

func TestFilters(t *testing.T) {
	l := List{
		{Name: "b.tar.gz", Kind: KindArchive, Path: "/d/b.tar.gz", Size: 3},
		{Name: "a.cdx.json", Kind: KindSBOM, Path: "/d/a.cdx.json", Size: 2},
		{Name: "a.intoto.jsonl", Kind: KindProvenance, Path: "/d/a.intoto.jsonl", Size: 1},
		{Name: "a.tar.gz", Kind: KindArchive, Path: "/d/a.tar.gz", Size: 4},
	}
	names := func(l List) string {
		var out []string
		for _, a := range l {
			out = append(out, a.Name)
		}
		return strings.Join(out, " ")
	}
	if got := names(l.OfKind(KindArchive)); got != "b.tar.gz a.tar.gz" {
		t.Errorf("OfKind(archive) = %s", got)
	}
	if got := names(l.OfKind(KindSBOM, KindProvenance)); got != "a.cdx.json a.intoto.jsonl" {
		t.Errorf("OfKind(sbom, provenance) = %s", got)
	}
	if got := strings.Join(l.Signable().Paths(), " "); got != "/d/b.tar.gz /d/a.cdx.json /d/a.tar.gz" {
		t.Errorf("Signable().Paths() = %s", got)
	}
	if l.OfKind(KindWheel) != nil || l.Size() != 10 {
		t.Errorf("OfKind(wheel) = %v, Size = %d", l.OfKind(KindWheel), l.Size())
	}
	l.SortByName()
	if got := names(l); got != "a.cdx.json a.intoto.jsonl a.tar.gz b.tar.gz" {
		t.Errorf("SortByName: %s", got)
	}
}

func TestSidecarKind(t *testing.T) {
	for name, want := range map[string]Kind{
		"pypy3.11-v7.3.20-linux64.tar.bz2.sig":                KindSignature,
		"pypy3.11-v7.3.20-linux64.tar.bz2.sigstore.json":      KindSignature,
		"pypy3.11-v7.3.20-linux64.tar.bz2.asc":                KindSignature,
		"pypy3.11-v7.3.20-linux64.tar.bz2.pem":                KindSignature,
		"pypy3.11-v7.3.20-linux64.cdx.json":                   KindSBOM,
		"pypy3.11-v7.3.20-linux64.spdx.json":                  KindSBOM,
		"pypy3.11-v7.3.20-linux64.intoto.jsonl":               KindProvenance,
		"pypy3.11-v7.3.20-linux64-signing.key":                KindOther,
		"pypy3.11-v7.3.20-linux64.tar.bz2":                    KindOther,
		"pypy3.11-v7.3.20-linux64.intoto.jsonl.sigstore.json": KindSignature,
	} {
		if got := SidecarKind(name); got != want {
			t.Errorf("SidecarKind(%s) = %s, want %s", name, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "SHA256SUMS")
	if err := os.WriteFile(p, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Describe(p, KindChecksums)
	if err != nil {
		t.Fatal(err)
	}
	want := Artifact{Name: "SHA256SUMS", Path: p, Kind: KindChecksums, Size: 6, SHA256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"}
	if a != want {
		t.Errorf("Describe = %+v, want %+v", a, want)
	}
	if _, err := Describe(filepath.Join(t.TempDir(), "missing"), KindArchive); err == nil {
		t.Error("Describe of a missing file: no error")
	}
}
