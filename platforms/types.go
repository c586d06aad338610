package platforms

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Matrix is the declarative platform matrix: releases × targets × outputs.
type Matrix struct {
	Schema         int       `yaml:"schema" json:"schema"`
	DefaultRelease string    `yaml:"default_release" json:"default_release"`
	Project        Project   `yaml:"project" json:"project"`
	Defaults       Defaults  `yaml:"defaults" json:"-"`
	Targets        []Target  `yaml:"targets" json:"targets"`
	Releases       []Release `yaml:"releases" json:"releases"`
	// Path names the file the matrix was read from ("<embedded>" for the
	// built-in one); it is not part of the YAML.
	Path string `yaml:"-" json:"path"`
	// doc is the parsed YAML tree, kept so Validate can give positions.
	doc *yaml.Node
}

// Project holds facts about the project that outputs repeat (licence,
// homepage, maintainer of packages).
type Project struct {
	Homepage   string `yaml:"homepage" json:"homepage"`
	Source     string `yaml:"source" json:"source"`
	License    string `yaml:"license" json:"license"`
	Maintainer string `yaml:"maintainer" json:"maintainer"`
}

// Defaults are inherited by every target before its own keys apply.
type Defaults struct {
	Target Target `yaml:"target"`
}

// Target is one OS/arch pair PyPy is built for.
type Target struct {
	Name         string        `yaml:"name" json:"name"`
	OS           string        `yaml:"os" json:"os"`             // linux, darwin, windows
	Arch         string        `yaml:"arch" json:"arch"`         // GOARCH spelling: amd64, arm64, 386, s390x
	Platform     string        `yaml:"platform" json:"platform"` // upstream archive suffix: linux64, aarch64, …
	VersionsJSON IndexPlatform `yaml:"versions_json" json:"versions_json"`
	Triplet      string        `yaml:"triplet" json:"triplet"`
	DebianArch   string        `yaml:"debian_arch,omitempty" json:"debian_arch,omitempty"`
	Format       string        `yaml:"format" json:"format"`   // default archive format
	Builder      string        `yaml:"builder" json:"builder"` // host | bwrap | emulated | image:REF
	Runner       string        `yaml:"runner" json:"runner"`   // CI runner label
	Translation  Translation   `yaml:"translation" json:"translation"`
	// NotBuildable, when set, says why pypyctl cannot build this target
	// yet (it only names it in indexes); CI generates no job for it.
	NotBuildable string `yaml:"not_buildable,omitempty" json:"not_buildable,omitempty"`
}

// IndexPlatform is the (arch, platform) pair pypy.org's versions.json uses.
type IndexPlatform struct {
	Arch     string `yaml:"arch" json:"arch"`
	Platform string `yaml:"platform" json:"platform"`
}

// Translation holds the RPython options for one target.
type Translation struct {
	Opt            string   `yaml:"opt" json:"opt"`
	GC             string   `yaml:"gc" json:"gc"`
	Shared         bool     `yaml:"shared" json:"shared"`
	LTO            bool     `yaml:"lto" json:"lto"`
	MakeJobs       int      `yaml:"make_jobs" json:"make_jobs"`
	MinMemoryGB    int      `yaml:"min_memory_gb" json:"min_memory_gb"`
	CC             string   `yaml:"cc,omitempty" json:"cc,omitempty"`
	CFlags         string   `yaml:"cflags,omitempty" json:"cflags,omitempty"`
	RPythonOptions []string `yaml:"rpython_options" json:"rpython_options"`
	TargetOptions  []string `yaml:"target_options" json:"target_options"`
}

// Release is one PyPy release for one Python version, e.g. pypy3.11-v7.3.20.
type Release struct {
	Name            string          `yaml:"name" json:"name"`
	PyPyVersion     string          `yaml:"pypy_version" json:"pypy_version"`
	PythonVersion   string          `yaml:"python_version" json:"python_version"`
	Date            string          `yaml:"date" json:"date"`
	Stable          bool            `yaml:"stable" json:"stable"`
	Latest          bool            `yaml:"latest" json:"latest"`
	SourceDateEpoch int64           `yaml:"source_date_epoch" json:"source_date_epoch"`
	Source          Source          `yaml:"source" json:"source"`
	VM              string          `yaml:"vm" json:"vm"` // translate | debian | upstream
	Formats         []string        `yaml:"formats,omitempty" json:"formats,omitempty"`
	Debian          *DebianInputs   `yaml:"debian,omitempty" json:"debian,omitempty"`
	Ensurepip       []Wheel         `yaml:"ensurepip,omitempty" json:"ensurepip,omitempty"`
	Targets         []ReleaseTarget `yaml:"targets" json:"targets"`
	Wheels          []WheelSource   `yaml:"wheels,omitempty" json:"wheels,omitempty"`
}

// WheelSource is a cffi project whose wheel a release builds with its own
// PyPy and publishes beside the interpreter (wheels.BuildRelease).
type WheelSource struct {
	Name    string   `yaml:"name" json:"name"`
	Path    string   `yaml:"path" json:"path"`                           // source dir or .tar.gz sdist, relative to the matrix file
	Targets []string `yaml:"targets,omitempty" json:"targets,omitempty"` // default: every Linux target of the release
	Repair  bool     `yaml:"repair,omitempty" json:"repair,omitempty"`   // vendor libraries and retag to manylinux
}

// Source says where the release's PyPy source comes from.
type Source struct {
	Git     *GitSource `yaml:"git,omitempty" json:"git,omitempty"`
	Archive *Input     `yaml:"archive,omitempty" json:"archive,omitempty"`
}

// GitSource is a PyPy checkout at a tag, pinned by commit and tree. The
// tree pin is what makes a mirror safe: whatever serves the clone, the
// content must hash to it.
type GitSource struct {
	URL    string `yaml:"url" json:"url"`
	Tag    string `yaml:"tag,omitempty" json:"tag,omitempty"`
	Commit string `yaml:"commit,omitempty" json:"commit,omitempty"` // 40 hex digits
	Tree   string `yaml:"tree,omitempty" json:"tree,omitempty"`     // 40 hex digits: git rev-parse COMMIT^{tree}
}

// Input is a file pinned by sha256, found by URL or by file name in the
// download cache.
type Input struct {
	URL    string `yaml:"url,omitempty" json:"url,omitempty"`
	File   string `yaml:"file,omitempty" json:"file,omitempty"`
	SHA256 string `yaml:"sha256" json:"sha256"`
}

// DebianInputs pins the Debian packages an imported VM is made from.
type DebianInputs struct {
	Suite    string       `yaml:"suite" json:"suite"`
	Packages []DebPackage `yaml:"packages" json:"packages"`
}

// DebPackage is one pinned .deb.
type DebPackage struct {
	Name    string `yaml:"name" json:"name"`
	Version string `yaml:"version" json:"version"`
	Arch    string `yaml:"arch" json:"arch"` // a Debian architecture or "all"
	SHA256  string `yaml:"sha256" json:"sha256"`
}

// FileName is the file name Debian gives the package in its pool.
func (p DebPackage) FileName() string {
	v := p.Version
	if i := strings.IndexByte(v, ':'); i >= 0 { // epochs are not in file names
		v = v[i+1:]
	}
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, v, p.Arch)
}

// Wheel is one pinned ensurepip wheel. Deb names the package that carries
// it when the wheel comes from Debian.
type Wheel struct {
	Name    string `yaml:"name" json:"name"`
	Version string `yaml:"version" json:"version"`
	SHA256  string `yaml:"sha256" json:"sha256"`
	Deb     string `yaml:"deb,omitempty" json:"deb,omitempty"`
	URL     string `yaml:"url,omitempty" json:"url,omitempty"`
	// Tag is the wheel's compatibility tag; empty means py3-none-any
	// (2.7's bundled wheels are py2.py3-none-any).
	Tag string `yaml:"tag,omitempty" json:"tag,omitempty"`
}

// FileName is the wheel's file name (pure-Python: py3-none-any unless
// the pin says otherwise).
func (w Wheel) FileName() string {
	tag := w.Tag
	if tag == "" {
		tag = "py3-none-any"
	}
	return fmt.Sprintf("%s-%s-%s.whl", w.Name, w.Version, tag)
}

// ReleaseTarget is one target a release ships, with per-target overrides.
type ReleaseTarget struct {
	Name     string   `yaml:"name" json:"name"`
	Formats  []string `yaml:"formats,omitempty" json:"formats,omitempty"`
	Upstream *Input   `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	Post     *PostVM  `yaml:"post,omitempty" json:"post,omitempty"`
}
