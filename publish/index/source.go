package index

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
)

// MaxSize bounds what is read as versions.json.
const MaxSize = 64 << 20

// Source is a versions.json and where it was read from: the one reader of
// published indexes (install, packaging/bazel, packaging/brew). Relative
// download_urls resolve against URL.
type Source struct {
	URL   *url.URL // nil for an index with no location (install's compiled-in catalogue)
	Index Index
	Raw   []byte // the bytes read, which versions.json.sig signs
}

// Read parses the versions.json bytes read from u. A parse error is
// returned as Parse gives it: callers name the URL in their own terms.
func Read(u *url.URL, data []byte) (*Source, error) {
	ix, err := Parse(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return &Source{URL: u, Index: ix, Raw: data}, nil
}

// Load reads the versions.json at loc (see LocationURL: a path, a
// directory, a file:// or http(s) URL) with client (nil:
// http.DefaultClient), at most MaxSize bytes. install reads through its
// own fetcher (retries, --offline) and calls Read.
func Load(ctx context.Context, client *http.Client, loc string) (*Source, error) {
	u, err := LocationURL(loc)
	if err != nil {
		return nil, err
	}
	data, err := get(ctx, client, u)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", u, err)
	}
	src, err := Read(u, data)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", u, err)
	}
	return src, nil
}

func get(ctx context.Context, client *http.Client, u *url.URL) ([]byte, error) {
	var r io.ReadCloser
	if u.Scheme == "file" {
		f, err := os.Open(filepath.FromSlash(u.Path))
		if err != nil {
			return nil, err
		}
		r = f
	} else {
		if client == nil {
			client = http.DefaultClient
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("HTTP %s", resp.Status)
		}
		r = resp.Body
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("larger than %d bytes", MaxSize)
	}
	return data, nil
}

// FileURL is f's download_url resolved against the index's URL (publish
// writes them relative to versions.json; a formula or a Bazel rule needs
// the full URL): an http, https or file URL. Callers add their own rules
// (install: a remote index may not name local files).
func (s *Source) FileURL(f File) (*url.URL, error) {
	if f.DownloadURL == "" {
		return nil, fmt.Errorf("%s: no download_url", f.Filename)
	}
	ref, err := url.Parse(f.DownloadURL)
	if err != nil {
		return nil, fmt.Errorf("%s: bad download_url %q: %w", f.Filename, f.DownloadURL, err)
	}
	u := ref
	if s.URL != nil {
		u = s.URL.ResolveReference(ref)
	} else if !ref.IsAbs() {
		return nil, fmt.Errorf("%s: download_url %q is relative in an index with no URL", f.Filename, f.DownloadURL)
	}
	switch u.Scheme {
	case "http", "https", "file":
	default:
		return nil, fmt.Errorf("%s: download_url %q is not an http, https or file URL", f.Filename, f.DownloadURL)
	}
	return u, nil
}
