package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/packaging/archive"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm/strip"
)

type builtArchive struct {
	name, format, src string
	kind              string // archive | debug-archive
}

func hostArch() string { return runtime.GOARCH }

// archive packs the tree in one format as a store stage.
func (rep *Report) archive(ctx context.Context, o *Options, t *TreeResult, format string) (builtArchive, error) {
	f, err := archive.ParseFormat(format)
	if err != nil {
		return builtArchive{}, err
	}
	if o.Target.OS == "windows" && f != archive.Zip {
		return builtArchive{}, fmt.Errorf("target %s ships zip archives only, not %s", o.Target.Name, format)
	}
	return rep.pack(ctx, o, "archive", "archive", map[string]any{"tree": t.Key}, t.Dir, o.Release.ArchiveBase(o.Target), f)
}

// debugArchive packs the .debug files the strip stage kept aside into
// <base>-debug.<format> (top directory <base>-debug/, the tree's paths
// below it, so gdb finds them with `set debug-file-directory`), or
// returns false when the VM was not stripped.
func (rep *Report) debugArchive(ctx context.Context, o *Options, t *TreeResult, format string) (builtArchive, bool, error) {
	dbg := filepath.Join(t.VMDir, strip.DebugDir)
	if _, err := os.Stat(dbg); err != nil {
		return builtArchive{}, false, nil
	}
	f, err := archive.ParseFormat(format)
	if err != nil {
		return builtArchive{}, false, err
	}
	a, err := rep.pack(ctx, o, "archive-debug", "debug-archive", map[string]any{"vm": t.VMKey}, dbg, o.Release.ArchiveBase(o.Target)+"-debug", f)
	return a, err == nil, err
}

// pack writes dir as <base>.<f> with top directory base, as the store
// stage keyStage (keyed by in plus the format, name and
// SOURCE_DATE_EPOCH), shown as keyStage:<f>.
func (rep *Report) pack(ctx context.Context, o *Options, keyStage, kind string, in map[string]any, dir, base string, f archive.Format) (builtArchive, error) {
	name := base + "." + string(f)
	in["format"], in["name"], in["source_date_epoch"] = f, name, o.Release.SourceDateEpoch
	key, err := store.NewKey(keyStage, archiveStageVersion, in)
	if err != nil {
		return builtArchive{}, err
	}
	out, err := rep.stage(ctx, o, keyStage+":"+string(f), key, func(ctx context.Context, out string) error {
		opt := archive.Options{SourceDateEpoch: o.Release.SourceDateEpoch, Workers: o.Workers}
		if o.Progress != nil {
			opt.Progress = func(done, total int64) { o.Progress("compress "+name, done, total) }
		}
		return archive.WriteFile(ctx, filepath.Join(out, name), dir, base, f, opt)
	})
	if err != nil {
		return builtArchive{}, err
	}
	return builtArchive{name: name, format: string(f), src: filepath.Join(out, name), kind: kind}, nil
}

// archiveStageVersion changes when archive bytes would change.
const archiveStageVersion = 2

// publishFile copies a store file to dst atomically and describes it.
func publishFile(src, dst string) (Artifact, error) {
	in, err := os.Open(src)
	if err != nil {
		return Artifact{}, err
	}
	defer in.Close()
	if err := fsutil.WriteAtomic(dst, 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	}); err != nil {
		return Artifact{}, err
	}
	return Describe(dst, "")
}

// UpdateSHA256SUMS merges the artifacts' digests into dir/SHA256SUMS (the
// `sha256sum` format, sorted by name), keeping entries of other builds
// that share the directory, and returns the SHA256SUMS artifact.
func UpdateSHA256SUMS(dir string, arts []Artifact) (Artifact, error) {
	path := filepath.Join(dir, sums.Name)
	// A SHA256SUMS that does not parse is an error, not half-kept: it is
	// what verify and publish trust.
	all, err := sums.ReadFile(path)
	if err != nil {
		return Artifact{}, fmt.Errorf("merge into %w", err)
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
		return Artifact{}, err
	}
	sum, size, err := fsutil.SHA256File(path)
	if err != nil {
		return Artifact{}, err
	}
	return Artifact{Name: sums.Name, Path: path, Kind: "checksums", Size: size, SHA256: sum}, nil
}
