package bazel

import (
	"bytes"
	"embed"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/pypyctl/pypyctl/publish/index"
)

//go:embed templates/*.tmpl
var templateFS embed.FS

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"str":   starlarkString,
	"upper": strings.ToUpper,
}).ParseFS(templateFS, "templates/*.tmpl"))

// Options choose what is generated.
type Options struct {
	// Release is "pypyX.Y-vV" (pypy3.9-v7.3.11), "pypyX.Y-nightly", or a
	// bare PyPy version (7.3.11) when only one Python version ships with it.
	Release string
	// Targets restricts the output to these pypyctl targets (linux-amd64,
	// …); empty means every target the release has an archive for.
	Targets []string
	// Prefix starts every repository name: <prefix>_linux_amd64.
	// Empty means "pypy".
	Prefix string
}

// Repo is one generated http_archive.
type Repo struct {
	Name        string `json:"name"`
	Target      string `json:"target"`
	Filename    string `json:"filename"`
	URL         string `json:"url"`
	SHA256      string `json:"sha256"`
	StripPrefix string `json:"strip_prefix"`
	Interpreter string `json:"interpreter"`
	Build       string `json:"-"`
}

// File is one generated file, relative to the output directory.
type File struct {
	Name string
	Data []byte
}

// Result is what Generate made.
type Result struct {
	Release string `json:"release"`
	PyPy    string `json:"pypy_version"`
	Python  string `json:"python_version"`
	Repos   []Repo `json:"repositories"`
	Files   []File `json:"-"`
}

// RepositoriesFile is the name of the generated Starlark file.
const RepositoriesFile = "pypy_repositories.bzl"

var (
	releaseRE = regexp.MustCompile(`^pypy(\d+\.\d+)-(?:v(.+)|(nightly))$`)
	sha256RE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
	prefixRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
)

// Generate renders the WORKSPACE rules for one release of the index.
func Generate(src *index.Source, o Options) (*Result, error) {
	prefix := o.Prefix
	if prefix == "" {
		prefix = "pypy"
	}
	if !prefixRE.MatchString(prefix) {
		return nil, fmt.Errorf("repository prefix %q: want a letter then letters, digits or _", prefix)
	}
	v, err := findRelease(src.Index, o.Release)
	if err != nil {
		return nil, err
	}
	chosen, err := chooseFiles(v, o.Targets)
	if err != nil {
		return nil, err
	}
	res := &Result{Release: releaseName(v), PyPy: v.PyPyVersion, Python: v.PythonVersion}
	py2 := strings.HasPrefix(v.PythonVersion, "2.")
	for _, c := range chosen {
		r, err := repo(src, v, c.t, c.f, prefix, py2)
		if err != nil {
			return nil, err
		}
		res.Repos = append(res.Repos, r)
	}
	for _, out := range []struct{ name, tmpl string }{
		{RepositoriesFile, "repositories.bzl.tmpl"},
		{"BUILD.bazel", "BUILD.bazel.tmpl"},
	} {
		var buf bytes.Buffer
		if err := tmpl.ExecuteTemplate(&buf, out.tmpl, res); err != nil {
			return nil, fmt.Errorf("render %s: %w", out.name, err)
		}
		res.Files = append(res.Files, File{Name: out.name, Data: buf.Bytes()})
	}
	return res, nil
}

// findRelease picks the index entry --release names.
func findRelease(ix index.Index, release string) (*index.Version, error) {
	if release == "" {
		return nil, fmt.Errorf("no release given (want e.g. pypy3.9-v7.3.11)")
	}
	pypy, python := release, ""
	if m := releaseRE.FindStringSubmatch(release); m != nil {
		python, pypy = m[1], m[2]+m[3]
	}
	var found []*index.Version
	for i := range ix {
		v := &ix[i]
		if v.PyPyVersion == pypy && (python == "" || index.HasPrefix(v.PythonVersion, python)) {
			found = append(found, v)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return nil, fmt.Errorf("release %s is not in the index (it has %s)", release, listReleases(ix))
	default:
		var names []string
		for _, v := range found {
			names = append(names, releaseName(v))
		}
		return nil, fmt.Errorf("release %s is ambiguous: say one of %s", release, strings.Join(names, ", "))
	}
}

func listReleases(ix index.Index) string {
	if len(ix) == 0 {
		return "no releases"
	}
	var names []string
	for i := range ix {
		names = append(names, releaseName(&ix[i]))
	}
	return strings.Join(names, ", ")
}

// releaseName is the name --release takes: pypy3.9-v7.3.11, or
// pypy3.11-nightly for a nightly entry.
func releaseName(v *index.Version) string {
	if v.IsNightly() {
		return fmt.Sprintf("pypy%s-nightly", majorMinor(v.PythonVersion))
	}
	return fmt.Sprintf("pypy%s-v%s", majorMinor(v.PythonVersion), v.PyPyVersion)
}

func majorMinor(python string) string {
	parts := strings.SplitN(python, ".", 3)
	if len(parts) < 2 {
		return python
	}
	return parts[0] + "." + parts[1]
}

type choice struct {
	t target
	f index.File
}

// chooseFiles takes one archive per target, in a format Bazel extracts,
// sorted by target name so the output does not depend on index order.
func chooseFiles(v *index.Version, want []string) ([]choice, error) {
	byTarget := map[string]choice{}
	for _, f := range v.Files {
		t, ok := targetOfPair(f.PlatformPair())
		if !ok {
			continue
		}
		_, format, ok := index.SplitFormat(f.Filename)
		if !ok || formatRank(format) < 0 {
			continue
		}
		if old, ok := byTarget[t.Name]; ok {
			_, oldFormat, _ := index.SplitFormat(old.f.Filename)
			if formatRank(oldFormat) <= formatRank(format) {
				continue
			}
		}
		byTarget[t.Name] = choice{t, f}
	}
	var have []string
	for name := range byTarget {
		have = append(have, name)
	}
	sort.Strings(have)
	if len(want) == 0 {
		if len(have) == 0 {
			return nil, fmt.Errorf("release %s has no archive Bazel can extract (%s)", releaseName(v), strings.Join(formats, ", "))
		}
		want = have
	}
	var out []choice
	seen := map[string]bool{}
	for _, name := range want {
		if _, ok := targetNamed(name); !ok {
			var all []string
			for _, t := range targets {
				all = append(all, t.Name)
			}
			return nil, fmt.Errorf("unknown target %q (known: %s)", name, strings.Join(all, ", "))
		}
		c, ok := byTarget[name]
		if !ok {
			return nil, fmt.Errorf("release %s has no archive Bazel can extract for %s (it has: %s)", releaseName(v), name, strings.Join(have, ", "))
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].t.Name < out[j].t.Name })
	return out, nil
}

func repo(src *index.Source, v *index.Version, t target, f index.File, prefix string, py2 bool) (Repo, error) {
	if f.SHA256 == "" {
		return Repo{}, fmt.Errorf("%s has no sha256 in the index (pypyctl publish writes one); Bazel needs it to pin the archive", f.Filename)
	}
	if !sha256RE.MatchString(f.SHA256) {
		return Repo{}, fmt.Errorf("%s: bad sha256 %q: want 64 lowercase hex digits", f.Filename, f.SHA256)
	}
	u, err := src.FileURL(f)
	if err != nil {
		return Repo{}, err
	}
	base, _, _ := index.SplitFormat(f.Filename)
	interp := "bin/pypy3"
	if py2 {
		interp = "bin/pypy"
	}
	if t.Windows {
		interp = strings.TrimPrefix(interp, "bin/") + ".exe"
	}
	r := Repo{
		Name:        prefix + "_" + strings.ReplaceAll(t.Name, "-", "_"),
		Target:      t.Name,
		Filename:    f.Filename,
		URL:         u.String(),
		SHA256:      f.SHA256,
		StripPrefix: base,
		Interpreter: interp,
	}
	data := struct {
		Repo
		PyPy, Python                string
		PythonVersion, PairAttr     string
		OSConstraint, CPUConstraint string
	}{r, v.PyPyVersion, v.PythonVersion, "PY3", "py3_runtime", "@platforms//os:" + t.OS, "@platforms//cpu:" + t.CPU}
	if py2 {
		data.PythonVersion, data.PairAttr = "PY2", "py2_runtime"
	}
	var buf bytes.Buffer
	if err := tmpl.ExecuteTemplate(&buf, "BUILD.archive.tmpl", data); err != nil {
		return Repo{}, fmt.Errorf("render BUILD for %s: %w", t.Name, err)
	}
	r.Build = buf.String()
	if strings.Contains(r.Build, `"""`) || strings.Contains(r.Build, `\`) {
		return Repo{}, fmt.Errorf("BUILD for %s cannot be embedded in a Starlark string", t.Name)
	}
	return r, nil
}

// starlarkString quotes s as a Starlark string literal. Index values are
// data from a file we did not write, so anything that would need escaping
// is refused rather than escaped: no legitimate URL, name or digest has it.
func starlarkString(s string) (string, error) {
	if strings.ContainsAny(s, "\"\\\n\r\t") {
		return "", fmt.Errorf("%q cannot be a Starlark string here", s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("%q has control characters", s)
		}
	}
	return `"` + s + `"`, nil
}
