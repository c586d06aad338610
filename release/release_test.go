package release

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/testtool"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish/index"
	"github.com/pypyctl/pypyctl/store"
)

func matrix(t *testing.T) *platforms.Matrix {
	t.Helper()
	m, err := platforms.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPlan(t *testing.T) {
	m := matrix(t)
	def, err := m.Release("")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sel     Selection
		want    []string // job names; nil with wantErr
		wantErr string
	}{
		{name: "default release, two targets", sel: Selection{Targets: []string{"linux-arm64", "linux-amd64"}},
			want: []string{def.Name + "/linux-amd64", def.Name + "/linux-arm64"}},
		{name: "by version", sel: Selection{Version: def.PyPyVersion, Targets: []string{"linux-amd64"}},
			want: []string{def.Name + "/linux-amd64"}},
		{name: "unknown version", sel: Selection{Version: "0.0.1"}, wantErr: "no release of PyPy 0.0.1"},
		{name: "unknown target", sel: Selection{Targets: []string{"linux-amd64", "plan9-mips"}}, wantErr: "no selected release has target plan9-mips"},
		{name: "both", sel: Selection{Version: "7.3.11", Release: def.Name}, wantErr: "not both"},
		{name: "unknown release", sel: Selection{Release: "pypy9.9-v1"}, wantErr: "not in the matrix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jobs, err := Plan(m, tt.sel)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, j := range jobs {
				got = append(got, j.Name())
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("plan = %v, want %v", got, tt.want)
			}
		})
	}
	// Every target of the release when none is named, in the release's order.
	jobs, err := Plan(m, Selection{})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != len(def.Targets) {
		t.Fatalf("%d jobs for %d targets", len(jobs), len(def.Targets))
	}
}

func TestNightlyNames(t *testing.T) {
	n := Nightly{N: 107123, Hash: "0123456789ab"}
	tests := []struct{ got, want string }{
		{n.Name(), "pypy-c-jit-107123-0123456789ab"},
		{n.Base("linux64"), "pypy-c-jit-107123-0123456789ab-linux64"},
		{n.Base("macos_arm64"), "pypy-c-jit-107123-0123456789ab-macos_arm64"},
		{LatestBase("aarch64"), "pypy-c-jit-latest-aarch64"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	// publish's archive-name parser must see our names as nightlies.
	for _, name := range []string{n.Base("linux64") + ".tar.bz2", LatestBase("win64") + ".zip"} {
		an, ok := index.ParseArchiveName(name)
		if !ok || an.PyPy != index.Nightly {
			t.Errorf("index.ParseArchiveName(%q) = %+v, %v; want a nightly", name, an, ok)
		}
	}
	for _, s := range []string{n.Name(), "pypy-c-jit-1-abcdefabcdef"} {
		if p, ok := ParseNightlyName(s); !ok || p.Name() != s {
			t.Errorf("ParseNightlyName(%q) = %+v, %v", s, p, ok)
		}
	}
	for _, s := range []string{"pypy-c-jit-latest", "pypy-c-jit-0-abcdefabcdef", "pypy-c-jit-5-ABCDEFABCDEF", "pypy3.9-v7.3.11", "pypy-c-jit-5-abc"} {
		if _, ok := ParseNightlyName(s); ok {
			t.Errorf("ParseNightlyName(%q) accepted", s)
		}
	}
}

// gitRepo makes a real repository with n commits and returns its dir and
// HEAD's id.
func gitRepo(t *testing.T, n int) (string, string) {
	t.Helper()
	testtool.Need(t, "git")
	dir := t.TempDir()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.invalid", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@example.invalid", "GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	for i := 0; i < n; i++ {
		git("commit", "-q", "--allow-empty", "-m", "c")
	}
	return dir, git("rev-parse", "HEAD")
}

func TestNightlyFromGit(t *testing.T) {
	dir, head := gitRepo(t, 3)
	tests := []struct {
		rev   string
		wantN int
	}{{"", 4}, {"HEAD", 4}, {"HEAD~2", 2}}
	for _, tt := range tests {
		n, err := NightlyFromGit(context.Background(), dir, tt.rev)
		if err != nil {
			t.Fatal(err)
		}
		if n.N != tt.wantN {
			t.Errorf("rev %q: N = %d, want %d (1 + commit count)", tt.rev, n.N, tt.wantN)
		}
		if tt.rev != "HEAD~2" && n.Hash != head[:12] {
			t.Errorf("rev %q: hash %s, want %s", tt.rev, n.Hash, head[:12])
		}
	}
	if _, err := NightlyFromGit(context.Background(), dir, "no-such-branch"); err == nil || !strings.Contains(err.Error(), "no-such-branch") {
		t.Fatalf("unknown rev: err = %v", err)
	}
	if _, err := NightlyFromGit(context.Background(), t.TempDir(), ""); err == nil {
		t.Fatal("a directory that is not a repository gave a nightly")
	}
}

func TestPrunable(t *testing.T) {
	ns := []Nightly{{N: 9, Hash: "a"}, {N: 7, Hash: "b"}, {N: 3, Hash: "c"}}
	tests := []struct {
		keep int
		want int
	}{{0, 0}, {1, 2}, {2, 1}, {3, 0}, {5, 0}}
	for _, tt := range tests {
		got := Prunable(ns, tt.keep)
		if len(got) != tt.want {
			t.Errorf("keep %d: prune %v", tt.keep, got)
		}
		for _, g := range got {
			if g.N > ns[tt.keep-1].N {
				t.Errorf("keep %d pruned newer %d", tt.keep, g.N)
			}
		}
	}
}

// fakeBuild writes small archives and an SBOM named as build names them,
// standing in for pipeline.Run so the orchestration runs in milliseconds.
func fakeBuild(calls *int) func(j Job, formats []string) func(ctx context.Context, out string) (*pipeline.Report, error) {
	return func(j Job, formats []string) func(ctx context.Context, out string) (*pipeline.Report, error) {
		return func(ctx context.Context, out string) (*pipeline.Report, error) {
			*calls++
			rep := &pipeline.Report{Release: j.Release.Name, Target: j.Target.Name, Stages: []pipeline.StageReport{{Name: "vm", Key: "k"}}}
			add := func(name string, kind artifact.Kind, format string) error {
				data := []byte(name + " contents\n")
				if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
					return err
				}
				sum := sha256.Sum256(data)
				rep.Artifacts = append(rep.Artifacts, artifact.Artifact{Name: name, Path: filepath.Join(out, name), Kind: kind, Format: format, Size: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
				return nil
			}
			for _, f := range formats {
				if err := add(j.Release.ArchiveName(j.Target, f), "archive", f); err != nil {
					return nil, err
				}
			}
			if err := add(pipeline.SBOMName(j.Release.ArchiveBase(j.Target)), "sbom", ""); err != nil {
				return nil, err
			}
			if err := add("SHA256SUMS", "checksums", ""); err != nil {
				return nil, err
			}
			return rep, nil
		}
	}
}

// record builds the fake records of the plan into st, as a builder would.
func record(t *testing.T, o Options, calls *int) {
	t.Helper()
	jobs, err := Plan(o.Matrix, o.Selection)
	if err != nil {
		t.Fatal(err)
	}
	fb := fakeBuild(calls)
	for _, j := range jobs {
		in := o.inputs(j)
		if _, _, _, err := EnsureRecord(context.Background(), o.Store, in, false, fb(j, in.Formats)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	m := matrix(t)
	st := store.NewLocal(t.TempDir())
	o := Options{Matrix: m, Selection: Selection{Targets: []string{"linux-amd64"}}, Store: st, MatrixSHA256: "m1"}
	calls := 0
	record(t, o, &calls)
	record(t, o, &calls)
	if calls != 1 {
		t.Fatalf("built %d times; the second run must be a store hit", calls)
	}
	jobs, _ := Plan(m, o.Selection)
	rec, dir, ok, err := LookupRecord(st, o.inputs(jobs[0]))
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	for _, f := range rec.Files {
		if f.Name == "SHA256SUMS" || f.Path != "" {
			t.Errorf("record keeps %+v", f)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "SHA256SUMS")); !os.IsNotExist(err) {
		t.Errorf("the record entry keeps the build's SHA256SUMS: %v", err)
	}
	// Another matrix is another key: nothing to find.
	o.MatrixSHA256 = "m2"
	if _, _, ok, _ := LookupRecord(st, o.inputs(jobs[0])); ok {
		t.Fatal("a record of another matrix was found")
	}
}

func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, err := os.Readlink(p)
			out[rel] = "-> " + l
			return err
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			out[rel] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFromStoreAndNightly(t *testing.T) {
	m := matrix(t)
	st := store.NewLocal(t.TempDir())
	sel := Selection{Targets: []string{"linux-amd64", "linux-arm64"}}
	base := Options{Matrix: m, Selection: sel, Store: st, MatrixSHA256: "m", BaseURL: "https://example.invalid/pub", FromStore: true}
	ctx := context.Background()

	// Nothing recorded: the error names both targets.
	o := base
	o.Dest = t.TempDir()
	if _, err := Run(ctx, o); err == nil || !strings.Contains(err.Error(), "linux-amd64") || !strings.Contains(err.Error(), "linux-arm64") {
		t.Fatalf("err = %v, want both targets named", err)
	}
	calls := 0
	one := base
	one.Selection.Targets = []string{"linux-arm64"}
	record(t, one, &calls)
	if _, err := Run(ctx, o); err == nil || strings.Contains(err.Error(), "linux-arm64") || !strings.Contains(err.Error(), "linux-amd64") {
		t.Fatalf("err = %v, want only linux-amd64 named", err)
	}
	record(t, base, &calls)

	// Two merges into different directories publish the same bytes.
	a, b := base, base
	a.Dest, b.Dest = t.TempDir(), t.TempDir()
	ra, err := Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, b); err != nil {
		t.Fatal(err)
	}
	ta, tb := readTree(t, a.Dest), readTree(t, b.Dest)
	if len(ta) == 0 || len(ta) != len(tb) {
		t.Fatalf("trees differ in size: %d vs %d", len(ta), len(tb))
	}
	for k, v := range ta {
		if tb[k] != v {
			t.Errorf("%s differs between two merges", k)
		}
	}
	for _, tr := range ra.Targets {
		if !tr.RecordHit || tr.StoreHits() != 1 {
			t.Errorf("%s: from-store target not a record hit: %+v", tr.Target, tr)
		}
	}
	var sum bytes.Buffer
	WriteSummary(&sum, ra)
	for _, want := range []string{"linux-amd64", "linux-arm64", "record", "1 archive", "1 sbom"} {
		if !strings.Contains(sum.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum.String())
		}
	}

	// Three nightlies with --keep 2 into one directory.
	dest := t.TempDir()
	var last Nightly
	for i, h := range []string{"aaaaaaaaaaaa", "bbbbbbbbbbbb", "cccccccccccc"} {
		n := Nightly{N: 100 + i, Hash: h}
		o := base
		o.Dest, o.Nightly, o.Keep = dest, &n, 2
		rep, err := Run(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 && (len(rep.Pruned) != 1 || rep.Pruned[0] != "pypy-c-jit-100-aaaaaaaaaaaa") {
			t.Fatalf("pruned %v", rep.Pruned)
		}
		last = n
	}
	left, err := NightliesIn(dest)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 2 || left[0] != last {
		t.Fatalf("nightlies left: %v", left)
	}
	ix, err := index.ReadFile(filepath.Join(dest, "versions.json"))
	if err != nil {
		t.Fatal(err)
	}
	r, _ := m.Release("")
	var nightly *index.Version
	for i := range ix {
		if ix[i].IsNightly() {
			if nightly != nil {
				t.Fatal("two nightly entries")
			}
			nightly = &ix[i]
		}
	}
	if nightly == nil {
		t.Fatal("versions.json has no nightly entry")
	}
	raw, _ := os.ReadFile(filepath.Join(dest, "versions.json"))
	var entries []map[string]any
	if err := json.Unmarshal(raw, &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e["pypy_version"] == "nightly" {
			if _, has := e["date"]; has {
				t.Errorf("nightly entry has a date: %v", e)
			}
			if e["python_version"] != r.PythonShort() || e["stable"] != false || e["latest_pypy"] != false {
				t.Errorf("nightly entry %v: want python_version %s, stable false, latest_pypy false", e, r.PythonShort())
			}
		}
	}
	if len(nightly.Files) != 2 {
		t.Fatalf("nightly files %+v", nightly.Files)
	}
	for _, f := range nightly.Files {
		if !strings.HasPrefix(f.Filename, last.Name()+"-") {
			t.Errorf("nightly entry names %s, not the newest nightly", f.Filename)
		}
		if f.DownloadURL != "https://example.invalid/pub/"+last.Name()+"/"+f.Filename {
			t.Errorf("url %s", f.DownloadURL)
		}
	}
	for _, plat := range []string{"linux64", "aarch64"} {
		alias := filepath.Join(dest, LatestBase(plat)+".tar.bz2")
		got, err := os.ReadFile(alias)
		if err != nil {
			t.Fatalf("latest alias: %v", err)
		}
		want, _ := os.ReadFile(filepath.Join(dest, last.Name(), last.Base(plat)+".tar.bz2"))
		if !bytes.Equal(got, want) {
			t.Errorf("%s does not point at the newest nightly", alias)
		}
	}
	if _, err := os.Stat(filepath.Join(dest, "pypy-c-jit-100-aaaaaaaaaaaa")); !os.IsNotExist(err) {
		t.Errorf("pruned nightly still there: %v", err)
	}
	sums, _ := os.ReadFile(filepath.Join(dest, "SHA256SUMS"))
	if strings.Contains(string(sums), "pypy-c-jit-100-") || !strings.Contains(string(sums), last.Name()+"/") {
		t.Errorf("top SHA256SUMS not pruned:\n%s", sums)
	}
}

func TestPutRecord(t *testing.T) {
	m := matrix(t)
	st := store.NewLocal(t.TempDir())
	o := Options{Matrix: m, Selection: Selection{Targets: []string{"linux-amd64"}}, Store: st, MatrixSHA256: "m"}
	jobs, _ := Plan(m, o.Selection)
	in := o.Inputs(jobs[0])
	out := t.TempDir()
	calls := 0
	rep, err := fakeBuild(&calls)(jobs[0], in.Formats)(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if hit, err := PutRecord(context.Background(), st, in, rep, true); err != nil || hit {
		t.Fatalf("put: hit %v, %v", hit, err)
	}
	rec, _, ok, err := LookupRecord(st, in)
	if err != nil || !ok {
		t.Fatalf("lookup after put: %v %v", ok, err)
	}
	if len(rec.Files) != len(in.Formats)+1 || !rec.Smoked {
		t.Fatalf("record %+v", rec)
	}
	if hit, err := PutRecord(context.Background(), st, in, rep, true); err != nil || !hit {
		t.Fatalf("second put: hit %v, %v", hit, err)
	}
}

// TestBuildAllBounded runs three targets with --jobs 2: at most two build
// at once, a failing target stops the run naming it, what finished stays
// recorded, and the rerun builds only what is missing.
func TestBuildAllBounded(t *testing.T) {
	m := matrix(t)
	st := store.NewLocal(t.TempDir())
	// The release of the embedded matrix with the most targets.
	var rel *platforms.Release
	for i := range m.Releases {
		if rel == nil || len(m.Releases[i].Targets) > len(rel.Targets) {
			rel = &m.Releases[i]
		}
	}
	if len(rel.Targets) < 3 {
		t.Fatalf("no release of the embedded matrix has 3 targets")
	}
	var targets []string
	for _, rt := range rel.Targets[:3] {
		targets = append(targets, rt.Name)
	}
	var mu sync.Mutex
	running, peak, calls := 0, 0, 0
	fail := targets[2]
	o := Options{Matrix: m, Selection: Selection{Release: rel.Name, Targets: targets}, Store: st, MatrixSHA256: "m", Jobs: 2,
		SourceDir: "/src/pypy-nightly"}
	o.runBuild = func(ctx context.Context, bo pipeline.Options) (*pipeline.Report, error) {
		if bo.SourceDir != o.SourceDir {
			t.Errorf("build of %s got source %q, want the release's --source %q", bo.Target.Name, bo.SourceDir, o.SourceDir)
		}
		mu.Lock()
		running++
		calls++
		if running > peak {
			peak = running
		}
		mu.Unlock()
		defer func() { mu.Lock(); running--; mu.Unlock() }()
		time.Sleep(20 * time.Millisecond)
		if bo.Target.Name == fail {
			return nil, errors.New("translation failed")
		}
		// A counter of its own per call: fakeBuild's is not for goroutines.
		return fakeBuild(new(int))(Job{Release: bo.Release, Target: bo.Target}, bo.Formats)(ctx, bo.OutDir)
	}
	_, err := Run(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), fail) || !strings.Contains(err.Error(), "translation failed") {
		t.Fatalf("err = %v, want %s's failure", err, fail)
	}
	if peak > 2 || peak < 1 {
		t.Fatalf("%d builds ran at once with --jobs 2", peak)
	}
	// The rerun: the failed target builds again, finished ones are record hits.
	fail = ""
	before := calls
	rep, err := Run(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for _, tr := range rep.Targets {
		if tr.RecordHit {
			hits++
		}
	}
	if calls-before+hits != 3 || calls-before < 1 {
		t.Fatalf("rerun built %d targets and found %d records; want 3 in all, the failed one built", calls-before, hits)
	}
}
