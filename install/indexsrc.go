package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/pypyctl/pypyctl/publish/index"
)

// maxIndexSize bounds what is read as versions.json or SHA256SUMS.
const maxIndexSize = 64 << 20

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
	url *url.URL
	ix  index.Index
	raw []byte // the bytes read, which versions.json.sig signs
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
	ix, err := index.Parse(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", u, err)
	}
	if err := validateIndex(ix, u.Scheme == "file"); err != nil {
		return nil, fmt.Errorf("index %s: %w", u, err)
	}
	return &loadedIndex{url: u, ix: ix, raw: data}, nil
}

// fileURL resolves a file's download_url against the index URL.
func (li *loadedIndex) fileURL(f index.File) (*url.URL, error) {
	ref, err := url.Parse(f.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("%s: bad download_url %q: %w", f.Filename, f.DownloadURL, err)
	}
	u := li.url.ResolveReference(ref)
	switch u.Scheme {
	case "http", "https", "file":
	default:
		return nil, fmt.Errorf("%s: download_url scheme %q is not http, https or file", f.Filename, u.Scheme)
	}
	// A remote index must not point installs at local files.
	if u.Scheme == "file" && li.url.Scheme != "file" {
		return nil, fmt.Errorf("%s: index %s points at a local file %s", f.Filename, li.url, u)
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
			if file == nil || formatRank(f.Filename) < formatRank(file.Filename) {
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
}

func (e *NoMatchError) Error() string {
	msg := fmt.Sprintf("no PyPy matching %s for %s in the index", e.Request, e.Host)
	if len(e.Available) == 0 {
		return msg + " (it has no stable release for this platform)"
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
				e.Available = append(e.Available, fmt.Sprintf("%s (PyPy %s)", v.PythonVersion, v.PyPyVersion))
				break
			}
		}
	}
	return e
}
