package brew

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

//go:embed formula.rb.tmpl
var formulaText string

var formulaTmpl = template.Must(template.New("formula").Funcs(template.FuncMap{"ruby": rubyString}).Parse(formulaText))

// Archive is one release archive a formula installs.
type Archive struct {
	Target   string `json:"target"` // matrix target name
	OS       string `json:"os"`     // darwin | linux
	Arch     string `json:"arch"`   // amd64 | arm64
	Filename string `json:"filename"`
	URL      string `json:"url"`
	SHA256   string `json:"sha256"`
}

// ArchBlock is Homebrew's name for the archive's CPU family.
func (a Archive) ArchBlock() string {
	if a.Arch == "arm64" {
		return "arm"
	}
	return "intel"
}

// Targets are the release's targets Homebrew can install: macOS and Linux
// on arm64 and x86_64 (Homebrew runs nowhere else), in matrix order.
func Targets(m *platforms.Matrix, r *platforms.Release) ([]*platforms.Target, error) {
	var out []*platforms.Target
	for _, rt := range r.Targets {
		t, err := m.Target(rt.Name)
		if err != nil {
			return nil, err
		}
		if (t.OS == "darwin" || t.OS == "linux") && (t.Arch == "amd64" || t.Arch == "arm64") {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("release %s ships no macOS or Linux arm64/x86_64 target: nothing for Homebrew", r.Name)
	}
	return out, nil
}

// Name is the formula's name: pypy@X.Y, Homebrew's form for a versioned
// formula. It cannot collide with homebrew-core's pypy, pypy3 or
// pypy3.X formulae, so `brew install TAP/pypy@3.9` is never ambiguous.
func Name(r *platforms.Release) string { return "pypy@" + r.PythonShort() }

// ClassName is the Ruby class Homebrew derives from a formula name
// (Formulary.class_s): capitalised, a "-", "_", "." or space before a
// letter or digit dropped and that character upper-cased, "+" as "x", and
// the first "@" before a digit as "AT": pypy@3.9 → PypyAT39.
func ClassName(name string) string {
	s := ""
	if name != "" {
		s = strings.ToUpper(name[:1]) + strings.ToLower(name[1:])
	}
	s = classSep.ReplaceAllStringFunc(s, func(m string) string { return strings.ToUpper(m[1:]) })
	s = strings.ReplaceAll(s, "+", "x")
	if loc := classAt.FindStringIndex(s); loc != nil {
		s = s[:loc[0]+1] + "AT" + s[loc[0]+2:]
	}
	return s
}

var (
	classSep = regexp.MustCompile(`[-_.\s][a-zA-Z0-9]`)
	classAt  = regexp.MustCompile(`.@[0-9]`)
)

// system is one on_macos / on_linux block.
type system struct {
	Block    string // macos | linux
	OnlyArch string // arm64 | x86_64 when the release ships one CPU family there
	Split    bool   // both families: on_arm / on_intel inside
	Archives []Archive
}

type formulaData struct {
	Release, Class, Desc, Homepage, Version, License string
	PythonVersion, PyPyNumeric, Interpreter          string
	OnlyOS                                           string
	Systems                                          []system
}

var (
	safeInterpreter = regexp.MustCompile(`^pypy[0-9.]*$`)
	pypyNumeric     = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`)
	sha256Hex       = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// Render returns the formula of a release for the given archives (one
// per Homebrew target of the release).
func Render(m *platforms.Matrix, r *platforms.Release, archives []Archive) ([]byte, error) {
	if !safeInterpreter.MatchString(r.Interpreter()) {
		return nil, fmt.Errorf("interpreter name %q cannot go into a formula", r.Interpreter())
	}
	num := pypyNumeric.FindString(r.PyPyVersion)
	if num == "" {
		return nil, fmt.Errorf("PyPy version %q has no X.Y.Z: a formula needs one", r.PyPyVersion)
	}
	d := formulaData{
		Release: r.Name, Class: ClassName(Name(r)),
		Desc:     fmt.Sprintf("Fast Python %s interpreter with a just-in-time compiler", r.PythonShort()),
		Homepage: m.Project.Homepage, Version: r.PyPyVersion, License: m.Project.License,
		PythonVersion: r.PythonVersion, PyPyNumeric: num, Interpreter: r.Interpreter(),
	}
	if d.Homepage == "" || d.License == "" {
		return nil, fmt.Errorf("the matrix's project needs a homepage and a license for a formula")
	}
	byOS := map[string][]Archive{}
	for _, a := range archives {
		if !sha256Hex.MatchString(a.SHA256) {
			return nil, fmt.Errorf("archive %s: sha256 %q is not 64 lower-case hex digits", a.Filename, a.SHA256)
		}
		if !strings.HasPrefix(a.URL, "https://") && !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "file://") {
			return nil, fmt.Errorf("archive %s: url %q is not http(s) or file", a.Filename, a.URL)
		}
		byOS[a.OS] = append(byOS[a.OS], a)
	}
	for _, osName := range []string{"darwin", "linux"} {
		as := byOS[osName]
		if len(as) == 0 {
			continue
		}
		// arm before intel, whatever order the matrix lists them in.
		sort.Slice(as, func(i, j int) bool { return as[i].ArchBlock() < as[j].ArchBlock() })
		s := system{Block: map[string]string{"darwin": "macos", "linux": "linux"}[osName], Archives: as}
		switch {
		case len(as) == 2 && as[0].Arch != as[1].Arch:
			s.Split = true
		case len(as) == 1:
			s.OnlyArch = map[string]string{"arm64": "arm64", "amd64": "x86_64"}[as[0].Arch]
		default:
			return nil, fmt.Errorf("%d archives for %s: want one per CPU family", len(as), osName)
		}
		d.Systems = append(d.Systems, s)
	}
	switch len(d.Systems) {
	case 0:
		return nil, fmt.Errorf("release %s: no macOS or Linux archive to put in a formula", r.Name)
	case 1:
		d.OnlyOS = d.Systems[0].Block
	}
	var b bytes.Buffer
	if err := formulaTmpl.Execute(&b, d); err != nil {
		return nil, fmt.Errorf("render formula: %w", err)
	}
	return b.Bytes(), nil
}

// Result is a written formula.
type Result struct {
	Formula  string    `json:"formula"` // the .rb path
	Name     string    `json:"name"`
	Class    string    `json:"class"`
	Version  string    `json:"version"`
	Archives []Archive `json:"archives"`
}

// Write renders the formula into tap/Formula/<name>.rb atomically.
func Write(m *platforms.Matrix, r *platforms.Release, archives []Archive, tap string) (*Result, error) {
	b, err := Render(m, r, archives)
	if err != nil {
		return nil, err
	}
	p := filepath.Join(tap, "Formula", Name(r)+".rb")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("tap: %w", err)
	}
	if err := fsutil.WriteAtomic(p, 0o644, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return nil, fmt.Errorf("write formula: %w", err)
	}
	return &Result{Formula: p, Name: Name(r), Class: ClassName(Name(r)), Version: r.PyPyVersion, Archives: archives}, nil
}

// rubyString quotes s as a Ruby double-quoted string literal, escaping
// what Ruby would interpret (\, ", and #{ interpolation).
func rubyString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, c := range s {
		switch {
		case c == '\\' || c == '"':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '#' && i+1 < len(s) && (s[i+1] == '{' || s[i+1] == '$' || s[i+1] == '@'):
			b.WriteString(`\#`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
