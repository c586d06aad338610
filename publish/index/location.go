package index

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// LocationURL turns where an index is (install --index, bazel --index)
// into a URL: http(s):// and file:// URLs as they are, anything else as a
// local path. A directory, or a URL ending in "/", means the versions.json
// inside it.
func LocationURL(loc string) (*url.URL, error) {
	if loc == "" {
		return nil, fmt.Errorf("no index given")
	}
	if strings.Contains(loc, "://") {
		u, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("index %q: %w", loc, err)
		}
		switch u.Scheme {
		case "http", "https":
		case "file":
			if u.Host != "" && u.Host != "localhost" {
				return nil, fmt.Errorf("index %q: file URLs name no host", loc)
			}
			if st, err := os.Stat(filepath.FromSlash(u.Path)); err == nil && st.IsDir() {
				u = u.JoinPath("versions.json")
			}
		default:
			return nil, fmt.Errorf("index %q: scheme %s is not http, https or file", loc, u.Scheme)
		}
		if u.Path == "" || strings.HasSuffix(u.Path, "/") {
			u = u.JoinPath("versions.json")
		}
		return u, nil
	}
	p, err := filepath.Abs(loc)
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", loc, err)
	}
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		p = filepath.Join(p, "versions.json")
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(p)}, nil
}
