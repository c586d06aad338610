package index

import (
	"fmt"
	"regexp"
	"strings"
)

// Platform is the (arch, platform) pair versions.json files carry.
type Platform struct {
	Arch     string `json:"arch"`
	Platform string `json:"platform"`
}

func (p Platform) String() string { return p.Arch + "/" + p.Platform }

// suffixes maps upstream archive suffixes to their versions.json pair.
// osx64 is the macOS suffix of releases before 7.3.7; "linux" is what
// nightly file names call linux32.
var suffixes = map[string]Platform{
	"linux64":      {"x64", "linux"},
	"aarch64":      {"aarch64", "linux"},
	"linux32":      {"i686", "linux"},
	"linux":        {"i686", "linux"},
	"s390x":        {"s390x", "linux"},
	"macos_x86_64": {"x64", "darwin"},
	"osx64":        {"x64", "darwin"},
	"macos_arm64":  {"arm64", "darwin"},
	"win64":        {"x64", "win64"},
	"win32":        {"x86", "win32"},
}

// PlatformOfSuffix returns the versions.json pair of an archive suffix
// (linux64 → x64/linux).
func PlatformOfSuffix(suffix string) (Platform, bool) {
	p, ok := suffixes[suffix]
	return p, ok
}

// HostPlatform maps Go's GOOS/GOARCH to the versions.json pair whose
// archives run there.
func HostPlatform(goos, goarch string) (Platform, error) {
	var p Platform
	switch goos + "/" + goarch {
	case "linux/amd64":
		p = Platform{"x64", "linux"}
	case "linux/arm64":
		p = Platform{"aarch64", "linux"}
	case "linux/386":
		p = Platform{"i686", "linux"}
	case "linux/s390x":
		p = Platform{"s390x", "linux"}
	case "darwin/amd64":
		p = Platform{"x64", "darwin"}
	case "darwin/arm64":
		p = Platform{"arm64", "darwin"}
	case "windows/amd64":
		p = Platform{"x64", "win64"}
	case "windows/386":
		p = Platform{"x86", "win32"}
	default:
		return p, fmt.Errorf("PyPy publishes no builds for %s/%s", goos, goarch)
	}
	return p, nil
}

// Formats are the archive formats releases ship, in the order the uv
// catalogue prefers them (uv 0.12 stops reading tar.bz2).
func Formats() []string { return []string{"tar.gz", "tar.zst", "tar.xz", "zip", "tar.bz2"} }

// SplitFormat splits an archive file name into its base and format
// ("pypy3.11-v7.3.20-linux64.tar.bz2" → "pypy3.11-v7.3.20-linux64",
// "tar.bz2"); ok is false for other files.
func SplitFormat(name string) (base, format string, ok bool) {
	for _, f := range Formats() {
		if b, found := strings.CutSuffix(name, "."+f); found && b != "" {
			return b, f, true
		}
	}
	return name, "", false
}

// ArchiveName is an upstream archive name taken apart.
type ArchiveName struct {
	Base   string // archive name without format: the top directory
	Python string // X.Y; empty for nightlies
	PyPy   string // 7.3.20; "nightly" for nightlies
	Suffix string // linux64, aarch64, …
	Format string // tar.bz2, zip, …
}

var (
	releaseRE = regexp.MustCompile(`^pypy(\d+\.\d+)-v(\d+\.\d+\.\d+(?:[a-z]+\d*)?)-([a-z0-9_]+)$`)
	nightlyRE = regexp.MustCompile(`^pypy-c-jit-(?:\d+-[0-9a-f]+|latest)-([a-z0-9_]+)$`)
)

// ParseArchiveName parses pypyX.Y-vV-<suffix>.<format> and nightly names
// pypy-c-jit-<N>-<hash>-<suffix>.<format>.
func ParseArchiveName(name string) (ArchiveName, bool) {
	base, format, ok := SplitFormat(name)
	if !ok {
		return ArchiveName{}, false
	}
	an, ok := ParseArchiveBase(base)
	an.Format = format
	return an, ok
}

// ParseArchiveBase parses an archive name without its format, which is
// also the archive's top directory: pypy3.11-v7.3.20-linux64.
func ParseArchiveBase(base string) (ArchiveName, bool) {
	format := ""
	if m := releaseRE.FindStringSubmatch(base); m != nil {
		return ArchiveName{Base: base, Python: m[1], PyPy: m[2], Suffix: m[3], Format: format}, true
	}
	if m := nightlyRE.FindStringSubmatch(base); m != nil {
		return ArchiveName{Base: base, PyPy: Nightly, Suffix: m[1], Format: format}, true
	}
	return ArchiveName{}, false
}
