package install

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/pypyctl/pypyctl/publish/index"
)

// An index is data from the network: before anything is resolved, joined
// to a path or printed, every entry is checked here. Names become paths
// under the cache and versions/, so only upstream's archive names pass.

// InvalidIndexError says which entry of an index is unfit and why.
type InvalidIndexError struct {
	Entry  string // "entry 3", "entry 3 file 1"
	Reason string
}

func (e *InvalidIndexError) Error() string {
	return fmt.Sprintf("invalid index: %s: %s", e.Entry, e.Reason)
}

// Quote prints an untrusted string (from an index, a server, an archive)
// so that control characters and terminal escapes show as escapes.
func Quote(s string) string { return strconv.Quote(s) }

// hasControl reports control or invisible formatting characters, which
// have no place in names, versions or URLs.
func hasControl(s string) bool {
	for _, r := range s {
		if r == utf8RuneError || unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return true
		}
	}
	return false
}

const utf8RuneError = '\uFFFD'

// NormalizeSHA256 returns s as 64 lowercase hex digits, or an error.
// Upper case is accepted: it is the same digest.
func NormalizeSHA256(s string) (string, error) {
	l := strings.ToLower(s)
	if len(l) != 64 {
		return "", fmt.Errorf("sha256 %s is not 64 hex digits", Quote(s))
	}
	for _, c := range l {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("sha256 %s is not 64 hex digits", Quote(s))
		}
	}
	return l, nil
}

// ValidArchiveName reports whether name is a base name of an upstream
// archive (pypyX.Y-vV-<platform>.<format> or a nightly's), safe to join
// to a directory.
func ValidArchiveName(name string) error {
	if name == "" || hasControl(name) || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("file name %s is not a plain archive name", Quote(name))
	}
	an, ok := index.ParseArchiveName(name)
	if !ok || an.Format == "" {
		return fmt.Errorf("file name %s is not a PyPy archive name (pypyX.Y-vV-PLATFORM.FORMAT)", Quote(name))
	}
	return nil
}

// validateIndex checks every entry of ix, normalises digests in place and
// says whether the index was local (only then may download_url be a
// file:// URL, and only on this host).
func validateIndex(ix index.Index, local bool) error {
	seen := map[string]bool{}
	for i := range ix {
		v := &ix[i]
		where := fmt.Sprintf("entry %d", i)
		for _, s := range []string{v.PyPyVersion, v.PythonVersion, v.Date} {
			if hasControl(s) {
				return &InvalidIndexError{where, "control characters in " + Quote(s)}
			}
		}
		if !v.IsNightly() && !index.IsVersion(v.PyPyVersion) {
			return &InvalidIndexError{where, "pypy_version " + Quote(v.PyPyVersion) + " is not a version"}
		}
		if !index.IsVersion(v.PythonVersion) {
			return &InvalidIndexError{where, "python_version " + Quote(v.PythonVersion) + " is not a version"}
		}
		id := v.PyPyVersion + "/" + v.PythonVersion
		if seen[id] {
			return &InvalidIndexError{where, "duplicate entry " + Quote(id)}
		}
		seen[id] = true
		names := map[string]bool{}
		for j := range v.Files {
			f := &v.Files[j]
			fw := fmt.Sprintf("%s (%s) file %d", where, id, j)
			if err := ValidArchiveName(f.Filename); err != nil {
				return &InvalidIndexError{fw, err.Error()}
			}
			// The name is what gets installed: it must be this entry's
			// release, not another one's bytes under a new version.
			if an, _ := index.ParseArchiveName(f.Filename); !v.IsNightly() &&
				(an.PyPy != v.PyPyVersion || !strings.HasPrefix(v.PythonVersion+".", an.Python+".")) {
				return &InvalidIndexError{fw, fmt.Sprintf("file %s is not PyPy %s for Python %s", Quote(f.Filename), v.PyPyVersion, v.PythonVersion)}
			}
			if names[f.Filename] {
				return &InvalidIndexError{fw, "duplicate file " + Quote(f.Filename)}
			}
			names[f.Filename] = true
			for _, s := range []string{f.Arch, f.Platform, f.DownloadURL} {
				if hasControl(s) {
					return &InvalidIndexError{fw, "control characters in " + Quote(s)}
				}
			}
			if f.SHA256 != "" {
				sum, err := NormalizeSHA256(f.SHA256)
				if err != nil {
					return &InvalidIndexError{fw, err.Error()}
				}
				f.SHA256 = sum
			}
			if f.Size < 0 {
				return &InvalidIndexError{fw, "negative size"}
			}
			if err := checkDownloadURL(f.DownloadURL, local); err != nil {
				return &InvalidIndexError{fw, err.Error()}
			}
		}
	}
	return nil
}

// checkDownloadURL accepts http(s) URLs, relative references and, for a
// local index, file:// URLs without a host.
func checkDownloadURL(s string, local bool) error {
	if s == "" {
		return fmt.Errorf("no download_url")
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("download_url %s: %w", Quote(s), err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return fmt.Errorf("download_url %s has no host", Quote(s))
		}
	case "":
		// Relative: resolved against the index, checked again then.
	case "file":
		if !local {
			return fmt.Errorf("download_url %s: a remote index may not name local files", Quote(s))
		}
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("download_url %s names another host", Quote(s))
		}
	default:
		return fmt.Errorf("download_url %s: scheme is not http, https or file", Quote(s))
	}
	return nil
}
