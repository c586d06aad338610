package index

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Nightly is the pypy_version of nightly entries.
const Nightly = "nightly"

// Index is a versions.json document: releases, newest first, nightlies last.
type Index []Version

// Version is one (pypy_version, python_version) entry of versions.json.
type Version struct {
	PyPyVersion   string `json:"pypy_version"`
	PythonVersion string `json:"python_version"`
	Stable        bool   `json:"stable"`
	LatestPyPy    bool   `json:"latest_pypy"`
	Date          string `json:"date,omitempty"`
	Files         []File `json:"files"`
}

// File is one downloadable archive of a Version. SHA256 is pypyctl's
// addition; pypy.org's own file has none and other readers ignore it.
type File struct {
	Filename    string `json:"filename"`
	Arch        string `json:"arch"`
	Platform    string `json:"platform"`
	DownloadURL string `json:"download_url"`
	SHA256      string `json:"sha256,omitempty"`
	// Size in bytes, when known: installs refuse to download more.
	Size int64 `json:"size,omitempty"`
}

// PlatformPair is the file's (arch, platform) pair.
func (f File) PlatformPair() Platform { return Platform{f.Arch, f.Platform} }

// IsNightly reports whether v is a nightly entry.
func (v *Version) IsNightly() bool { return v.PyPyVersion == Nightly }

// Parse reads a versions.json document.
func Parse(r io.Reader) (Index, error) {
	var ix Index
	dec := json.NewDecoder(r)
	if err := dec.Decode(&ix); err != nil {
		return nil, fmt.Errorf("versions.json: %s", JSONReason(err))
	}
	// One document: anything after it is corruption or an attack.
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("versions.json: data after the top-level array")
	}
	for i, v := range ix {
		if v.PyPyVersion == "" || v.PythonVersion == "" {
			return nil, fmt.Errorf("versions.json: entry %d lacks pypy_version or python_version", i)
		}
	}
	return ix, nil
}

// ReadFile reads a versions.json file; a missing file is an empty index.
func ReadFile(path string) (Index, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return Index{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ix, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

// Encode writes the index as indented JSON, URLs unescaped, with a
// trailing newline.
func (ix Index) Encode(w io.Writer) error {
	if ix == nil {
		ix = Index{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(ix); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// Find returns the entry for (pypy_version, python_version).
func (ix Index) Find(pypy, python string) (*Version, bool) {
	for i := range ix {
		if ix[i].PyPyVersion == pypy && ix[i].PythonVersion == python {
			return &ix[i], true
		}
	}
	return nil, false
}

// ConflictError says a merge would change something already published.
type ConflictError struct {
	What, Existing, New string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s: versions.json already has %s, the new release says %s", e.What, e.Existing, e.New)
}

// Merge adds v to the index and returns the result, normalised (see
// Normalize). A new (pypy_version, python_version) becomes a new entry. An
// existing release entry gains v's files: the same file name must carry
// the same sha256, and date and stability must agree, because published
// bytes and metadata never change. A nightly entry instead has its file
// for each (arch, platform, format) replaced, as nightlies roll forward.
func (ix Index) Merge(v Version) (Index, error) {
	out := make(Index, 0, len(ix)+1)
	for _, e := range ix {
		e.Files = append([]File(nil), e.Files...)
		out = append(out, e)
	}
	old, ok := out.Find(v.PyPyVersion, v.PythonVersion)
	if !ok {
		v.Files = append([]File(nil), v.Files...)
		out = append(out, v)
		return out.Normalize(), nil
	}
	id := v.PyPyVersion + "/" + v.PythonVersion
	if !v.IsNightly() {
		if old.Date != "" && v.Date != "" && old.Date != v.Date {
			return nil, &ConflictError{What: id, Existing: "date " + old.Date, New: "date " + v.Date}
		}
		if old.Stable != v.Stable {
			return nil, &ConflictError{What: id, Existing: fmt.Sprintf("stable=%v", old.Stable), New: fmt.Sprintf("stable=%v", v.Stable)}
		}
		if old.Date == "" {
			old.Date = v.Date
		}
	}
	for _, f := range v.Files {
		replaced := false
		for i := range old.Files {
			o := &old.Files[i]
			if o.Filename == f.Filename {
				if o.SHA256 != "" && f.SHA256 != "" && o.SHA256 != f.SHA256 {
					return nil, &ConflictError{What: id + " " + f.Filename, Existing: "sha256 " + o.SHA256, New: "sha256 " + f.SHA256}
				}
				*o = f
				replaced = true
				break
			}
			if v.IsNightly() && o.PlatformPair() == f.PlatformPair() && sameFormat(o.Filename, f.Filename) {
				*o = f
				replaced = true
				break
			}
		}
		if !replaced {
			old.Files = append(old.Files, f)
		}
	}
	return out.Normalize(), nil
}

func sameFormat(a, b string) bool {
	_, fa, _ := SplitFormat(a)
	_, fb, _ := SplitFormat(b)
	return fa == fb
}

// Normalize recomputes latest_pypy (per python_version, exactly the newest
// stable pypy_version is true; rc and nightly entries are false), sorts
// files by name and entries newest first: by pypy_version, then
// python_version, descending, with nightlies last as pypy.org lists them.
func (ix Index) Normalize() Index {
	newest := map[string]string{}
	for _, v := range ix {
		if !v.Stable || v.IsNightly() {
			continue
		}
		if cur, ok := newest[v.PythonVersion]; !ok || CompareVersions(v.PyPyVersion, cur) > 0 {
			newest[v.PythonVersion] = v.PyPyVersion
		}
	}
	for i := range ix {
		v := &ix[i]
		v.LatestPyPy = v.Stable && !v.IsNightly() && newest[v.PythonVersion] == v.PyPyVersion
		sort.SliceStable(v.Files, func(a, b int) bool { return v.Files[a].Filename < v.Files[b].Filename })
	}
	sort.SliceStable(ix, func(a, b int) bool {
		x, y := ix[a], ix[b]
		if x.IsNightly() != y.IsNightly() {
			return !x.IsNightly()
		}
		if c := CompareVersions(x.PyPyVersion, y.PyPyVersion); c != 0 {
			return c > 0
		}
		return CompareVersions(x.PythonVersion, y.PythonVersion) > 0
	})
	return ix
}

// Check returns the problems that make an index unfit to publish: a
// python_version with more or fewer than one latest_pypy among stable
// entries, duplicate entries, files without a name, URL or a known
// (arch, platform).
func (ix Index) Check() []string {
	var probs []string
	latest := map[string]int{}
	stable := map[string]bool{}
	seen := map[string]bool{}
	for _, v := range ix {
		id := v.PyPyVersion + "/" + v.PythonVersion
		if seen[id] {
			probs = append(probs, "duplicate entry "+id)
		}
		seen[id] = true
		if v.Stable && !v.IsNightly() {
			stable[v.PythonVersion] = true
		}
		if v.LatestPyPy {
			latest[v.PythonVersion]++
			if !v.Stable {
				probs = append(probs, id+": latest_pypy on an unstable entry")
			}
		}
		for _, f := range v.Files {
			if f.Filename == "" || f.DownloadURL == "" {
				probs = append(probs, id+": file without filename or download_url")
			}
			if !knownPair(f.PlatformPair()) {
				probs = append(probs, fmt.Sprintf("%s: %s has unknown arch/platform %s", id, f.Filename, f.PlatformPair()))
			}
		}
	}
	for py := range stable {
		if latest[py] != 1 {
			probs = append(probs, fmt.Sprintf("python_version %s has %d latest_pypy entries, want 1", py, latest[py]))
		}
	}
	sort.Strings(probs)
	return probs
}

func knownPair(p Platform) bool {
	for _, q := range suffixes {
		if q == p {
			return true
		}
	}
	return false
}

// JSONReason says what is wrong with a JSON document in its own terms
// (field, found, expected) instead of Go's ("cannot unmarshal object into
// Go value of type index.Index").
func JSONReason(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		want := "another type"
		switch te.Type.Kind() {
		case reflect.String:
			want = "a string"
		case reflect.Bool:
			want = "true or false"
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
			want = "a number"
		case reflect.Slice, reflect.Array:
			want = "an array"
		case reflect.Struct, reflect.Map:
			want = "an object"
		}
		where := "the document"
		if te.Field != "" {
			where = "field " + te.Field
		}
		return fmt.Sprintf("%s is a JSON %s where %s is expected (byte %d)", where, te.Value, want, te.Offset)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("not valid JSON at byte %d (%s)", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	}
	if errors.Is(err, io.EOF) {
		return "empty file, expected a JSON document"
	}
	if k, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return "unknown key " + k
	}
	return err.Error()
}
