package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/artifact"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/publish/index"
)

// File names publish writes at the top of DEST.
const (
	VersionsJSON     = "versions.json"
	DownloadMetadata = "download-metadata.json"
	lockName         = ".pypyctl-publish.lock"
)

// Options configure one publish.
type Options struct {
	Dist string // build output: archives, SHA256SUMS, *.release.json, signatures, SBOMs
	Dest string // published tree: <release>/…, versions.json, download-metadata.json
	// BaseURL is where Dest is served. Empty: download_urls are relative
	// to versions.json ("<release>/<file>"), so the published tree works
	// wherever it is served or copied.
	BaseURL string
	// Nightly publishes the releases as nightlies: pypy_version "nightly",
	// python_version X.Y, not stable, no date.
	Nightly bool
	// Release limits publishing to one release. When DIST has no metadata
	// for it, it is read from Matrix.
	Release string
	Matrix  *platforms.Matrix
	Logger  *slog.Logger // nil: log nothing
}

// Report says what a publish did.
type Report struct {
	Dest             string          `json:"dest"`
	BaseURL          string          `json:"base_url"`
	Releases         []ReleaseReport `json:"releases"`
	VersionsJSON     string          `json:"versions_json"`
	DownloadMetadata string          `json:"download_metadata"`
	SHA256SUMS       string          `json:"sha256sums"`
	Warnings         []string        `json:"warnings,omitempty"`
}

// ReleaseReport is one published release.
type ReleaseReport struct {
	Name          string       `json:"name"`
	Dir           string       `json:"dir"`
	PyPyVersion   string       `json:"pypy_version"`
	PythonVersion string       `json:"python_version"`
	Files         []FileReport `json:"files"`
}

// FileReport is one file in a release directory.
type FileReport struct {
	Name   string        `json:"name"`
	Kind   artifact.Kind `json:"kind"` // archive, wheel, source, debug, signature, sbom, provenance, other
	Size   int64         `json:"size"`
	SHA256 string        `json:"sha256"`
	URL    string        `json:"url,omitempty"`
	// Copied is false when DEST already held the same bytes.
	Copied bool `json:"copied"`
}

// OverwriteError refuses to replace a published file with other bytes.
type OverwriteError struct {
	Path, Existing, New string
}

func (e *OverwriteError) Error() string {
	return fmt.Sprintf("refusing to overwrite %s: it is already published with sha256 %s, the new file has %s", e.Path, e.Existing, e.New)
}

// CheckBaseURL accepts what install accepts as a download_url prefix: an
// http(s) URL with a host, or a file:// URL on this host (no host or
// localhost), without query or fragment (the file path is appended). The
// empty string is fine: download_urls are then relative.
func CheckBaseURL(base string) error {
	if base == "" {
		return nil
	}
	u, err := url.Parse(base)
	ok := err == nil && u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery && !strings.ContainsAny(base, "?#")
	if ok {
		switch u.Scheme {
		case "http", "https":
			ok = u.Host != ""
		case "file":
			ok = u.Host == "" || u.Host == "localhost"
		default:
			ok = false
		}
	}
	for _, r := range base {
		if r < 0x20 || r == 0x7f {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("base URL %q is not an absolute http(s):// URL (or file:// on this host) without query or fragment", base)
	}
	return nil
}

// Publish copies the releases in o.Dist into o.Dest/<release>/ and merges
// them into o.Dest's versions.json, download-metadata.json and SHA256SUMS.
// Files are written atomically, archives before the indexes that name them,
// so a reader never sees an index entry whose file is missing. A lock in
// Dest serialises concurrent publishers.
func Publish(ctx context.Context, o Options) (*Report, error) {
	log := logging.OrDiscard(o.Logger)
	dist, err := filepath.Abs(o.Dist)
	if err != nil {
		return nil, err
	}
	dest, err := filepath.Abs(o.Dest)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dist); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("build output %s is not a directory", o.Dist)
	}
	// Checked before DEST is touched.
	if err := CheckBaseURL(o.BaseURL); err != nil {
		return nil, err
	}
	base := strings.TrimRight(o.BaseURL, "/")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dest, err)
	}
	lock, err := fsutil.Acquire(ctx, filepath.Join(dest, lockName), func() { log.Info("waiting for another publish", "dest", dest) })
	if err != nil {
		return nil, err
	}
	defer lock.Release()

	// A destination whose SHA256SUMS files do not parse would fail the
	// final step after versions.json changed: refuse before touching it.
	if _, err := collectTopSums(dest); err != nil {
		return nil, fmt.Errorf("%s: %w", dest, err)
	}
	rels, fromMatrix, err := selectReleases(dist, o)
	if err != nil {
		return nil, err
	}
	distSums, err := sums.ReadFile(filepath.Join(dist, sums.Name))
	if err != nil {
		return nil, err
	}
	distFiles, err := listFiles(dist)
	if err != nil {
		return nil, err
	}
	ix, err := index.ReadFile(filepath.Join(dest, VersionsJSON))
	if err != nil {
		return nil, err
	}
	rep := &Report{Dest: dest, BaseURL: base}
	for i := range rels {
		r := &rels[i]
		if o.Nightly {
			asNightly(r)
		}
		rr, v, warns, err := publishRelease(ctx, r, fromMatrix[i], dist, dest, base, distSums, distFiles, log)
		if err != nil {
			return nil, err
		}
		rep.Warnings = append(rep.Warnings, warns...)
		if ix, err = ix.Merge(v); err != nil {
			return nil, fmt.Errorf("merge %s into %s: %w", r.Name, filepath.Join(dest, VersionsJSON), err)
		}
		rep.Releases = append(rep.Releases, rr)
	}
	if probs := ix.Check(); len(probs) > 0 {
		return nil, fmt.Errorf("merged versions.json would be invalid: %s", strings.Join(probs, "; "))
	}
	rep.VersionsJSON = filepath.Join(dest, VersionsJSON)
	if warn, err := writeIndex(rep.VersionsJSON, ix); err != nil {
		return nil, err
	} else if warn != "" {
		rep.Warnings = append(rep.Warnings, warn)
	}
	rep.DownloadMetadata = filepath.Join(dest, DownloadMetadata)
	cat := index.UVCatalogue(ix)
	if err := fsutil.WriteAtomic(rep.DownloadMetadata, 0o644, func(w io.Writer) error { return index.EncodeUVCatalogue(w, cat) }); err != nil {
		return nil, err
	}
	rep.SHA256SUMS = filepath.Join(dest, sums.Name)
	warn, err := writeTopSums(dest)
	if err != nil {
		return nil, err
	}
	if warn != "" {
		rep.Warnings = append(rep.Warnings, warn)
	}
	for _, w := range rep.Warnings {
		log.Warn(w)
	}
	return rep, nil
}

// selectReleases reads the release metadata in dist, or the matrix's for
// o.Release when dist has none for it. fromMatrix[i] says which.
func selectReleases(dist string, o Options) ([]Release, []bool, error) {
	all, err := ReadReleases(dist)
	if err != nil {
		return nil, nil, err
	}
	if o.Release == "" {
		if len(all) == 0 {
			return nil, nil, fmt.Errorf("%s has no *%s (written by `pypyctl build`); pass --release R to take the release from the matrix", dist, ReleaseSuffix)
		}
		return all, make([]bool, len(all)), nil
	}
	for _, r := range all {
		if r.Name == o.Release {
			return []Release{r}, []bool{false}, nil
		}
	}
	if o.Matrix == nil {
		return nil, nil, fmt.Errorf("%s has no metadata for release %s and no matrix was given", dist, o.Release)
	}
	mr, err := o.Matrix.Release(o.Release)
	if err != nil {
		return nil, nil, err
	}
	r, err := ReleaseFromMatrix(o.Matrix, mr)
	if err != nil {
		return nil, nil, err
	}
	return []Release{r}, []bool{true}, nil
}

func asNightly(r *Release) {
	r.PyPyVersion = index.Nightly
	r.Stable = false
	r.Date = ""
	if p, ok := index.VersionParts(r.PythonVersion); ok && len(p) >= 2 {
		r.PythonVersion = fmt.Sprintf("%d.%d", p[0], p[1])
	}
}

type planned struct {
	name, src string
	kind      artifact.Kind
	archive   *ReleaseFile
	sum       string
	size      int64
}

// reportDebug is what publish's report has always called a debug archive
// (a build's artifacts say artifact.KindDebugArchive); the report keeps it.
const reportDebug artifact.Kind = "debug"

// reportKind is how the report names a planned file's kind.
func reportKind(k artifact.Kind) artifact.Kind {
	if k == artifact.KindDebugArchive {
		return reportDebug
	}
	return k
}

func publishRelease(ctx context.Context, r *Release, fromMatrix bool, dist, dest, base string, distSums sums.Sums, distFiles []string, log *slog.Logger) (ReleaseReport, index.Version, []string, error) {
	rr := ReleaseReport{Name: r.Name, Dir: filepath.Join(dest, r.Name), PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion}
	var v index.Version
	var warns []string
	present := map[string]bool{}
	for _, n := range distFiles {
		present[n] = true
	}
	// Matrix releases list every possible archive; keep the built ones.
	if fromMatrix {
		var have []ReleaseFile
		for _, f := range r.Files {
			if present[f.Filename] {
				have = append(have, f)
			}
		}
		if len(have) == 0 {
			return rr, v, nil, fmt.Errorf("%s holds no archive of release %s (looked for %s)", dist, r.Name, strings.Join(fileNames(r.Files), ", "))
		}
		r.Files = have
	}
	if err := r.Validate(); err != nil {
		return rr, v, nil, err
	}
	var plan []planned
	isArchive := map[string]bool{}
	for i := range r.Files {
		f := &r.Files[i]
		if !present[f.Filename] {
			return rr, v, nil, fmt.Errorf("release %s lists %s, which is not in %s", r.Name, f.Filename, dist)
		}
		if an, ok := index.ParseArchiveName(f.Filename); ok {
			if p, known := index.PlatformOfSuffix(an.Suffix); known && (p.Arch != f.Arch || p.Platform != f.Platform) {
				return rr, v, nil, fmt.Errorf("release %s: %s is named for %s but listed as %s/%s", r.Name, f.Filename, p, f.Arch, f.Platform)
			}
		}
		isArchive[f.Filename] = true
		plan = append(plan, planned{name: f.Filename, src: filepath.Join(dist, f.Filename), kind: artifact.KindArchive, archive: f})
	}
	for _, w := range r.Wheels {
		if !present[w] || !strings.HasSuffix(w, ".whl") || strings.ContainsAny(w, "/\\") {
			return rr, v, nil, fmt.Errorf("release %s lists wheel %s, which is not a .whl in %s", r.Name, w, dist)
		}
		isArchive[w] = true
		plan = append(plan, planned{name: w, src: filepath.Join(dist, w), kind: artifact.KindWheel})
	}
	for _, src := range r.Sources {
		if !present[src] || !strings.HasPrefix(src, r.Name+"-src.") || strings.ContainsAny(src, "/\\") {
			return rr, v, nil, fmt.Errorf("release %s lists source archive %s, which is not a %s-src.* file in %s", r.Name, src, r.Name, dist)
		}
		isArchive[src] = true
		plan = append(plan, planned{name: src, src: filepath.Join(dist, src), kind: artifact.KindSource})
	}
	for _, d := range r.Debug {
		if !present[d] || !strings.HasPrefix(d, r.Name+"-") || !strings.Contains(d, "-debug.") || strings.ContainsAny(d, "/\\") {
			return rr, v, nil, fmt.Errorf("release %s lists debug archive %s, which is not a %s-…-debug.* file in %s", r.Name, d, r.Name, dist)
		}
		isArchive[d] = true
		plan = append(plan, planned{name: d, src: filepath.Join(dist, d), kind: artifact.KindDebugArchive})
	}
	// Sidecars: a listed archive's own (<archive>.sig, .sigstore.json, …)
	// and release-wide files named after the release (SBOMs, provenance).
	// Unlisted archives are left alone: they may belong to another build.
	for _, n := range distFiles {
		if isArchive[n] || n == sums.Name || strings.HasPrefix(n, sums.Name+".") || n == "release.json" || strings.HasSuffix(n, ReleaseSuffix) {
			continue
		}
		own := false
		for _, f := range r.Files {
			own = own || strings.HasPrefix(n, f.Filename+".")
		}
		for _, w := range r.Wheels {
			own = own || strings.HasPrefix(n, w+".")
		}
		for _, src := range r.Sources {
			own = own || strings.HasPrefix(n, src+".")
		}
		for _, d := range r.Debug {
			own = own || strings.HasPrefix(n, d+".")
		}
		if !own && (strings.HasPrefix(n, r.Name+"-") || strings.HasPrefix(n, r.Name+".")) {
			if _, _, isArch := index.SplitFormat(n); isArch {
				log.Info("skipping an archive the release does not list", "file", n, "release", r.Name)
				continue
			}
			own = true
		}
		if own && !publishableSidecar(n) {
			log.Info("skipping a file that is not a signature, SBOM or provenance", "file", n)
			continue
		}
		if own {
			plan = append(plan, planned{name: n, src: filepath.Join(dist, n), kind: artifact.SidecarKind(n)})
		}
	}
	for _, p := range plan {
		if err := checkFileName(r.Name, p.name); err != nil {
			return rr, v, nil, err
		}
	}
	// Hash everything before copying anything, so a corrupt DIST changes
	// nothing in DEST.
	for i := range plan {
		p := &plan[i]
		if err := ctx.Err(); err != nil {
			return rr, v, nil, err
		}
		sum, size, err := fsutil.SHA256File(p.src)
		if err != nil {
			return rr, v, nil, err
		}
		p.sum, p.size = sum, size
		if want, ok := distSums[p.name]; ok && want != sum {
			return rr, v, nil, &fsutil.DigestMismatchError{Path: p.src, Expected: want + " (from " + filepath.Join(dist, sums.Name) + ")", Actual: sum}
		}
		if p.archive != nil && p.archive.SHA256 != "" && p.archive.SHA256 != sum {
			return rr, v, nil, &fsutil.DigestMismatchError{Path: p.src, Expected: p.archive.SHA256 + " (from " + r.Name + ReleaseSuffix + ")", Actual: sum}
		}
	}
	relDir := filepath.Join(dest, r.Name)
	for _, p := range plan {
		copied, err := copyOnce(ctx, p.src, filepath.Join(relDir, p.name), p.sum)
		if err != nil {
			return rr, v, nil, err
		}
		fr := FileReport{Name: p.name, Kind: reportKind(p.kind), Size: p.size, SHA256: p.sum, Copied: copied}
		if p.archive != nil {
			// Relative without a base: resolved against versions.json.
			fr.URL = url.PathEscape(r.Name) + "/" + url.PathEscape(p.name)
			if base != "" {
				fr.URL = base + "/" + fr.URL
			}
		}
		rr.Files = append(rr.Files, fr)
	}
	warn, err := writeReleaseSums(dist, relDir, plan, distSums)
	if err != nil {
		return rr, v, nil, err
	}
	if warn != "" {
		warns = append(warns, warn)
	}
	v = index.Version{PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion, Stable: r.Stable, Date: r.Date}
	for _, fr := range rr.Files {
		if fr.Kind != artifact.KindArchive {
			continue
		}
		for _, f := range r.Files {
			if f.Filename == fr.Name {
				v.Files = append(v.Files, index.File{Filename: f.Filename, Arch: f.Arch, Platform: f.Platform, DownloadURL: fr.URL, SHA256: fr.SHA256, Size: fr.Size})
			}
		}
	}
	return rr, v, warns, nil
}

func fileNames(fs []ReleaseFile) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Filename
	}
	return out
}

// listFiles lists the regular, non-hidden files of dir.
func listFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// copyOnce copies src to dst unless dst already holds the same bytes. It
// refuses to replace different bytes, and hashes while copying so a
// source that changed since it was checked is never renamed into place.
func copyOnce(ctx context.Context, src, dst, sum string) (bool, error) {
	if old, _, err := fsutil.SHA256File(dst); err == nil {
		if old != sum {
			return false, &OverwriteError{Path: dst, Existing: old, New: sum}
		}
		return false, nil
	} else if !os.IsNotExist(err) {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	_, _, err := fsutil.CopyHashed(src, dst, fsutil.CopyOptions{Perm: 0o644, SHA256: sum})
	var dm *fsutil.DigestMismatchError
	if errors.As(err, &dm) {
		err = fmt.Errorf("%w (changed while publishing)", err)
	}
	return err == nil, err
}

// writeReleaseSums merges the release's files into <release>/SHA256SUMS:
// archives always, other files when DIST's SHA256SUMS lists them. When the
// result equals DIST's SHA256SUMS byte for byte, DIST's signatures of it
// (SHA256SUMS.sig, …) still hold and are copied; when a merge changed it,
// signatures left in DEST no longer match and are removed, with a warning
// to re-sign.
func writeReleaseSums(dist, relDir string, plan []planned, distSums sums.Sums) (string, error) {
	path := filepath.Join(relDir, sums.Name)
	rel, err := sums.ReadFile(path)
	if err != nil {
		return "", err
	}
	for _, p := range plan {
		if _, listed := distSums[p.name]; p.kind != artifact.KindArchive && !listed {
			continue
		}
		if old, ok := rel[p.name]; ok && old != p.sum {
			return "", &OverwriteError{Path: path + " entry " + p.name, Existing: old, New: p.sum}
		}
		rel[p.name] = p.sum
	}
	data := rel.Bytes()
	old, err := os.ReadFile(path)
	if err == nil && bytes.Equal(old, data) {
		return "", nil
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", err
	}
	distData, _ := os.ReadFile(filepath.Join(dist, sums.Name))
	if bytes.Equal(distData, data) {
		return "", copySumsSignatures(dist, relDir)
	}
	return dropStaleSignatures(relDir)
}

func sumsSidecars(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), sums.Name+".") {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

func copySumsSignatures(dist, relDir string) error {
	names, err := sumsSidecars(dist)
	if err != nil {
		return err
	}
	for _, n := range names {
		data, err := os.ReadFile(filepath.Join(dist, n))
		if err != nil {
			return err
		}
		if err := fsutil.WriteFileAtomic(filepath.Join(relDir, n), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func dropStaleSignatures(dir string) (string, error) {
	names, err := sumsSidecars(dir)
	if err != nil || len(names) == 0 {
		return "", err
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	return fmt.Sprintf("%s changed, so its old signature (%s) was removed; re-sign it with `pypyctl sign %s`",
		filepath.Join(dir, sums.Name), strings.Join(names, ", "), filepath.Join(dir, sums.Name)), nil
}

// writeTopSums writes DEST/SHA256SUMS with every release directory's
// entries as <release>/<file>, so `sha256sum -c SHA256SUMS` in DEST checks
// everything published.
func writeTopSums(dest string) (string, error) {
	all, err := collectTopSums(dest)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dest, sums.Name)
	data := all.Bytes()
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return "", nil
	}
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", err
	}
	return dropStaleSignatures(dest)
}

// collectTopSums reads every release directory's SHA256SUMS.
func collectTopSums(dest string) (sums.Sums, error) {
	ents, err := os.ReadDir(dest)
	if err != nil {
		return nil, err
	}
	all := sums.Sums{}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			dirs = append(dirs, e.Name())
		}
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		s, err := sums.ReadFile(filepath.Join(dest, d, sums.Name))
		if err != nil {
			return nil, err
		}
		for n, sum := range s {
			all[d+"/"+n] = sum
		}
	}
	return all, nil
}
