package release

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pypyctl/pypyctl/internal/testenv"
	"github.com/pypyctl/pypyctl/store"
)

// TestReleaseEmitsSources merges a translated release from the store and
// checks its -src archive is upstream's bytes, listed in SHA256SUMS and
// published in the release directory.
func TestReleaseEmitsSources(t *testing.T) {
	if testing.Short() {
		// Safe skip: only under -short, which `make test` never passes.
		t.Skip("compresses a ~160 MB tar stream")
	}
	mirror := "file://" + filepath.Join(testenv.SharedPyPy(t), "pypy.git")
	m := matrix(t)
	rel, err := m.Release("pypy3.11-v7.3.20")
	if err != nil {
		t.Fatal(err)
	}
	if !emitsSources(rel) {
		t.Fatal("pypy3.11-v7.3.20 pins commit, tree and -src archive: it must emit sources")
	}
	o := Options{Matrix: m, Selection: Selection{Release: rel.Name, Targets: []string{"linux-amd64"}},
		Store: store.NewLocal(t.TempDir()), MatrixSHA256: "m", BaseURL: "https://example.invalid/pub", FromStore: true}
	calls := 0
	record(t, o, &calls)
	o.Dist, o.Dest, o.GitMirror = t.TempDir(), t.TempDir(), mirror
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	const file = "pypy3.11-v7.3.20-src.tar.bz2"
	want := rel.Source.Archive.SHA256
	if len(rep.Sources) != 1 || rep.Sources[0].File != file || rep.Sources[0].SHA256 != want || !rep.Sources[0].Verified {
		t.Fatalf("sources %+v, want %s %s", rep.Sources, file, want)
	}
	for _, sums := range []string{filepath.Join(o.Dist, "SHA256SUMS"), filepath.Join(o.Dest, rel.Name, "SHA256SUMS")} {
		b, err := os.ReadFile(sums)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want+"  "+file+"\n") {
			t.Errorf("%s does not list %s:\n%s", sums, file, b)
		}
	}
	if _, err := os.Stat(filepath.Join(o.Dest, rel.Name, file)); err != nil {
		t.Errorf("not published: %v", err)
	}
	// The default release (imported from Debian) pins no -src archive.
	def, _ := m.Release("")
	if emitsSources(def) {
		t.Errorf("%s emits sources without pins", def.Name)
	}
}
