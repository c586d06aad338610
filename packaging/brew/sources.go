package brew

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
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

// indexEntry is the part of a versions.json entry the formula needs.
type indexEntry struct {
	PyPyVersion   string `json:"pypy_version"`
	PythonVersion string `json:"python_version"`
	Files         []struct {
		Filename    string `json:"filename"`
		Arch        string `json:"arch"`
		Platform    string `json:"platform"`
		DownloadURL string `json:"download_url"`
		SHA256      string `json:"sha256"`
	} `json:"files"`
}

// FromIndex reads a versions.json (a file, or an http(s) URL) in the
// schema pypy.org uses, with the sha256 pypyctl's published index adds to
// each file, and returns each Homebrew target's archive of the release.
func FromIndex(ctx context.Context, m *platforms.Matrix, r *platforms.Release, index string, allowMissing bool) ([]Archive, error) {
	b, err := readIndex(ctx, index)
	if err != nil {
		return nil, err
	}
	var entries []indexEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("index %s: %w", index, err)
	}
	var entry *indexEntry
	for i := range entries {
		if entries[i].PyPyVersion == r.PyPyVersion && entries[i].PythonVersion == r.PythonVersion {
			entry = &entries[i]
			break
		}
	}
	if entry == nil {
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
			u, err := absoluteURL(index, f.DownloadURL)
			if err != nil {
				return nil, fmt.Errorf("index %s: %s: %w", index, f.Filename, err)
			}
			out = append(out, Archive{Target: t.Name, OS: t.OS, Arch: t.Arch, Filename: f.Filename, URL: u, SHA256: f.SHA256})
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

func readIndex(ctx context.Context, index string) ([]byte, error) {
	if !strings.HasPrefix(index, "http://") && !strings.HasPrefix(index, "https://") {
		b, err := os.ReadFile(index)
		if err != nil {
			return nil, fmt.Errorf("read index: %w", err)
		}
		return b, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, index, nil)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", index, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch index: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch index %s: %s", index, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("fetch index %s: %w", index, err)
	}
	return b, nil
}

// absoluteURL resolves a download_url against the index it came from:
// publish writes them relative to versions.json, and a formula needs the
// full URL.
func absoluteURL(indexLoc, downloadURL string) (string, error) {
	ref, err := url.Parse(downloadURL)
	if err != nil {
		return "", fmt.Errorf("bad download_url %q: %w", downloadURL, err)
	}
	if ref.IsAbs() {
		return downloadURL, nil
	}
	base, err := pubindex.LocationURL(indexLoc)
	if err != nil {
		return "", err
	}
	return base.ResolveReference(ref).String(), nil
}
