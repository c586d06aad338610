package publish

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish/index"
)

// ReleaseSchema is the version of the release metadata format.
const ReleaseSchema = 1

// ReleaseSuffix ends the name of the release metadata a build writes into
// its output directory: <release-name>.release.json. One file per release
// lets builds of several releases share one dist/ directory.
const ReleaseSuffix = ".release.json"

// Release is the metadata a build writes beside its archives: which
// release they belong to and which target each archive is for. Publish
// turns it into a versions.json entry.
type Release struct {
	Schema        int           `json:"schema"`
	Name          string        `json:"name"`           // pypy3.11-v7.3.20: the release directory
	PyPyVersion   string        `json:"pypy_version"`   // 7.3.20, 7.3.12rc1, or "nightly"
	PythonVersion string        `json:"python_version"` // 3.11.13 (X.Y for nightlies)
	Date          string        `json:"date,omitempty"` // YYYY-MM-DD; none for nightlies
	Stable        bool          `json:"stable"`
	Files         []ReleaseFile `json:"files"`
	// Wheels are cffi wheels built with the release's PyPy, published in
	// the release directory beside the archives (not in versions.json).
	Wheels []string `json:"wheels,omitempty"`
	// Sources are the release's -src archives (<name>-src.tar.gz, …),
	// published in the release directory; versions.json has no entry
	// for them, as upstream's has none.
	Sources []string `json:"sources,omitempty"`
	// Debug are the targets' -debug archives (the .debug files stripped
	// off a from-source build): published and summed, not downloads of
	// the index.
	Debug []string `json:"debug,omitempty"`
}

// ReleaseFile is one archive of a release.
type ReleaseFile struct {
	Target   string `json:"target"`   // matrix target name: linux-amd64
	Filename string `json:"filename"` // pypy3.11-v7.3.20-linux64.tar.bz2
	Format   string `json:"format"`   // tar.bz2
	Arch     string `json:"arch"`     // versions.json arch: x64
	Platform string `json:"platform"` // versions.json platform: linux
	SHA256   string `json:"sha256,omitempty"`
}

// ArchiveFiles are the entries of a target's archives among arts.
func ArchiveFiles(t *platforms.Target, arts artifact.List) []ReleaseFile {
	var out []ReleaseFile
	for _, a := range arts.OfKind(artifact.KindArchive) {
		out = append(out, ReleaseFile{Target: t.Name, Filename: a.Name, Format: a.Format,
			Arch: t.VersionsJSON.Arch, Platform: t.VersionsJSON.Platform, SHA256: a.SHA256})
	}
	return out
}

// Nightly reports whether the release is a nightly build.
func (r *Release) Nightly() bool { return r.PyPyVersion == index.Nightly }

// Validate checks what publish relies on.
func (r *Release) Validate() error {
	if err := safeName(r.Name); err != nil {
		return fmt.Errorf("release name: %w", err)
	}
	if r.PyPyVersion == "" || r.PythonVersion == "" {
		return fmt.Errorf("release %s: pypy_version and python_version are required", r.Name)
	}
	if !r.Nightly() && !index.IsVersion(r.PyPyVersion) {
		return fmt.Errorf("release %s: pypy_version %q is not a version", r.Name, r.PyPyVersion)
	}
	if len(r.Files) == 0 {
		return fmt.Errorf("release %s lists no files", r.Name)
	}
	for _, f := range r.Files {
		if err := safeName(f.Filename); err != nil {
			return fmt.Errorf("release %s: file name: %w", r.Name, err)
		}
		if f.Arch == "" || f.Platform == "" {
			return fmt.Errorf("release %s: %s has no arch/platform", r.Name, f.Filename)
		}
	}
	return nil
}

// safeName accepts a single path element that is not hidden.
func safeName(s string) error {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, `/\`) || strings.HasPrefix(s, ".") || strings.ContainsRune(s, 0) {
		return fmt.Errorf("%q is not a plain file name", s)
	}
	return nil
}

// ReleaseFromMatrix describes every archive the matrix says a release
// ships (each target × format); publish keeps those present in DIST.
func ReleaseFromMatrix(m *platforms.Matrix, r *platforms.Release) (Release, error) {
	out := Release{
		Schema: ReleaseSchema, Name: r.Name, PyPyVersion: r.PyPyVersion,
		PythonVersion: r.PythonVersion, Date: r.Date, Stable: r.Stable,
	}
	for _, rt := range r.Targets {
		t, err := m.Target(rt.Name)
		if err != nil {
			return out, err
		}
		for _, f := range m.Formats(r, t) {
			out.Files = append(out.Files, ReleaseFile{
				Target: t.Name, Filename: r.ArchiveName(t, f), Format: f,
				Arch: t.VersionsJSON.Arch, Platform: t.VersionsJSON.Platform,
			})
		}
	}
	return out, nil
}

// ReadRelease reads one release metadata file.
func ReadRelease(path string) (Release, error) {
	var r Release
	data, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("%s: %s", path, index.JSONReason(err))
	}
	if r.Schema != ReleaseSchema {
		return r, fmt.Errorf("%s: schema %d, this pypyctl reads %d", path, r.Schema, ReleaseSchema)
	}
	return r, nil
}

// ReadReleases reads every <name>.release.json in dir (and a plain
// release.json), sorted by name.
func ReadReleases(dir string) ([]Release, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || !(n == "release.json" || strings.HasSuffix(n, ReleaseSuffix)) {
			continue
		}
		r, err := ReadRelease(filepath.Join(dir, n))
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// WriteRelease records r in dir/<name>.release.json, merging with what is
// there: builds of other targets of the same release add their files. The
// release's own fields must agree with the existing file.
func WriteRelease(dir string, r Release) error {
	r.Schema = ReleaseSchema
	if err := r.Validate(); err != nil {
		return err
	}
	path := filepath.Join(dir, r.Name+ReleaseSuffix)
	if old, err := ReadRelease(path); err == nil {
		if old.PyPyVersion != r.PyPyVersion || old.PythonVersion != r.PythonVersion || old.Date != r.Date || old.Stable != r.Stable {
			return fmt.Errorf("%s describes %s/%s (date %q, stable %v); the new build says %s/%s (date %q, stable %v)",
				path, old.PyPyVersion, old.PythonVersion, old.Date, old.Stable, r.PyPyVersion, r.PythonVersion, r.Date, r.Stable)
		}
		byName := map[string]ReleaseFile{}
		for _, f := range old.Files {
			byName[f.Filename] = f
		}
		for _, f := range r.Files {
			byName[f.Filename] = f
		}
		r.Files = make([]ReleaseFile, 0, len(byName))
		for _, f := range byName {
			r.Files = append(r.Files, f)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	r.Files = append([]ReleaseFile(nil), r.Files...)
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Filename < r.Files[j].Filename })
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(path, append(data, '\n'), 0o644)
}
