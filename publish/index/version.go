package index

import (
	"regexp"
	"strconv"
	"strings"
)

// The versions here are PyPy's and CPython's release numbers, a narrow
// part of PEP 440: N(.N)* with an optional a, b, rc or dev suffix. The
// PEP 440 module for Go (github.com/aquasecurity/go-pep440-version) was
// tried and passes this repository's tests, but is not used: it accepts
// what pip accepts (white space around, a leading "v", any case, local
// "+…" and epoch "N!" segments, "-N" post-releases), while IsVersion is
// the check install and publish make on versions.json fields, so a shape
// check of our own would stay beside it; it gives no release numbers
// (VersionParts); and it has one tag (v0.0.1) and brings two more modules.

// CompareVersions orders dotted versions such as "7.3.20", "7.3.12rc1" or
// "3.11.13": numeric parts compare as numbers, a missing part counts as 0,
// and a pre-release (a, b, rc, dev) sorts before its final release. It
// returns -1, 0 or +1. Strings that are not versions ("nightly") sort
// before every version, and among themselves by bytes.
func CompareVersions(a, b string) int {
	va, oka := parseVersion(a)
	vb, okb := parseVersion(b)
	switch {
	case !oka && !okb:
		return strings.Compare(a, b)
	case !oka:
		return -1
	case !okb:
		return 1
	}
	n := max(len(va.parts), len(vb.parts))
	for i := range n {
		x, y := part(va.parts, i), part(vb.parts, i)
		if x != y {
			return cmpInt(x, y)
		}
	}
	// A final release (no pre-release) is newer than any pre-release of it.
	switch {
	case va.pre == "" && vb.pre == "":
		return 0
	case va.pre == "":
		return 1
	case vb.pre == "":
		return -1
	}
	if r := cmpInt(preRank(va.pre), preRank(vb.pre)); r != 0 {
		return r
	}
	return cmpInt(va.preNum, vb.preNum)
}

type version struct {
	parts  []int
	pre    string // "", "a", "b", "rc", "dev"
	preNum int
}

// IsPrerelease reports whether v carries a pre-release suffix (7.3.12rc1).
func IsPrerelease(v string) bool {
	p, ok := parseVersion(v)
	return ok && p.pre != ""
}

// IsVersion reports whether v parses as a dotted version.
func IsVersion(v string) bool {
	_, ok := parseVersion(v)
	return ok
}

func parseVersion(s string) (version, bool) {
	var v version
	if s == "" {
		return v, false
	}
	rel, tag, num, pre := SplitPrerelease(s)
	if pre && rel+tag+num != s {
		return v, false // PEP 440's "." and "-" separators: not in versions.json
	}
	if !pre {
		rel = s
	}
	for _, p := range strings.Split(rel, ".") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return v, false
		}
		v.parts = append(v.parts, n)
	}
	if pre {
		if num == "" {
			num = "0"
		}
		n, err := strconv.Atoi(num)
		if err != nil {
			return v, false
		}
		v.pre, v.preNum = tag, n
	}
	return v, true
}

// prerelease is a release number with a PEP 440 pre-release or dev
// suffix, PEP 440's optional separators included: 7.3.12rc1, 7.3.12-rc1,
// 7.3.21.dev3, 7.3.12b.2.
var prerelease = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)*)[.-]?(a|alpha|b|beta|rc|c|dev)\.?([0-9]*)$`)

// SplitPrerelease splits v into its release number, pre-release tag and
// the tag's number ("7.3.12rc1" → "7.3.12", "rc", "1"; the number may be
// ""); ok is false for a final release or a string that is not a version.
// It is the one parser of pre-release suffixes: the version order here and
// the Debian versions of packaging/deb both read it.
func SplitPrerelease(v string) (release, tag, num string, ok bool) {
	m := prerelease.FindStringSubmatch(v)
	if m == nil {
		return "", "", "", false
	}
	return m[1], m[2], m[3], true
}

func preRank(tag string) int {
	switch tag {
	case "dev":
		return 0
	case "a", "alpha":
		return 1
	case "b", "beta":
		return 2
	case "rc", "c":
		return 3
	}
	return -1
}

func part(p []int, i int) int {
	if i < len(p) {
		return p[i]
	}
	return 0
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// VersionParts returns the numeric parts of a version ("3.11.13" → 3, 11,
// 13); ok is false when v is not a version.
func VersionParts(v string) (parts []int, ok bool) {
	p, ok := parseVersion(v)
	return p.parts, ok
}

// HasPrefix reports whether version v starts with the dotted components of
// prefix: "3.11.13" has the prefixes "3", "3.11" and "3.11.13", but not
// "3.1".
func HasPrefix(v, prefix string) bool {
	if v == prefix {
		return true
	}
	return strings.HasPrefix(v, prefix+".")
}
