package deb

import (
	"cmp"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"pault.ag/go/debian/version"

	"github.com/pypyctl/pypyctl/publish/index"
)

var upstreamVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// Version is the Debian version of a PyPy version and a package revision:
// 7.3.11 → 7.3.11-1. Pre-releases get a tilde so they sort before the
// final release (7.3.12rc1 → 7.3.12~rc1-1 < 7.3.12-1), as Debian does for
// upstream release candidates.
func Version(pypyVersion string, revision int) (string, error) {
	if revision < 1 {
		return "", fmt.Errorf("package revision %d: must be 1 or more", revision)
	}
	up := pypyVersion
	if rel, tag, num, ok := index.SplitPrerelease(pypyVersion); ok {
		up = rel + "~" + tag + num
	}
	if !upstreamVersion.MatchString(up) {
		return "", fmt.Errorf("PyPy version %q cannot be a Debian version (it must start with a digit; give the package version explicitly, e.g. 7.3.21~dev123 for a nightly)", pypyVersion)
	}
	return up + "-" + strconv.Itoa(revision), nil
}

// ValidVersion checks a full Debian version string ([epoch:]upstream[-revision])
// with pault.ag/go/debian's parser, which follows dpkg's.
func ValidVersion(v string) error {
	parsed, err := version.Parse(v)
	// Two checks the library leaves out: it accepts an empty upstream part
	// ("-1", "1:-1"), which dpkg refuses, and it trims surrounding space
	// as dpkg's parser does, but this version is written into control
	// fields and file names as given.
	switch {
	case err == nil && parsed.Version == "":
		err = errors.New("empty upstream version")
	case err == nil && strings.TrimSpace(v) != v:
		err = errors.New("white space around it")
	}
	if err != nil {
		return fmt.Errorf("version %q: %w (want [epoch:]upstream[-revision]; the upstream part must start with a digit)", v, err)
	}
	return nil
}

// CompareVersions orders two Debian versions as dpkg does (pault.ag/go/
// debian's version.Compare): epoch, then upstream version, then revision.
// It returns -1, 0 or 1. A version the parser refuses is compared as an
// upstream version alone, so the order stays total.
func CompareVersions(a, b string) int {
	return cmp.Compare(version.Compare(parseLoose(a), parseLoose(b)), 0)
}

func parseLoose(s string) version.Version {
	if v, err := version.Parse(s); err == nil {
		return v
	}
	return version.Version{Version: s}
}

// AlternativePriority is the update-alternatives priority of a release:
// newer Python first, then newer PyPy, final releases above their
// pre-releases: 3.11 / 7.3.20 → 110703209; 3.9 / 7.3.12rc1 → 90703120.
// It stays below 2^31 (update-alternatives' limit) for Python minors < 100.
func AlternativePriority(pythonVersion, pypyVersion string) (int, error) {
	py := strings.SplitN(pythonVersion, ".", 3)
	if len(py) < 2 {
		return 0, fmt.Errorf("Python version %q: want X.Y", pythonVersion)
	}
	pyMinor, err := strconv.Atoi(py[1])
	if err != nil || pyMinor > 99 {
		return 0, fmt.Errorf("Python version %q: minor version is not a number below 100", pythonVersion)
	}
	final := 9
	nums := pypyVersion
	if rel, _, _, ok := index.SplitPrerelease(pypyVersion); ok {
		nums, final = rel, 0
	}
	var parts [3]int
	for i, s := range strings.SplitN(nums, ".", 3) {
		n, err := strconv.Atoi(s)
		if err != nil || n > 99 {
			return 0, fmt.Errorf("PyPy version %q: %q is not a number below 100", pypyVersion, s)
		}
		parts[i] = n
	}
	return pyMinor*10_000_000 + parts[0]*100_000 + parts[1]*1000 + parts[2]*10 + final, nil
}
