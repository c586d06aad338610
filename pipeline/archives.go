package pipeline

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm/strip"
)

func hostArch() string { return runtime.GOARCH }

// packStage packs a directory into one archive file: the tree in one
// format, or the debug info a strip stage kept aside.
type packStage struct {
	stage  string         // the store's stage name: archive | archive-debug
	kind   artifact.Kind  // what the file is in the build's artifacts
	inputs map[string]any // the keys of what is packed
	dir    string         // packed as base/… in the archive
	base   string
	format archive.Format
	opts   archive.Options
}

func (s *packStage) Name() string { return s.stage + ":" + string(s.format) }

// file is the archive's name: <base>.<format>.
func (s *packStage) file() string { return s.base + "." + string(s.format) }

// Key is the packed inputs' keys plus the format, name and
// SOURCE_DATE_EPOCH.
func (s *packStage) Key() (store.Key, error) {
	in := maps.Clone(s.inputs)
	in["format"], in["name"], in["source_date_epoch"] = s.format, s.file(), s.opts.SourceDateEpoch
	return store.NewKey(s.stage, archiveStageVersion, in)
}

func (s *packStage) Run(ctx context.Context, dir string) error {
	return archive.WriteFile(ctx, filepath.Join(dir, s.file()), s.dir, s.base, s.format, s.opts)
}

// packed is what the stage wrote into its store entry out, as an artifact
// still to be copied to the output directory.
func (s *packStage) packed(out Output) artifact.Artifact {
	return artifact.Artifact{Name: s.file(), Path: filepath.Join(out.Dir, s.file()), Kind: s.kind, Format: string(s.format)}
}

// outputStages are the stages that pack a tree into the build's files:
// one archive per format and, when the VM was stripped, its debug info in
// the first format (one is enough).
func outputStages(o *Options, t *TreeResult, formats []string) ([]*packStage, error) {
	var out []*packStage
	for _, format := range formats {
		f, err := archive.ParseFormat(format)
		if err != nil {
			return nil, err
		}
		if o.Target.OS == "windows" && f != archive.Zip {
			return nil, fmt.Errorf("target %s ships zip archives only, not %s", o.Target.Name, format)
		}
		out = append(out, newPackStage(o, "archive", artifact.KindArchive, map[string]any{"tree": t.Key}, t.Dir, o.Release.ArchiveBase(o.Target), f))
	}
	// The debug archive: <base>-debug.<format>, top directory <base>-debug/
	// with the tree's paths below it, so gdb finds the files with
	// `set debug-file-directory`.
	if dbg := filepath.Join(t.VMDir, strip.DebugDir); len(out) > 0 && exists(dbg) {
		out = append(out, newPackStage(o, "archive-debug", artifact.KindDebugArchive, map[string]any{"vm": t.VMKey}, dbg, o.Release.ArchiveBase(o.Target)+"-debug", out[0].format))
	}
	return out, nil
}

func newPackStage(o *Options, stage string, kind artifact.Kind, inputs map[string]any, dir, base string, f archive.Format) *packStage {
	s := &packStage{stage: stage, kind: kind, inputs: inputs, dir: dir, base: base, format: f,
		opts: archive.Options{SourceDateEpoch: o.Release.SourceDateEpoch, Workers: o.Workers}}
	if o.Progress != nil {
		s.opts.Progress = func(done, total int64) { o.Progress("compress "+s.file(), done, total) }
	}
	return s
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// archiveStageVersion changes when archive bytes would change.
const archiveStageVersion = 2

// publishFile copies a store file to dst atomically and describes it.
func publishFile(src, dst string) (artifact.Artifact, error) {
	sum, size, err := fsutil.CopyHashed(src, dst, fsutil.CopyOptions{Perm: 0o644})
	if err != nil {
		return artifact.Artifact{}, err
	}
	return artifact.Artifact{Name: filepath.Base(dst), Path: dst, Size: size, SHA256: sum}, nil
}

// UpdateSHA256SUMS merges the artifacts' digests into dir/SHA256SUMS (the
// `sha256sum` format, sorted by name), keeping entries of other builds
// that share the directory, and returns the SHA256SUMS artifact.
func UpdateSHA256SUMS(dir string, arts artifact.List) (artifact.Artifact, error) {
	path := filepath.Join(dir, sums.Name)
	// A SHA256SUMS that does not parse is an error, not half-kept: it is
	// what verify and publish trust.
	all, err := sums.ReadFile(path)
	if err != nil {
		return artifact.Artifact{}, fmt.Errorf("merge into %w", err)
	}
	for name := range all {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			delete(all, name) // its file is gone: a stale line
		}
	}
	for _, a := range arts {
		all[a.Name] = a.SHA256
	}
	if err := fsutil.WriteFileAtomic(path, all.Bytes(), 0o644); err != nil {
		return artifact.Artifact{}, err
	}
	return artifact.Describe(path, artifact.KindChecksums)
}
