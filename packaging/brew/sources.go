package brew

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/sums"
	"github.com/pypyctl/pypyctl/platforms"
	pubindex "github.com/pypyctl/pypyctl/publish/index"
)

// MissingError lists the targets a checksum source had no archive for.
type MissingError struct {
	Release string
	Targets []string
	Where   string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s has no archive of %s for %s (build them, or pass --allow-missing to leave those targets out of the formula)", e.Where, e.Release, strings.Join(e.Targets, ", "))
}

// FromSums finds each Homebrew target's archive in dist/SHA256SUMS (the
// first of the release's formats for that target that is listed) and
// names it baseURL/<file>. An archive present in dist is hashed and must
// match its line, so a stale SHA256SUMS is caught here rather than by
// brew. With allowMissing, targets without an archive are left out;
// otherwise they are a *MissingError.
func FromSums(m *platforms.Matrix, r *platforms.Release, dist, baseURL string, allowMissing bool) ([]Archive, error) {
	if baseURL == "" {
		return nil, errors.New("a base URL is needed to turn file names into download URLs")
	}
	sumsPath := filepath.Join(dist, sums.Name)
	b, err := os.ReadFile(sumsPath)
	if err != nil {
		return nil, fmt.Errorf("checksums: %w", err)
	}
	listed, err := sums.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", sumsPath, err)
	}
	targets, err := Targets(m, r)
	if err != nil {
		return nil, err
	}
	var out []Archive
	var missing []string
	for _, t := range targets {
		found := false
		for _, f := range m.Formats(r, t) {
			name := r.ArchiveName(t, f)
			sum, ok := listed[name]
			if !ok || f == "zip" {
				continue
			}
			if err := fsutil.VerifySHA256(filepath.Join(dist, name), sum); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s does not match %s: %w", name, sumsPath, err)
			}
			out = append(out, Archive{Target: t.Name, OS: t.OS, Arch: t.Arch, Filename: name, URL: strings.TrimRight(baseURL, "/") + "/" + name, SHA256: sum})
			found = true
			break
		}
		if !found {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) > 0 && !allowMissing {
		return nil, &MissingError{Release: r.Name, Targets: missing, Where: sumsPath}
	}
	return out, nil
}

// FromIndex reads a versions.json (a file or directory, a file:// or an
// http(s) URL; see index.Load) in the schema pypy.org uses, with the
// sha256 pypyctl's published index adds to each file, and returns each
// Homebrew target's archive of the release, its URL resolved against the
// index (publish writes them relative to versions.json).
func FromIndex(ctx context.Context, m *platforms.Matrix, r *platforms.Release, index string, allowMissing bool) ([]Archive, error) {
	src, err := pubindex.Load(ctx, nil, index)
	if err != nil {
		return nil, err
	}
	entry, ok := src.Index.Find(r.PyPyVersion, r.PythonVersion)
	if !ok {
		return nil, fmt.Errorf("index %s has no entry for PyPy %s / Python %s", index, r.PyPyVersion, r.PythonVersion)
	}
	targets, err := Targets(m, r)
	if err != nil {
		return nil, err
	}
	var out []Archive
	var missing []string
	for _, t := range targets {
		found := false
		for _, f := range entry.Files {
			if f.Arch != t.VersionsJSON.Arch || f.Platform != t.VersionsJSON.Platform || !strings.HasPrefix(f.Filename, r.ArchiveBase(t)+".") {
				continue
			}
			if f.SHA256 == "" {
				return nil, fmt.Errorf("index %s lists %s without a sha256 (pypy.org's index carries none; use pypyctl's published index or --from DIST)", index, f.Filename)
			}
			u, err := src.FileURL(f)
			if err != nil {
				return nil, fmt.Errorf("index %s: %w", index, err)
			}
			out = append(out, Archive{Target: t.Name, OS: t.OS, Arch: t.Arch, Filename: f.Filename, URL: u.String(), SHA256: f.SHA256})
			found = true
			break
		}
		if !found {
			missing = append(missing, t.Name)
		}
	}
	if len(missing) > 0 && !allowMissing {
		return nil, &MissingError{Release: r.Name, Targets: missing, Where: "index " + index}
	}
	return out, nil
}
