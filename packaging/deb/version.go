package deb

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// preRelease matches the PEP 440 pre-release and dev suffixes PyPy
// versions use (7.3.12rc1, 7.3.12b2, 7.3.21.dev3).
var preRelease = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)*)[.-]?(a|alpha|b|beta|rc|c|dev)\.?([0-9]*)$`)

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
	if m := preRelease.FindStringSubmatch(pypyVersion); m != nil {
		up = m[1] + "~" + m[2] + m[3]
	}
	if !upstreamVersion.MatchString(up) {
		return "", fmt.Errorf("PyPy version %q cannot be a Debian version (it must start with a digit; give the package version explicitly, e.g. 7.3.21~dev123 for a nightly)", pypyVersion)
	}
	return up + "-" + strconv.Itoa(revision), nil
}

// ValidVersion checks a full Debian version string ([epoch:]upstream[-revision]).
func ValidVersion(v string) error {
	rest := v
	if e, r, ok := strings.Cut(v, ":"); ok {
		if _, err := strconv.ParseUint(e, 10, 32); err != nil {
			return fmt.Errorf("version %q: epoch %q is not a number", v, e)
		}
		rest = r
	}
	up, rev := rest, ""
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		up, rev = rest[:i], rest[i+1:]
		if rev == "" || strings.Trim(rev, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~") != "" {
			return fmt.Errorf("version %q: revision %q has characters Debian does not allow", v, rev)
		}
	}
	if up == "" || up[0] < '0' || up[0] > '9' {
		return fmt.Errorf("version %q: upstream part must start with a digit", v)
	}
	allowed := "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.+~"
	if rev != "" {
		allowed += "-"
	}
	if strings.Trim(up, allowed) != "" {
		return fmt.Errorf("version %q: upstream part has characters Debian does not allow", v)
	}
	return nil
}

// CompareVersions orders two Debian versions as dpkg does: epoch, then
// upstream version, then revision, each with dpkg's string ordering
// (digits numerically, "~" before anything, letters before other
// characters). It returns -1, 0 or 1.
func CompareVersions(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if ea != eb {
		if ea < eb {
			return -1
		}
		return 1
	}
	if c := verrevcmp(ua, ub); c != 0 {
		return c
	}
	return verrevcmp(ra, rb)
}

func splitVersion(v string) (epoch uint64, upstream, revision string) {
	if e, r, ok := strings.Cut(v, ":"); ok {
		epoch, _ = strconv.ParseUint(e, 10, 32)
		v = r
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

// order is a character's weight in the non-digit parts of a version.
func order(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return 0
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		diff := 0
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			ac, bc := 0, 0
			if i < len(a) {
				ac = order(a[i])
			}
			if j < len(b) {
				bc = order(b[j])
			}
			if ac != bc {
				return sign(ac - bc)
			}
			i++
			j++
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		for i < len(a) && isDigit(a[i]) && j < len(b) && isDigit(b[j]) {
			if diff == 0 {
				diff = int(a[i]) - int(b[j])
			}
			i++
			j++
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if diff != 0 {
			return sign(diff)
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
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
	if m := preRelease.FindStringSubmatch(pypyVersion); m != nil {
		nums, final = m[1], 0
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
