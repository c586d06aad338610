package platforms

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Problem is one fault found in a matrix, with its position. Line and
// Column are 1-based; 0 means the position is unknown (a Matrix built in
// code rather than parsed).
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// archiveFormats are the archive formats a release may ship.
var archiveFormats = []string{"tar.bz2", "tar.gz", "tar.xz", "tar.zst", "zip"}

// vmKinds are the ways a release obtains its translated VM.
var vmKinds = []string{"translate", "debian", "upstream"}

var targetOSes = []string{"linux", "darwin", "windows"}

var (
	pypyVersionRE   = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)((a|b|rc)(0|[1-9][0-9]*))?$`)
	pythonVersionRE = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)
	sha256RE        = regexp.MustCompile(`^[0-9a-f]{64}$`)
	gitObjectRE     = regexp.MustCompile(`^[0-9a-f]{40}$`)
	builderRE       = regexp.MustCompile(`^(host|bwrap|emulated|image:[^\s]+)$`)
	// ensurepip wheels are pure Python; their names become file names.
	wheelTagRE  = regexp.MustCompile(`^py[23](\.py3)?-none-any$`)
	wheelPartRE = regexp.MustCompile(`^[A-Za-z0-9_.]+$`)
	// Target names end up in file names, CI job names and command lines.
	targetNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	syntaxLineRE = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)
	decodeLineRE = regexp.MustCompile(`^line ([0-9]+): `)
)

// ValidateFile reads a matrix file (the embedded matrix for an empty path)
// and reports every problem in it. The error is only for a file that
// cannot be read; the Matrix is nil when the file does not decode.
func ValidateFile(path string) (*Matrix, []Problem, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, err
	}
	name := path
	if name == "" {
		name = EmbeddedName
	}
	m, probs := ValidateYAML(name, data)
	return m, probs, nil
}

// ValidateYAML parses data and reports every problem, including the type
// errors that make Parse fail, each with its position in the file. The
// Matrix is nil only when the YAML itself does not parse.
func ValidateYAML(name string, data []byte) (*Matrix, []Problem) {
	v := newValidator(name, nil)
	doc, err := parseNode(data)
	if err != nil {
		v.syntax(err)
		return nil, v.sorted()
	}
	v.doc = doc
	// Repair replaces each wrongly typed node with a zero value of the right
	// kind, so decoding keeps going and list indexes still match the nodes.
	v.repair = true
	v.walkRoot()
	m, err := decode(name, doc)
	if err != nil {
		// Repairs are made at an anchor, which other aliases share: a
		// decode error after reported problems is their echo, naming
		// values the file does not hold. Otherwise keep it, positioned.
		if len(v.probs) == 0 {
			line := 1
			var te *yaml.TypeError
			if errors.As(err, &te) && len(te.Errors) > 0 {
				if sm := decodeLineRE.FindStringSubmatch(te.Errors[0]); sm != nil {
					line, _ = strconv.Atoi(sm[1])
				}
			}
			v.add(line, 1, fmt.Sprintf("cannot decode matrix: %v", err))
		}
		return nil, v.sorted()
	}
	v.check(m)
	return m, v.sorted()
}

// Validate reports every problem in a parsed matrix: unknown keys (when
// it came from Parse) and every semantic fault. Positions are known when
// the matrix came from Parse or Load.
func Validate(m *Matrix) []Problem {
	v := newValidator(m.Path, m.doc)
	if m.doc != nil {
		v.walkRoot()
	}
	v.check(m)
	return v.sorted()
}

type validator struct {
	file    string
	doc     *yaml.Node
	repair  bool
	probs   []Problem
	flagged map[*yaml.Node]bool // nodes with a schema problem: semantic checks skip them
	walked  map[walkKey]bool    // aliased nodes already walked for a type
}

type walkKey struct {
	n *yaml.Node
	t reflect.Type
}

func newValidator(file string, doc *yaml.Node) *validator {
	return &validator{file: file, doc: doc, flagged: map[*yaml.Node]bool{}, walked: map[walkKey]bool{}}
}

func (v *validator) add(line, col int, msg string) {
	v.probs = append(v.probs, Problem{File: v.file, Line: line, Column: col, Message: msg})
}

// report adds a problem at n. A node the schema walk already reported is
// skipped: its value was replaced, so any later complaint is a consequence.
func (v *validator) report(n *yaml.Node, format string, args ...any) {
	if n != nil && v.flagged[n] {
		return
	}
	line, col := 0, 0
	if n != nil {
		line, col = n.Line, n.Column
	}
	v.add(line, col, fmt.Sprintf(format, args...))
}

// flag reports a schema problem at n and marks it.
func (v *validator) flag(n *yaml.Node, format string, args ...any) {
	v.report(n, format, args...)
	v.flagged[n] = true
}

// sorted returns the problems in file order without duplicates (an
// aliased node is reached once per alias).
func (v *validator) sorted() []Problem {
	sort.SliceStable(v.probs, func(i, j int) bool {
		a, b := v.probs[i], v.probs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	out := make([]Problem, 0, len(v.probs))
	seen := map[Problem]bool{}
	for _, p := range v.probs {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// syntax turns a YAML parse error into a problem. yaml.v3 gives only the
// line of a syntax error, so the column is 1.
func (v *validator) syntax(err error) {
	if errors.Is(err, errEmpty) {
		v.add(1, 1, "the matrix is empty")
		return
	}
	msg := err.Error()
	if sm := syntaxLineRE.FindStringSubmatch(msg); sm != nil {
		line, convErr := strconv.Atoi(sm[1])
		if convErr == nil {
			v.add(line, 1, "YAML syntax: "+sm[2])
			return
		}
	}
	v.add(1, 1, "YAML syntax: "+strings.TrimPrefix(msg, "yaml: "))
}

// ---- schema walk ----

func (v *validator) walkRoot() {
	root := v.doc.Content[0]
	if r := deref(root); r == nil || r.Kind != yaml.MappingNode {
		v.flag(root, "the matrix must be a mapping (schema, default_release, targets, releases …), got %s", describe(root))
		v.zero(root, yaml.MappingNode, "!!map", "")
		return
	}
	v.walk(root, reflect.TypeOf(Matrix{}), "", false, 0)
}

// zero replaces n in place with an empty value of a kind that decodes
// cleanly, keeping its position.
func (v *validator) zero(n *yaml.Node, kind yaml.Kind, tag, value string) {
	if !v.repair {
		return
	}
	n.Kind, n.Tag, n.Value, n.Content, n.Alias, n.Style = kind, tag, value, nil, nil, 0
}

func (v *validator) walk(n *yaml.Node, t reflect.Type, path string, inList bool, depth int) {
	if depth > maxDepth {
		v.flag(n, "%s: nested too deeply", path)
		return
	}
	if n.Kind == yaml.AliasNode {
		target := deref(n)
		if target == nil {
			v.flag(n, "%s: alias chain too long", path)
			v.zeroFor(n, t)
			return
		}
		// An anchor used many times is walked once per type: problems
		// are reported at the anchor, and hostile alias fan-out stays cheap.
		k := walkKey{target, t}
		if v.walked[k] {
			return
		}
		v.walked[k] = true
		n = target
	}
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		// A null mapping value leaves the zero value, which required-field
		// checks catch; a null list item would be dropped by the decoder
		// and shift every index after it.
		if inList {
			v.flag(n, "%s: want %s, got null", path, want(t))
			v.zeroFor(n, t)
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			v.flag(n, "%s: want %s, got %s", path, want(t), describe(n))
			v.zeroFor(n, t)
			return
		}
		v.walkMapping(n, t, path, depth)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			v.flag(n, "%s: want %s, got %s", path, want(t), describe(n))
			v.zeroFor(n, t)
			return
		}
		for i, c := range n.Content {
			v.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), true, depth+1)
		}
	case reflect.String:
		// yaml.v3 keeps the text of any scalar for a string field, so an
		// unquoted 386 or 2025-07-04 is fine.
		if n.Kind != yaml.ScalarNode {
			v.flag(n, "%s: want %s, got %s", path, want(t), describe(n))
			v.zeroFor(n, t)
		}
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			v.flag(n, "%s: want %s, got %s", path, want(t), describe(n))
			v.zeroFor(n, t)
		}
	case reflect.Int, reflect.Int64:
		var x int64
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" || n.Decode(&x) != nil {
			v.flag(n, "%s: want %s, got %s", path, want(t), describe(n))
			v.zeroFor(n, t)
		}
	}
}

func (v *validator) zeroFor(n *yaml.Node, t reflect.Type) {
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		v.zero(n, yaml.MappingNode, "!!map", "")
	case reflect.Slice:
		v.zero(n, yaml.SequenceNode, "!!seq", "")
	case reflect.Bool:
		v.zero(n, yaml.ScalarNode, "!!bool", "false")
	case reflect.Int, reflect.Int64:
		v.zero(n, yaml.ScalarNode, "!!int", "0")
	default:
		v.zero(n, yaml.ScalarNode, "!!str", "")
	}
}

func (v *validator) walkMapping(n *yaml.Node, t reflect.Type, path string, depth int) {
	fields := yamlFields(t)
	seen := map[string]*yaml.Node{}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		keep := true
		switch {
		case isMerge(k):
			items := []*yaml.Node{val}
			if d := deref(val); d != nil && d.Kind == yaml.SequenceNode {
				items = d.Content
			}
			for _, it := range items {
				// Walk the item itself, not what it points to, so the walk
				// sees aliases and visits each anchor once.
				if src := deref(it); src == nil || src.Kind != yaml.MappingNode {
					v.flag(it, "%s: << must merge a mapping, got %s", orTop(path), describe(src))
					keep = false
					continue
				}
				v.walk(it, t, path, false, depth+1)
			}
		case k.Kind != yaml.ScalarNode:
			v.flag(k, "%s: keys must be plain names, got %s", orTop(path), describe(k))
			keep = false
		default:
			ft, ok := fields.types[k.Value]
			if !ok {
				v.flag(k, "unknown key %q in %s%s", k.Value, orTop(path), suggest(k.Value, fields.names))
				keep = false
				break
			}
			if first := seen[k.Value]; first != nil {
				v.flag(k, "duplicate key %q in %s (first at line %d)", k.Value, orTop(path), first.Line)
				keep = false
				break
			}
			seen[k.Value] = k
			v.walk(val, ft, join(path, k.Value), false, depth+1)
		}
		if keep {
			kept = append(kept, k, val)
		}
	}
	if v.repair {
		// Unknown and duplicate keys go: yaml.v3 rejects duplicates, and
		// merges of non-mappings, when decoding.
		n.Content = kept
	}
}

type fieldSet struct {
	types map[string]reflect.Type
	names []string
}

// yamlFields lists the YAML keys of a struct from its yaml tags.
func yamlFields(t reflect.Type) fieldSet {
	fs := fieldSet{types: map[string]reflect.Type{}}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.types[name] = f.Type
		fs.names = append(fs.names, name)
	}
	return fs
}

// SchemaKeys lists every key the matrix schema accepts as dotted paths
// ("targets[].translation.lto"), in schema order. Docs and tests use it.
func SchemaKeys() []string {
	var out []string
	var rec func(t reflect.Type, prefix string, depth int)
	rec = func(t reflect.Type, prefix string, depth int) {
		if depth > 10 {
			return
		}
		for t.Kind() == reflect.Ptr {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return
		}
		fs := yamlFields(t)
		for _, name := range fs.names {
			ft := fs.types[name]
			key := join(prefix, name)
			out = append(out, key)
			for ft.Kind() == reflect.Ptr {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Slice {
				key += "[]"
				ft = ft.Elem()
			}
			rec(ft, key, depth+1)
		}
	}
	rec(reflect.TypeOf(Matrix{}), "", 0)
	return out
}

func want(t reflect.Type) string {
	if t.Kind() == reflect.Ptr {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	default:
		return "a string"
	}
}

func describe(n *yaml.Node) string {
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		s := n.Value
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return strconv.Quote(s)
	}
	return "an empty document"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// suggest names the closest known key for a likely typo, or lists them.
func suggest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return " (known: " + strings.Join(known, ", ") + ")"
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ---- positions ----

// find walks path (string keys, int list indexes) from the document root.
// It returns the node reached and whether the whole path exists; when it
// does not, the node is the deepest one that does, so a missing key is
// reported at the mapping that lacks it.
func (v *validator) find(path ...any) (*yaml.Node, bool) {
	if v.doc == nil || len(v.doc.Content) == 0 {
		return nil, false
	}
	// Aliases are followed to navigate, but the node returned is the one
	// written at the path, so a problem shows at an alias's use.
	n := v.doc.Content[0]
	for _, p := range path {
		d := deref(n)
		if d == nil {
			return n, false
		}
		var next *yaml.Node
		switch p := p.(type) {
		case string:
			next = mappingValue(d, p)
		case int:
			if d.Kind == yaml.SequenceNode && p >= 0 && p < len(d.Content) {
				next = d.Content[p]
			}
		}
		if next == nil {
			return n, false
		}
		n = next
	}
	return n, true
}

// at is the node at path, or nil.
func (v *validator) at(path ...any) *yaml.Node {
	if n, ok := v.find(path...); ok {
		return n
	}
	return nil
}

// near is the node at path or its deepest existing ancestor.
func (v *validator) near(path ...any) *yaml.Node {
	n, _ := v.find(path...)
	return n
}

// targetAt finds a target's key, falling back to defaults.target where
// the value is inherited, then to the target itself.
func (v *validator) targetAt(i int, path ...any) *yaml.Node {
	if n := v.at(append([]any{"targets", i}, path...)...); n != nil {
		return n
	}
	if n := v.at(append([]any{"defaults", "target"}, path...)...); n != nil {
		return n
	}
	return v.near(append([]any{"targets", i}, path...)...)
}

func lineOf(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	return fmt.Sprintf(" (first at line %d)", n.Line)
}

// ---- semantic checks ----

func (v *validator) check(m *Matrix) {
	switch {
	case v.doc != nil && v.at("schema") == nil && m.Schema == 0:
		v.report(v.near("schema"), "schema is missing (want schema: 1)")
	case m.Schema != 1:
		v.report(v.near("schema"), "schema %d is not supported (want 1)", m.Schema)
	}

	targets := map[string]int{}
	v.checkTargets(m, targets)
	v.checkReleases(m, targets)

	switch {
	case m.DefaultRelease == "":
		v.report(v.near("default_release"), "default_release is missing")
	default:
		if _, err := m.Release(m.DefaultRelease); err != nil {
			v.report(v.near("default_release"), "default_release %q is not a release (have: %s)", m.DefaultRelease, strings.Join(m.releaseNames(), ", "))
		}
	}
}

func (v *validator) checkTargets(m *Matrix, byName map[string]int) {
	if len(m.Targets) == 0 {
		v.report(v.near("targets"), "targets: the matrix has no targets")
	}
	platforms := map[string]int{}
	pairs := map[IndexPlatform]int{}
	for i := range m.Targets {
		t := &m.Targets[i]
		label := t.Name
		if label == "" {
			label = fmt.Sprintf("targets[%d]", i)
		}
		required := []struct {
			key, val string
		}{{"name", t.Name}, {"os", t.OS}, {"arch", t.Arch}, {"platform", t.Platform}, {"format", t.Format}, {"builder", t.Builder}, {"runner", t.Runner}}
		for _, r := range required {
			if r.val == "" {
				v.report(v.targetAt(i, r.key), "target %s: %s is required", label, r.key)
			}
		}
		if t.VersionsJSON.Arch == "" {
			v.report(v.targetAt(i, "versions_json", "arch"), "target %s: versions_json.arch is required", label)
		}
		if t.VersionsJSON.Platform == "" {
			v.report(v.targetAt(i, "versions_json", "platform"), "target %s: versions_json.platform is required", label)
		}

		if t.Name != "" {
			if !targetNameRE.MatchString(t.Name) {
				v.report(v.targetAt(i, "name"), "target name %q: use lowercase letters, digits, '.', '_' and '-'", t.Name)
			}
			if first, dup := byName[t.Name]; dup {
				v.report(v.targetAt(i, "name"), "duplicate target %q%s", t.Name, lineOf(v.at("targets", first, "name")))
			} else {
				byName[t.Name] = i
			}
		}
		if t.OS != "" && !slices.Contains(targetOSes, t.OS) {
			v.report(v.targetAt(i, "os"), "target %s: os %q is not one of %s", label, t.OS, strings.Join(targetOSes, ", "))
		}
		if t.Platform != "" {
			if first, dup := platforms[t.Platform]; dup {
				v.report(v.targetAt(i, "platform"), "target %s: platform %q is also target %s's: their archives would have the same names", label, t.Platform, m.Targets[first].Name)
			} else {
				platforms[t.Platform] = i
			}
		}
		if t.VersionsJSON.Arch != "" && t.VersionsJSON.Platform != "" {
			if first, dup := pairs[t.VersionsJSON]; dup {
				v.report(v.targetAt(i, "versions_json"), "target %s: versions_json (%s, %s) is also target %s's", label, t.VersionsJSON.Arch, t.VersionsJSON.Platform, m.Targets[first].Name)
			} else {
				pairs[t.VersionsJSON] = i
			}
			if wantP := indexPlatforms[t.OS]; wantP != nil && !slices.Contains(wantP, t.VersionsJSON.Platform) {
				v.report(v.targetAt(i, "versions_json", "platform"), "target %s: versions_json.platform %q does not fit os %s (want %s)", label, t.VersionsJSON.Platform, t.OS, strings.Join(wantP, " or "))
			}
		}
		if t.Format != "" {
			switch {
			case !slices.Contains(archiveFormats, t.Format):
				v.report(v.targetAt(i, "format"), "target %s: format %q is not one of %s", label, t.Format, strings.Join(archiveFormats, ", "))
			case t.OS == "windows" && isTar(t.Format):
				if n := v.at("targets", i, "format"); n != nil {
					v.report(n, "target %s: windows targets ship zip, not %s", label, t.Format)
				} else {
					v.report(v.targetAt(i, "os"), "target %s: windows targets ship zip, but it inherits format %s from defaults (set format: zip)", label, t.Format)
				}
			}
		}
		if t.Builder != "" && !builderRE.MatchString(t.Builder) {
			v.report(v.targetAt(i, "builder"), "target %s: builder %q is not host, bwrap, emulated or image:REF", label, t.Builder)
		}
		if t.Translation.MakeJobs < 0 {
			v.report(v.targetAt(i, "translation", "make_jobs"), "target %s: translation.make_jobs must be 0 (one per core) or more", label)
		}
		if t.Translation.MinMemoryGB < 0 {
			v.report(v.targetAt(i, "translation", "min_memory_gb"), "target %s: translation.min_memory_gb must not be negative", label)
		}
	}
}

// indexPlatforms are the versions.json platforms each OS may use.
var indexPlatforms = map[string][]string{
	"linux":   {"linux"},
	"darwin":  {"darwin"},
	"windows": {"win64", "win32"},
}

func (v *validator) checkReleases(m *Matrix, targets map[string]int) {
	if len(m.Releases) == 0 {
		v.report(v.near("releases"), "releases: the matrix has no releases")
	}
	names := map[string]int{}
	latest := map[string]int{}
	for i := range m.Releases {
		r := &m.Releases[i]
		at := func(path ...any) *yaml.Node { return v.at(append([]any{"releases", i}, path...)...) }
		near := func(path ...any) *yaml.Node { return v.near(append([]any{"releases", i}, path...)...) }
		label := r.Name
		if label == "" {
			label = fmt.Sprintf("releases[%d]", i)
		}
		for _, req := range []struct{ key, val string }{{"name", r.Name}, {"pypy_version", r.PyPyVersion}, {"python_version", r.PythonVersion}, {"date", r.Date}, {"vm", r.VM}} {
			if req.val == "" {
				v.report(near(req.key), "release %s: %s is required", label, req.key)
			}
		}
		if r.Name != "" {
			if first, dup := names[r.Name]; dup {
				v.report(near("name"), "duplicate release %q%s", r.Name, lineOf(v.at("releases", first, "name")))
			} else {
				names[r.Name] = i
			}
		}
		pypyOK := r.PyPyVersion != "" && pypyVersionRE.MatchString(r.PyPyVersion)
		if r.PyPyVersion != "" && !pypyOK {
			v.report(near("pypy_version"), "release %s: pypy_version %q is not a PyPy version (want X.Y.Z or X.Y.ZrcN, e.g. 7.3.20)", label, r.PyPyVersion)
		}
		pythonOK := r.PythonVersion != "" && pythonVersionRE.MatchString(r.PythonVersion)
		if r.PythonVersion != "" && !pythonOK {
			v.report(near("python_version"), "release %s: python_version %q is not X.Y.Z (e.g. 3.11.13)", label, r.PythonVersion)
		}
		if pypyOK && pythonOK && r.Name != "" {
			if want := "pypy" + r.PythonShort() + "-v" + r.PyPyVersion; r.Name != want {
				v.report(near("name"), "release name %q does not match its versions: want %q, as upstream names its archives", r.Name, want)
			}
		}
		if pypyOK && r.Stable && strings.ContainsAny(strings.SplitN(r.PyPyVersion, ".", 3)[2], "abrc") {
			v.report(near("stable"), "release %s: a pre-release (%s) cannot be stable", label, r.PyPyVersion)
		}
		if r.Date != "" {
			if _, err := time.Parse("2006-01-02", r.Date); err != nil || len(r.Date) != 10 {
				v.report(near("date"), "release %s: date %q is not YYYY-MM-DD", label, r.Date)
			}
		}
		switch {
		case r.SourceDateEpoch == 0:
			v.report(near("source_date_epoch"), "release %s: source_date_epoch is required (archives' mtime)", label)
		case r.SourceDateEpoch < 0:
			v.report(near("source_date_epoch"), "release %s: source_date_epoch must be positive", label)
		}
		if r.VM != "" && !slices.Contains(vmKinds, r.VM) {
			v.report(near("vm"), "release %s: vm %q is not one of %s", label, r.VM, strings.Join(vmKinds, ", "))
		}
		v.checkSource(i, r, label)
		v.checkFormats(r.Formats, label, "releases", i, "formats")

		if r.Latest && pythonOK {
			if first, dup := latest[r.PythonShort()]; dup {
				v.report(near("latest"), "releases %s and %s both claim latest for Python %s", m.Releases[first].Name, label, r.PythonShort())
			} else {
				latest[r.PythonShort()] = i
			}
		}
		if len(r.Targets) == 0 {
			v.report(near("targets"), "release %s: targets: the release ships no targets", label)
		}
		v.checkReleaseTargets(m, i, r, label, targets)
		v.checkDebian(m, i, r, label, targets)
		v.checkWheels(i, r, label)
		for j, w := range r.Ensurepip {
			wl := fmt.Sprintf("release %s: ensurepip[%d]", label, j)
			if w.Name == "" {
				v.report(near("ensurepip", j, "name"), "%s: name is required", wl)
			}
			if w.Version == "" {
				v.report(near("ensurepip", j, "version"), "%s: version is required", wl)
			}
			v.checkSHA256(w.SHA256, wl, "releases", i, "ensurepip", j, "sha256")
			if w.Deb != "" && !hasDeb(r, w.Deb) {
				v.report(at("ensurepip", j, "deb"), "%s: deb %q is not one of the release's debian packages", wl, w.Deb)
			}
			if r.VM == "translate" && (w.Deb != "" || w.URL != "") {
				v.report(near("ensurepip", j), "%s: a translated release's wheels are the ones its source bundles: pin name, version and sha256 only", wl)
			}
			if w.Tag != "" && !wheelTagRE.MatchString(w.Tag) {
				v.report(at("ensurepip", j, "tag"), "%s: tag %q is not a pure-Python wheel tag (py3-none-any, py2.py3-none-any)", wl, w.Tag)
			}
			if !wheelPartRE.MatchString(w.Name) || !wheelPartRE.MatchString(w.Version) {
				v.report(near("ensurepip", j), "%s: name and version must be plain (letters, digits, . and _)", wl)
			}
		}
	}
}

func hasDeb(r *Release, name string) bool {
	return r.Debian != nil && slices.ContainsFunc(r.Debian.Packages, func(p DebPackage) bool { return p.Name == name })
}

func (v *validator) checkSource(i int, r *Release, label string) {
	if r.Source.Git == nil && r.Source.Archive == nil {
		v.report(v.near("releases", i, "source"), "release %s: source needs git or archive", label)
	}
	g := r.Source.Git
	if g != nil && g.URL == "" {
		v.report(v.near("releases", i, "source", "git", "url"), "release %s: source.git.url is required", label)
	}
	if g != nil {
		// A translated release builds from exactly one tree: the commit
		// and tree pins are checked after every clone, so a moved tag or a
		// dishonest mirror fails before translation.
		for _, pin := range []struct{ key, val string }{{"commit", g.Commit}, {"tree", g.Tree}} {
			switch {
			case pin.val == "" && r.VM == "translate":
				v.report(v.near("releases", i, "source", "git", pin.key), "release %s: a translated release must pin source.git.%s (40 hex digits)", label, pin.key)
			case pin.val != "" && !gitObjectRE.MatchString(pin.val):
				v.report(v.near("releases", i, "source", "git", pin.key), "release %s: source.git.%s %q is not 40 lowercase hex digits", label, pin.key, pin.val)
			}
		}
	}
	if r.VM == "translate" && g == nil {
		v.report(v.near("releases", i, "source"), "release %s: a translated release needs source.git with its commit and tree pinned", label)
	}
	if a := r.Source.Archive; a != nil {
		v.checkInput(a, "release "+label+": source.archive", "releases", i, "source", "archive")
		if r.Name != "" && a.File != "" && !isSrcArchiveName(r.Name, a.File) {
			v.report(v.near("releases", i, "source", "archive", "file"), "release %s: source.archive.file %q is not named %s-src.<format> (tar.gz, tar.bz2, …)", label, a.File, r.Name)
		}
	}
}

// isSrcArchiveName reports whether file is upstream's name for the
// release's source archive in a format pypyctl writes.
func isSrcArchiveName(release, file string) bool {
	rest, ok := strings.CutPrefix(file, release+"-src.")
	return ok && slices.Contains(archiveFormats, rest)
}

func (v *validator) checkInput(in *Input, label string, path ...any) {
	if in.URL == "" && in.File == "" {
		v.report(v.near(path...), "%s: needs url or file", label)
	}
	v.checkSHA256(in.SHA256, label, append(path, "sha256")...)
}

func (v *validator) checkSHA256(s, label string, path ...any) {
	switch {
	case s == "":
		v.report(v.near(path...), "%s: sha256 is required", label)
	case !sha256RE.MatchString(s):
		v.report(v.near(path...), "%s: sha256 %q is not 64 lowercase hex digits", label, s)
	}
}

// checkFormats checks a list of formats; path leads to the list.
func (v *validator) checkFormats(formats []string, label string, path ...any) {
	seen := map[string]bool{}
	for k, f := range formats {
		n := v.near(append(path, k)...)
		switch {
		case !slices.Contains(archiveFormats, f):
			v.report(n, "release %s: format %q is not one of %s", label, f, strings.Join(archiveFormats, ", "))
		case seen[f]:
			v.report(n, "release %s: format %s is listed twice", label, f)
		}
		seen[f] = true
	}
}

func (v *validator) checkReleaseTargets(m *Matrix, i int, r *Release, label string, targets map[string]int) {
	seen := map[string]bool{}
	for j := range r.Targets {
		rt := &r.Targets[j]
		nameNode := v.near("releases", i, "targets", j, "name")
		if rt.Name == "" {
			v.report(nameNode, "release %s: targets[%d]: name is required", label, j)
			continue
		}
		ti, known := targets[rt.Name]
		if !known {
			v.report(nameNode, "release %s: unknown target %q (targets: %s)", label, rt.Name, strings.Join(slices.Sorted(maps.Keys(targets)), ", "))
		}
		if seen[rt.Name] {
			v.report(nameNode, "release %s: target %s is listed twice", label, rt.Name)
		}
		seen[rt.Name] = true
		v.checkFormats(rt.Formats, label+" target "+rt.Name, "releases", i, "targets", j, "formats")
		v.checkPostVM(rt.Post, fmt.Sprintf("release %s: target %s: post", label, rt.Name), "releases", i, "targets", j, "post")
		if rt.Upstream != nil {
			v.checkInput(rt.Upstream, fmt.Sprintf("release %s: target %s: upstream", label, rt.Name), "releases", i, "targets", j, "upstream")
		} else if r.VM == "upstream" {
			v.report(nameNode, "release %s: vm upstream needs an upstream archive for target %s", label, rt.Name)
		}
		if !known || m.Targets[ti].OS != "windows" {
			continue
		}
		// Only formats the release sets here: a target's own default was
		// checked with the target.
		if len(rt.Formats) > 0 {
			for k, f := range rt.Formats {
				if isTar(f) {
					v.report(v.near("releases", i, "targets", j, "formats", k), "release %s: windows target %s cannot ship %s (use zip)", label, rt.Name, f)
				}
			}
		} else {
			for k, f := range r.Formats {
				if isTar(f) {
					v.report(v.near("releases", i, "formats", k), "release %s: windows target %s cannot ship %s (give it formats: [zip])", label, rt.Name, f)
				}
			}
		}
	}
}

func (v *validator) checkDebian(m *Matrix, i int, r *Release, label string, targets map[string]int) {
	if r.Debian != nil {
		if r.Debian.Suite == "" {
			v.report(v.near("releases", i, "debian", "suite"), "release %s: debian.suite is required", label)
		}
		seen := map[[2]string]bool{}
		for j, p := range r.Debian.Packages {
			pl := fmt.Sprintf("release %s: debian.packages[%d]", label, j)
			for _, req := range []struct{ key, val string }{{"name", p.Name}, {"version", p.Version}, {"arch", p.Arch}} {
				if req.val == "" {
					v.report(v.near("releases", i, "debian", "packages", j, req.key), "%s: %s is required", pl, req.key)
				}
			}
			v.checkSHA256(p.SHA256, pl, "releases", i, "debian", "packages", j, "sha256")
			k := [2]string{p.Name, p.Arch}
			if p.Name != "" && seen[k] {
				v.report(v.near("releases", i, "debian", "packages", j, "name"), "%s: %s for %s is pinned twice", pl, p.Name, p.Arch)
			}
			seen[k] = true
		}
	}
	if r.VM != "debian" {
		return
	}
	if r.Debian == nil || len(r.Debian.Packages) == 0 {
		v.report(v.near("releases", i, "debian", "packages"), "release %s: vm debian needs debian.packages", label)
		return
	}
	for j, rt := range r.Targets {
		ti, ok := targets[rt.Name]
		if !ok {
			continue
		}
		t := &m.Targets[ti]
		n := v.near("releases", i, "targets", j, "name")
		if t.DebianArch == "" {
			v.report(n, "release %s: target %s has no debian_arch, so a vm: debian release cannot ship it", label, rt.Name)
			continue
		}
		own := false
		for _, p := range r.Debian.Packages {
			own = own || p.Arch == t.DebianArch
		}
		if !own {
			v.report(n, "release %s: no debian.packages for %s (target %s)", label, t.DebianArch, rt.Name)
		}
	}
}

func isTar(format string) bool { return strings.HasPrefix(format, "tar.") }

// ArchiveFormats are the archive formats a build can write.
func ArchiveFormats() []string { return slices.Clone(archiveFormats) }
