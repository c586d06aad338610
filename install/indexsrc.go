package install

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/publish/index"
)

// maxIndexSize bounds what is read as versions.json or SHA256SUMS.
const maxIndexSize = index.MaxSize

// IndexUnavailableError says the index could not be fetched (network
// trouble, server errors) — as opposed to missing or malformed.
type IndexUnavailableError struct {
	URL string
	Err error
}

func (e *IndexUnavailableError) Error() string {
	return fmt.Sprintf("index %s is unavailable: %v", e.URL, e.Err)
}
func (e *IndexUnavailableError) Unwrap() error { return e.Err }

// loadedIndex is an index and where it came from; relative download URLs
// resolve against it.
type loadedIndex struct {
	index.Source // URL is nil for the built-in catalogue
	src          Source
}

// describe is the source for receipts and messages: its URL when it has one.
func (li *loadedIndex) describe() string {
	switch {
	case li.URL == nil:
		return li.src.String()
	case li.src.Kind == SourceUpstream:
		return "upstream catalogue " + li.URL.String()
	}
	return li.URL.String()
}

func (f *fetcher) loadIndex(ctx context.Context, loc string) (*loadedIndex, error) {
	u, err := index.LocationURL(loc)
	if err != nil {
		return nil, err
	}
	data, err := f.readSmall(ctx, u, maxIndexSize)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nil, fmt.Errorf("read index: %w", err)
	}
	if err != nil {
		return nil, &IndexUnavailableError{URL: u.String(), Err: err}
	}
	src, err := index.Read(u, data)
	if err != nil {
		// SourceError names the URL; the parse error says what is wrong.
		return nil, err
	}
	if err := validateIndex(src.Index, u.Scheme == "file"); err != nil {
		return nil, fmt.Errorf("index %s: %w", u, err)
	}
	return &loadedIndex{Source: *src}, nil
}

// fileURL resolves a file's download_url against the index URL.
func (li *loadedIndex) fileURL(f index.File) (*url.URL, error) {
	if li.src.Mirror != "" {
		// A mirror keeps upstream's flat layout: one directory of archives.
		m, err := url.Parse(li.src.Mirror + "/" + url.PathEscape(f.Filename))
		if err != nil {
			return nil, fmt.Errorf("mirror %q: %w", li.src.Mirror, err)
		}
		return m, nil
	}
	u, err := li.Source.FileURL(f)
	if err != nil {
		return nil, err
	}
	// A remote index must not point installs at local files.
	if u.Scheme == "file" && (li.URL == nil || li.URL.Scheme != "file") {
		return nil, fmt.Errorf("%s: index %s points at a local file %s", f.Filename, li.URL, u)
	}
	if (u.Scheme == "http" || u.Scheme == "https") && u.Host == "" {
		return nil, fmt.Errorf("%s: download_url %s has no host", f.Filename, Quote(u.String()))
	}
	if u.Scheme == "file" && u.Host != "" && u.Host != "localhost" {
		return nil, fmt.Errorf("%s: download_url %s names another host", f.Filename, Quote(u.String()))
	}
	return u, nil
}

// Candidate is an index entry and the file of it that suits the host.
type Candidate struct {
	Version index.Version
	File    index.File
	Source  Source
}

// Name is the directory the candidate installs as: the archive name
// without its format (upstream's top directory). Nightlies are named
// after their top directory once extracted.
func (c Candidate) Name() string {
	base, _, _ := index.SplitFormat(c.File.Filename)
	return base
}

// formatRank orders formats by how fast they extract.
func formatRank(name string) int {
	_, f, _ := index.SplitFormat(name)
	switch f {
	case "tar.zst":
		return 0
	case "tar.gz":
		return 1
	case "tar.xz":
		return 2
	case "tar.bz2":
		return 3
	case "zip":
		return 4
	}
	return 5
}

func fileRank(f index.File) int {
	r := formatRank(f.Filename)
	if f.SHA256 == "" {
		r += 10
	}
	return r
}

// Resolve picks the best entry of ix for the request on host: the highest
// Python version, then the highest PyPy version, among matching entries
// that have an archive for host. Pre-releases and nightlies match only
// when the request names them.
func Resolve(ix index.Index, r Request, host index.Platform) (Candidate, error) {
	var best *Candidate
	for _, v := range ix {
		if !r.matchVersion(&v) {
			continue
		}
		var file *index.File
		for i := range v.Files {
			f := v.Files[i]
			if r.Filename != "" {
				if f.Filename == r.Filename {
					file = &f
				}
				continue
			}
			if f.PlatformPair() != host {
				continue
			}
			if r.Name != "" {
				if b, _, _ := index.SplitFormat(f.Filename); b != r.Name {
					continue
				}
			}
			if _, _, ok := index.SplitFormat(f.Filename); !ok {
				continue
			}
			// A file with a published digest beats a faster format without one.
			if file == nil || fileRank(f) < fileRank(*file) {
				file = &f
			}
		}
		if file == nil {
			continue
		}
		c := Candidate{Version: v, File: *file}
		if best == nil || better(c.Version, best.Version) {
			best = &c
		}
	}
	if best == nil {
		return Candidate{}, noMatch(ix, r, host)
	}
	return *best, nil
}

func better(a, b index.Version) bool {
	if c := index.CompareVersions(a.PythonVersion, b.PythonVersion); c != 0 {
		return c > 0
	}
	return index.CompareVersions(a.PyPyVersion, b.PyPyVersion) > 0
}

// NoMatchError says nothing in the index satisfies a request; it lists
// what the host could install instead.
type NoMatchError struct {
	Request   string
	Host      index.Platform
	Available []string
	// Where names the sources searched ("the index" when unset).
	Where string
}

func (e *NoMatchError) Error() string {
	where := e.Where
	if where == "" {
		where = "the index"
	}
	msg := fmt.Sprintf("no PyPy matching %s for %s in %s", e.Request, e.Host, where)
	if len(e.Available) == 0 {
		return msg + " (no stable release for this platform)"
	}
	return msg + "; stable ones for this platform: " + strings.Join(e.Available, ", ")
}

func noMatch(ix index.Index, r Request, host index.Platform) error {
	e := &NoMatchError{Request: r.String(), Host: host}
	for _, v := range ix {
		if !v.Stable || v.IsNightly() {
			continue
		}
		for _, f := range v.Files {
			if f.PlatformPair() == host {
				e.Available = addNewest(e.Available, v.PythonVersion, v.PyPyVersion)
				break
			}
		}
	}
	return e
}

// addNewest keeps, per Python X.Y, the newest "python (PyPy pypy)" offer,
// so a miss lists what to ask for instead of every release ever made.
func addNewest(list []string, python, pypy string) []string {
	parts, _ := index.VersionParts(python)
	xy := python
	if len(parts) >= 2 {
		xy = fmt.Sprintf("%d.%d", parts[0], parts[1])
	}
	entry := fmt.Sprintf("%s (PyPy %s)", python, pypy)
	for i, a := range list {
		if !strings.HasPrefix(a, xy+".") && !strings.HasPrefix(a, xy+" ") {
			continue
		}
		var op, opp string
		fmt.Sscanf(a, "%s (PyPy %s", &op, &opp)
		opp = strings.TrimSuffix(opp, ")")
		if index.CompareVersions(pypy, opp) > 0 || (pypy == opp && index.CompareVersions(python, op) > 0) {
			list[i] = entry
		}
		return list
	}
	out := append(list, entry)
	sort.SliceStable(out, func(i, j int) bool {
		return index.CompareVersions(strings.Fields(out[i])[0], strings.Fields(out[j])[0]) > 0
	})
	return out
}
