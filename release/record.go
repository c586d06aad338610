package release

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/pipeline"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/vm"
)

// A record is one store entry holding a target's finished build outputs
// (archives, SBOM) plus RecordFile, keyed by what a merge process can
// compute without building: the release, the target, the matrix and the
// options that change bytes. Builders leave records in a shared store;
// `release --from-store` gathers them.
const (
	recordStage   = "release-record"
	recordVersion = 2 // 2: records carry the pinned inputs
	// RecordFile describes the entry's files.
	RecordFile = "record.json"
)

// RecordInputs is everything that selects a target's outputs. The smoke
// test is not an input: it checks the tree but changes no byte of it.
// Builder (pypyctl's version and commit) is: a record is a finished
// product of one pypyctl, and builder and merge jobs of a release run the
// same binary.
type RecordInputs struct {
	Builder      string          `json:"builder"`
	Release      string          `json:"release"`
	Target       string          `json:"target"`
	MatrixSHA256 string          `json:"matrix_sha256"`
	Formats      []string        `json:"formats"`
	PostVM       pipeline.PostVM `json:"post_vm"`
}

// RecordKey is the store key of a target's record.
func RecordKey(in RecordInputs) (store.Key, error) {
	in.Formats = slices.Clone(in.Formats)
	sort.Strings(in.Formats)
	return store.NewKey(recordStage, recordVersion, in)
}

// Record is RecordFile's content.
type Record struct {
	Inputs RecordInputs `json:"inputs"`
	// Files are the outputs, by name, without SHA256SUMS: the release
	// writes one for everything it gathers.
	Files artifact.List `json:"files"`
	// Stages is the build that made the record (which stages were hits).
	Stages []pipeline.StageReport `json:"stages"`
	Smoked bool                   `json:"smoked"`
	// Inputs are the tree's pinned inputs, for the merge's provenance.
	Pinned []vm.Input `json:"pinned,omitempty"`
}

// writeRecord keeps the build's outputs in dir (the store entry being
// made) and describes them. Paths are dropped: the entry moves.
func writeRecord(dir string, in RecordInputs, rep *pipeline.Report, smoked bool) (*Record, error) {
	rec := &Record{Inputs: in, Stages: rep.Stages, Smoked: smoked, Pinned: rep.Inputs}
	for _, a := range rep.Artifacts {
		if a.Kind == artifact.KindChecksums || a.Name == sums.Name {
			if err := os.Remove(filepath.Join(dir, a.Name)); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
			continue
		}
		a.Path = ""
		rec.Files = append(rec.Files, a)
	}
	// build also merges a <release>.release.json when it is asked to; the
	// release writes its own, so nothing else may linger in the entry.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	keep := map[string]bool{}
	for _, f := range rec.Files {
		keep[f.Name] = true
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	rec.Files.SortByName()
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(dir, RecordFile), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return rec, nil
}

// ReadRecord reads the record in a store entry's directory and checks
// that every file it names is there with its digest.
func ReadRecord(dir string) (*Record, error) {
	b, err := os.ReadFile(filepath.Join(dir, RecordFile))
	if err != nil {
		return nil, fmt.Errorf("release record: %w", err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("release record %s: %w", filepath.Join(dir, RecordFile), err)
	}
	for _, f := range rec.Files {
		sum, _, err := fsutil.SHA256File(filepath.Join(dir, f.Name))
		if err != nil {
			return nil, fmt.Errorf("release record: %w", err)
		}
		if sum != f.SHA256 {
			return nil, &fsutil.DigestMismatchError{Path: filepath.Join(dir, f.Name), Expected: f.SHA256, Actual: sum}
		}
	}
	return &rec, nil
}

// EnsureRecord returns the target's record, building it with b when the
// store has none. hit says the record came from the store as is.
func EnsureRecord(ctx context.Context, st store.Store, in RecordInputs, smoked bool, b func(ctx context.Context, outDir string) (*pipeline.Report, error)) (rec *Record, dir string, hit bool, err error) {
	key, err := RecordKey(in)
	if err != nil {
		return nil, "", false, err
	}
	var made *Record
	res, err := st.Ensure(ctx, key, func(ctx context.Context, dir string) error {
		rep, err := b(ctx, dir)
		if err != nil {
			return err
		}
		made, err = writeRecord(dir, in, rep, smoked)
		return err
	})
	if err != nil {
		return nil, "", false, err
	}
	if made != nil && !res.Hit {
		return made, res.Dir, false, nil
	}
	rec, err = ReadRecord(res.Dir)
	return rec, res.Dir, res.Hit, err
}

// LookupRecord finds a target's record without building it.
func LookupRecord(st store.Store, in RecordInputs) (*Record, string, bool, error) {
	key, err := RecordKey(in)
	if err != nil {
		return nil, "", false, err
	}
	dir, ok, err := st.Lookup(key)
	if err != nil || !ok {
		return nil, "", false, err
	}
	rec, err := ReadRecord(dir)
	return rec, dir, err == nil, err
}

// PutRecord records a finished `pypyctl build` (its report and the files
// it wrote) as the target's record, so a build run on its own is found by
// `release --from-store` like a release builder's. The caller passes the
// same inputs release would compute (see Options.inputs); an existing
// record is kept.
func PutRecord(ctx context.Context, st store.Store, in RecordInputs, rep *pipeline.Report, smoked bool) (bool, error) {
	key, err := RecordKey(in)
	if err != nil {
		return false, err
	}
	res, err := st.Ensure(ctx, key, func(ctx context.Context, dir string) error {
		// What a target's build makes; the merge writes SHA256SUMS,
		// provenance and signatures over everything it gathers.
		kept := rep.Artifacts.OfKind(artifact.KindArchive, artifact.KindDebugArchive, artifact.KindSBOM)
		for _, a := range kept {
			if err := copyFile(a.Path, filepath.Join(dir, a.Name), a.SHA256); err != nil {
				return err
			}
		}
		_, err := writeRecord(dir, in, &pipeline.Report{Stages: rep.Stages, Artifacts: kept, Inputs: rep.Inputs}, smoked)
		return err
	})
	return res.Hit, err
}
