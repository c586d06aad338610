package bazel

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/publish/index"
)

// maxIndexSize bounds what is read as versions.json.
const maxIndexSize = 64 << 20

// Source is a published index and where it was read from; relative
// download URLs resolve against URL.
type Source struct {
	URL   *url.URL
	Index index.Index
}

// Load reads the versions.json at loc (a path, file:// or http(s) URL).
func Load(ctx context.Context, client *http.Client, loc string) (*Source, error) {
	u, err := index.LocationURL(loc)
	if err != nil {
		return nil, err
	}
	rc, err := open(ctx, client, u)
	if err != nil {
		return nil, fmt.Errorf("read index %s: %w", u, err)
	}
	defer rc.Close()
	ix, err := index.Parse(io.LimitReader(rc, maxIndexSize))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", u, err)
	}
	return &Source{URL: u, Index: ix}, nil
}

func open(ctx context.Context, client *http.Client, u *url.URL) (io.ReadCloser, error) {
	if u.Scheme == "file" {
		return os.Open(filepath.FromSlash(u.Path))
	}
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
	return resp.Body, nil
}

// resolve turns a file's download_url into the absolute URL Bazel fetches.
func (s *Source) resolve(f index.File) (string, error) {
	ref, err := url.Parse(f.DownloadURL)
	if err != nil || f.DownloadURL == "" {
		return "", fmt.Errorf("%s: bad download_url %q", f.Filename, f.DownloadURL)
	}
	u := ref
	if s.URL != nil {
		u = s.URL.ResolveReference(ref)
	}
	switch u.Scheme {
	case "http", "https", "file":
	default:
		return "", fmt.Errorf("%s: download_url %q is not an http, https or file URL", f.Filename, f.DownloadURL)
	}
	return u.String(), nil
}
