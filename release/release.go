package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator/srcarchive"
	"github.com/pypyctl/pypyctl/trust"
	"github.com/pypyctl/pypyctl/trust/keys"
	"github.com/pypyctl/pypyctl/vm"
)

// Options configure one release run.
type Options struct {
	Matrix    *platforms.Matrix
	Selection Selection
	Store     store.Store
	Dirs      dirs.Dirs
	// Jobs bounds how many targets build at once (0: 1). Each build
	// already uses every core to compress, so more than 2 rarely helps.
	Jobs int
	// FromStore gathers records other processes built; a missing one is
	// an error naming the targets, never a build.
	FromStore bool
	// Dist receives the gathered outputs (empty: a temporary directory).
	Dist string
	// Dest is where to publish; empty builds (and records) only, which
	// is what a builder of a split release does.
	Dest, BaseURL string
	Formats       []string // empty: the matrix's per target
	NoSmoke       bool
	Workers       int
	PostVM        pipeline.PostVM
	Signer        *keys.Signer
	// Nightly renames the outputs as the nightly of a source revision and
	// publishes them as pypy_version "nightly"; Keep > 0 prunes all but
	// the newest Keep nightlies from Dest.
	Nightly *Nightly
	Keep    int
	// Outputs are the distro outputs written after publishing.
	Outputs Outputs
	// MatrixSHA256 and Builder are passed to build (and key the records).
	MatrixSHA256, Builder string
	// GitMirror is cloned instead of a release's git URL when its -src
	// archives are made (the pins are checked either way).
	GitMirror string
	Logger    *slog.Logger // nil: log nothing
	Progress  func(step string, done, total int64)

	// runBuild is pipeline.Run; tests replace it (TargetOptions.run).
	runBuild func(context.Context, pipeline.Options) (*pipeline.Report, error)
	// SourceDir is the checkout a nightly translates (--source): passed
	// to every build instead of the release's pinned source.
	SourceDir string
}

// TargetReport is one target's line of the summary.
type TargetReport struct {
	Release string `json:"release"`
	Target  string `json:"target"`
	Record  string `json:"record_key"`
	// RecordHit: the whole target came from the store.
	RecordHit bool                   `json:"record_hit"`
	Stages    []pipeline.StageReport `json:"stages,omitempty"` // the build run now, if any
	Files     artifact.List          `json:"files"`
	Pinned    []vm.Input             `json:"-"` // the record's pinned inputs, for provenance
	Size      int64                  `json:"size"`
	Seconds   float64                `json:"seconds"`
}

// StoreHits counts the store hits of this run for the target: the record,
// or the build stages found in the store.
func (t *TargetReport) StoreHits() int {
	if t.RecordHit {
		return 1
	}
	n := 0
	for _, s := range t.Stages {
		if s.Hit {
			n++
		}
	}
	return n
}

// Report is what a release run did.
type Report struct {
	Releases  []string             `json:"releases"`
	Nightly   *Nightly             `json:"nightly,omitempty"`
	Targets   []TargetReport       `json:"targets"`
	Dist      string               `json:"dist,omitempty"`
	Published *publish.Report      `json:"published,omitempty"`
	Pruned    []string             `json:"pruned,omitempty"`
	Aliases   []string             `json:"aliases,omitempty"`
	Outputs   *OutputsReport       `json:"outputs,omitempty"`
	Wheels    []BuiltWheel         `json:"wheels,omitempty"`
	Sources   []srcarchive.Archive `json:"sources,omitempty"`
	Seconds   float64              `json:"seconds"`
}

func (o *Options) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

// Run plans the release, gets every target's record (building, or only
// looking up with FromStore), gathers them into Dist with release
// metadata and SHA256SUMS, signs, and publishes to Dest.
func Run(ctx context.Context, o Options) (*Report, error) {
	start := time.Now()
	if o.Outputs.any() && o.Dest == "" {
		return nil, errors.New("a Homebrew tap or an apt repository is made from a published release: give --to")
	}
	if o.Outputs.AptRepo != "" && o.Outputs.AptKey == nil {
		return nil, errors.New("an apt repository is signed: give --apt-key (make one with `pypyctl keys generate --openpgp`)")
	}
	jobs, err := Plan(o.Matrix, o.Selection)
	if err != nil {
		return nil, err
	}
	if o.Nightly != nil && len(releasesOf(jobs)) != 1 {
		return nil, fmt.Errorf("a nightly is one release (one Python version); --nightly got %s", strings.Join(releasesOf(jobs), ", "))
	}
	rep := &Report{Releases: releasesOf(jobs), Nightly: o.Nightly, Targets: make([]TargetReport, len(jobs))}
	dirsOf := make([]string, len(jobs))
	if o.FromStore {
		err = gather(&o, jobs, rep, dirsOf)
	} else {
		err = buildAll(ctx, &o, jobs, rep, dirsOf)
	}
	if err != nil {
		return nil, err
	}
	if o.Dest == "" && o.Dist == "" {
		rep.Seconds = time.Since(start).Seconds()
		return rep, nil
	}
	dist := o.Dist
	if dist == "" {
		tmp, err := os.MkdirTemp("", "pypyctl-release-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(tmp)
		dist = tmp
	} else {
		rep.Dist = dist
	}
	if err := stage(ctx, &o, jobs, rep, dirsOf, dist); err != nil {
		return nil, err
	}
	if o.Dest != "" {
		if err := publishDist(ctx, &o, jobs, rep, dist); err != nil {
			return nil, err
		}
		if rep.Outputs, err = writeOutputs(ctx, &o, jobs); err != nil {
			return nil, err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	return rep, nil
}

// releasesOf names the jobs' releases, once each: jobs come grouped by
// release.
func releasesOf(jobs []Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.Release.Name)
	}
	return slices.Compact(out)
}

// Inputs are the record inputs of job j under o.
func (o *Options) Inputs(j Job) RecordInputs { return o.inputs(j) }

func (o *Options) inputs(j Job) RecordInputs {
	t := o.target(j)
	return t.inputs()
}

// target is job j's build as a builder of this release runs it: unsigned
// (the merge signs what it gathers), its log lines prefixed with the job.
func (o *Options) target(j Job) TargetOptions {
	return TargetOptions{
		Matrix: o.Matrix, Release: j.Release, Target: j.Target, Store: o.Store, Dirs: o.Dirs,
		Formats: o.Formats, NoSmoke: o.NoSmoke, Workers: o.Workers, PostVM: o.PostVM, SourceDir: o.SourceDir,
		MatrixSHA256: o.MatrixSHA256, Builder: o.Builder,
		Logger:   o.log().With("job", j.Name()),
		Progress: o.Progress,
		run:      o.runBuild,
	}
}

// gather looks every record up and names all the missing ones at once.
func gather(o *Options, jobs []Job, rep *Report, dirsOf []string) error {
	var missing []string
	for i, j := range jobs {
		in := o.inputs(j)
		rec, dir, ok, err := LookupRecord(o.Store, in)
		if err != nil {
			return fmt.Errorf("%s: %w", j.Name(), err)
		}
		key, _ := RecordKey(in)
		if !ok {
			missing = append(missing, fmt.Sprintf("%s (record %s)", j.Name(), key.Short()))
			continue
		}
		o.log().Info("record from the store", "job", j.Name(), "key", key.Short())
		dirsOf[i] = dir
		rep.Targets[i] = targetReport(j, key, rec, true, nil, 0)
	}
	if len(missing) > 0 {
		return fmt.Errorf("the store has no build of %s: run `pypyctl release --release R --targets T --store S` for each on a builder first", strings.Join(missing, ", "))
	}
	return nil
}

// buildAll runs up to o.Jobs targets at once; the first failure cancels
// the others (what finished stays in the store for the rerun).
func buildAll(ctx context.Context, o *Options, jobs []Job, rep *Report, dirsOf []string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(o.Jobs, 1))
	errs := make([]error, len(jobs))
	for i := range jobs {
		g.Go(func() error {
			// A job whose turn comes after a failure does not start.
			if errs[i] = ctx.Err(); errs[i] == nil {
				errs[i] = buildOne(ctx, o, jobs[i], rep, dirsOf, i)
			}
			return errs[i]
		})
	}
	_ = g.Wait() // errs holds every job's error; reported below in job order
	// Report the first real failure, not the cancellations it caused.
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("%s: %w", jobs[i].Name(), err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return fmt.Errorf("%s: %w", jobs[i].Name(), err)
		}
	}
	return nil
}

func buildOne(ctx context.Context, o *Options, j Job, rep *Report, dirsOf []string, i int) error {
	start := time.Now()
	t := o.target(j)
	in := t.inputs()
	log := t.Logger
	var stages []pipeline.StageReport
	// The build's outputs go straight into the record being made; a
	// record hit builds nothing.
	rec, dir, hit, err := EnsureRecord(ctx, o.Store, in, !o.NoSmoke, func(ctx context.Context, out string) (*pipeline.Report, error) {
		log.Info("building")
		t.Out = out
		r, err := t.build(ctx)
		if r != nil {
			stages = r.Stages
		}
		return r, err
	})
	if err != nil {
		return err
	}
	key, _ := RecordKey(in)
	if hit {
		log.Info("record: store hit", "key", key.Short())
	}
	dirsOf[i] = dir
	rep.Targets[i] = targetReport(j, key, rec, hit, stages, time.Since(start).Seconds())
	return nil
}

func targetReport(j Job, key store.Key, rec *Record, hit bool, stages []pipeline.StageReport, secs float64) TargetReport {
	return TargetReport{Release: j.Release.Name, Target: j.Target.Name, Record: string(key), RecordHit: hit, Stages: stages,
		Files: rec.Files, Pinned: rec.Pinned, Size: rec.Files.Size(), Seconds: secs}
}

// stage copies every record's files into dist, under nightly names when
// asked, with <release>.release.json, SHA256SUMS and signatures.
func stage(ctx context.Context, o *Options, jobs []Job, rep *Report, dirsOf []string, dist string) error {
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return fmt.Errorf("dist: %w", err)
	}
	rels := map[string]*publish.Release{}
	var order []string
	var arts artifact.List
	for i, j := range jobs {
		name := j.Release.Name
		if o.Nightly != nil {
			name = o.Nightly.Name()
		}
		rel, ok := rels[name]
		if !ok {
			meta := releaseMeta(j.Release, name)
			rel = &meta
			rels[name] = rel
			order = append(order, name)
		}
		var subjects artifact.List
		for _, f := range rep.Targets[i].Files {
			if err := ctx.Err(); err != nil {
				return err
			}
			out := f
			out.Name = fileName(o, j, f.Name)
			out.Path = filepath.Join(dist, out.Name)
			out.Target = j.Target.Name // records do not write it
			if err := copyFile(filepath.Join(dirsOf[i], f.Name), out.Path, f.SHA256); err != nil {
				return err
			}
			arts = append(arts, out)
			subjects = append(subjects, out)
		}
		for _, a := range subjects.OfKind(artifact.KindDebugArchive) {
			rel.Debug = append(rel.Debug, a.Name)
		}
		rel.Files = append(rel.Files, publish.ArchiveFiles(j.Target, subjects)...)
		// The merge holds the key, so it writes each target's signed
		// provenance over what it publishes (builders need no key).
		if o.Signer != nil {
			prov := fileName(o, j, pipeline.ProvenanceName(j.Release.ArchiveBase(j.Target)))
			a, err := pipeline.WriteProvenance(ctx, pipeline.ProvenanceOptions{
				Signer: o.Signer, Path: filepath.Join(dist, prov), Release: j.Release, Target: j.Target, Name: name,
				MatrixName: o.Matrix.Path, MatrixSHA256: o.MatrixSHA256, Builder: o.Builder,
				Inputs: rep.Targets[i].Pinned, Artifacts: subjects,
			})
			if err != nil {
				return fmt.Errorf("%s: %w", j.Name(), err)
			}
			arts = append(arts, a)
		}
	}
	if o.Nightly == nil {
		ws, err := releaseWheels(ctx, o, jobs, dist)
		if err != nil {
			return err
		}
		for _, w := range ws {
			a, err := artifact.Describe(w.Path, artifact.KindWheel)
			if err != nil {
				return err
			}
			arts = append(arts, a)
			rels[w.release].Wheels = append(rels[w.release].Wheels, a.Name)
		}
		rep.Wheels = ws
		srcs, byRelease, err := releaseSources(ctx, o, jobs, dist)
		if err != nil {
			return err
		}
		for _, sa := range srcs {
			a, err := artifact.Describe(sa.Path, artifact.KindSource)
			if err != nil {
				return err
			}
			arts = append(arts, a)
		}
		for name, files := range byRelease {
			rels[name].Sources = append(rels[name].Sources, files...)
		}
		rep.Sources = srcs
	}
	for _, n := range order {
		r := *rels[n]
		if o.Nightly != nil {
			// publish turns it into a nightly entry (pypy_version
			// "nightly", python X.Y, no date, not stable).
			r.Stable, r.Date = false, ""
		}
		if err := publish.WriteRelease(dist, r); err != nil {
			return err
		}
	}
	arts.SortByName()
	sums, err := pipeline.UpdateSHA256SUMS(dist, arts)
	if err != nil {
		return err
	}
	if o.Signer != nil {
		// The provenance is a signed envelope already.
		if _, err := trust.SignFiles(ctx, o.Signer, append(arts, sums).Signable().Paths()); err != nil {
			return err
		}
	}
	return nil
}

// fileName renames a release file for a nightly: the archive base of the
// release (pypy3.9-v7.3.11-linux64) becomes the nightly's
// (pypy-c-jit-N-hash-linux64); the top directory inside the archive keeps
// the build's name (build names trees by release; see docs/releasing.md).
func fileName(o *Options, j Job, name string) string {
	if o.Nightly == nil {
		return name
	}
	base := j.Release.ArchiveBase(j.Target)
	if rest, ok := strings.CutPrefix(name, base); ok {
		return o.Nightly.Base(j.Target.Platform) + rest
	}
	return name
}

// copyFile copies src to dst atomically and checks what it wrote against
// sum.
func copyFile(src, dst, sum string) error {
	got, _, err := fsutil.CopyHashed(src, dst, fsutil.CopyOptions{Perm: 0o644})
	if err != nil {
		return err
	}
	if got != sum {
		return &fsutil.DigestMismatchError{Path: src, Expected: sum, Actual: got}
	}
	return nil
}

func publishDist(ctx context.Context, o *Options, jobs []Job, rep *Report, dist string) error {
	pr, err := publish.Publish(ctx, publish.Options{Dist: dist, Dest: o.Dest, BaseURL: o.BaseURL, Nightly: o.Nightly != nil, Matrix: o.Matrix, Logger: o.Logger})
	if err != nil {
		return err
	}
	rep.Published = pr
	// A signed index lets installs that trust the key refuse a replayed
	// older one (docs/trust.md).
	if o.Signer != nil {
		if _, err := trust.SignFiles(ctx, o.Signer, []string{pr.VersionsJSON}); err != nil {
			return err
		}
	}
	if o.Nightly == nil {
		return nil
	}
	aliases, err := writeLatest(o.Dest, *o.Nightly, jobs, rep)
	if err != nil {
		return err
	}
	rep.Aliases = aliases
	if o.Keep > 0 {
		pruned, err := Retain(ctx, o.Dest, o.Keep)
		if err != nil {
			return err
		}
		rep.Pruned = pruned
	}
	return nil
}
