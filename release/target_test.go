package release

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/publish"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/trust/keys"
)

// TestBuildTarget: a plain build writes its release metadata beside the
// archives and leaves the record a release's merge gathers; a
// --vm-archive build leaves none.
func TestBuildTarget(t *testing.T) {
	m := matrix(t)
	st := store.NewLocal(t.TempDir())
	o := Options{Matrix: m, Selection: Selection{Targets: []string{"linux-amd64"}}, Store: st, MatrixSHA256: "m", Builder: "b"}
	jobs, err := Plan(m, o.Selection)
	if err != nil {
		t.Fatal(err)
	}
	j := jobs[0]
	calls := 0
	fb := fakeBuild(&calls)
	run := func(ctx context.Context, bo pipeline.Options) (*pipeline.Report, error) {
		if bo.OutDir == "" || len(bo.Formats) == 0 || bo.MatrixSHA256 != "m" || bo.Builder != "b" {
			t.Errorf("pipeline options %+v", bo)
		}
		return fb(Job{Release: bo.Release, Target: bo.Target}, bo.Formats)(ctx, bo.OutDir)
	}

	vmOut := t.TempDir()
	if _, err := BuildTarget(context.Background(), TargetOptions{Matrix: m, Release: j.Release, Target: j.Target, Store: st,
		Out: vmOut, MatrixSHA256: "m", Builder: "b", VMArchive: "some.tar.bz2", run: run}); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, _ := LookupRecord(st, o.inputs(j)); ok {
		t.Fatal("a --vm-archive build was recorded as the matrix's target")
	}

	out := t.TempDir()
	rep, err := BuildTarget(context.Background(), TargetOptions{Matrix: m, Release: j.Release, Target: j.Target, Store: st,
		Out: out, MatrixSHA256: "m", Builder: "b", run: run})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := publish.ReadRelease(filepath.Join(out, j.Release.Name+publish.ReleaseSuffix))
	if err != nil {
		t.Fatal(err)
	}
	if want := publish.ArchiveFiles(j.Target, rep.Artifacts); len(meta.Files) != len(want) || len(want) == 0 {
		t.Errorf("release metadata lists %+v, want %+v", meta.Files, want)
	}
	if meta.PyPyVersion != j.Release.PyPyVersion || meta.Stable != j.Release.Stable {
		t.Errorf("release metadata %+v", meta)
	}
	rec, dir, ok, err := LookupRecord(st, o.inputs(j))
	if err != nil || !ok {
		t.Fatalf("the merge does not find the build's record: %v %v", ok, err)
	}
	if len(rec.Files) != len(m.Formats(j.Release, j.Target))+1 {
		t.Errorf("record files %+v", rec.Files)
	}
	if _, err := os.Stat(filepath.Join(dir, j.Release.Name+publish.ReleaseSuffix)); !os.IsNotExist(err) {
		t.Errorf("the record keeps the release metadata: %v", err)
	}

	// With a signer every file gets a .sig and a .sigstore.json, listed
	// in the report.
	priv, err := keys.Generate()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := keys.NewSigner(priv)
	if err != nil {
		t.Fatal(err)
	}
	signedOut := t.TempDir()
	rep, err = BuildTarget(context.Background(), TargetOptions{Matrix: m, Release: j.Release, Target: j.Target, Store: st,
		Out: signedOut, MatrixSHA256: "m", Builder: "b", Signer: signer, run: run})
	if err != nil {
		t.Fatal(err)
	}
	sigs := rep.Artifacts.OfKind(artifact.KindSignature)
	if n := len(rep.Artifacts.Except(artifact.KindSignature).Signable()); n == 0 || len(sigs) != 2*n {
		t.Fatalf("%d signatures for %d files", len(sigs), n)
	}
	for _, s := range sigs {
		if _, err := os.Stat(s.Path); err != nil {
			t.Error(err)
		}
	}
}
