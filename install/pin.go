package install

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
)

// VersionFileName is the per-project pin file uv and pyenv read too.
const VersionFileName = ".python-version"

// GlobalVersionFile is the global default `pin --global` writes: the same
// format, in the config dir (where uv keeps its own global pin).
func GlobalVersionFile(configDir string) string { return filepath.Join(configDir, VersionFileName) }

// FindVersionFile looks for .python-version in dir and its parents.
func FindVersionFile(dir string) (string, bool) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", false
	}
	for {
		p := filepath.Join(dir, VersionFileName)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// pypyPinRE is pypyctl's own "3.11@7.3.20": a PyPy version makes it a
// PyPy pin even without the pypy prefix.
var pypyPinRE = regexp.MustCompile(`^\d+(?:\.\d+){0,2}@(?:\d+\.\d+\.\d+(?:[a-z]+\d*)?|nightly)$`)

// namesPyPy reports whether a .python-version line asks for PyPy. The
// file is shared with pyenv and uv, for which a bare "3.12" or "3.11.7"
// means CPython (pyenv) or any interpreter (uv); since pypyctl installs
// only PyPy, only lines that say PyPy are its pins: "pypy3.11",
// "pypy@3.11", pyenv's "pypy3.9-7.3.11", uv's "pypy-3.11.13-…", and
// pypyctl's "3.11@7.3.20".
func namesPyPy(line string) bool {
	l := strings.ToLower(line)
	return strings.HasPrefix(l, "pypy") || pypyPinRE.MatchString(l)
}

// maxVersionFile bounds .python-version: a pin file is a few lines; a
// huge one is a mistake or an attack.
const maxVersionFile = 64 << 10

// ReadVersionFile returns the PyPy requests in a version file, one per
// line, blank lines and # comments skipped. Lines that name no PyPy (a
// bare "3.12", pyenv's "system", "cpython-3.12") or that pypyctl cannot
// read are skipped, each with a note, so a file shared with CPython
// tools still works; a file with no PyPy line yields no requests. A file
// over 64 KiB is an error.
func ReadVersionFile(path string) (reqs []Request, notes []string, err error) {
	data, err := readLocal(path, maxVersionFile)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	if err != nil {
		return nil, nil, err
	}
	return parseVersionFile(path, data)
}

// noteLine is a skipped line for a note: quoted (it is someone else's
// text, maybe with terminal escapes) and cut short.
func noteLine(line string) string {
	const max = 80
	// Cut at a byte offset, not through []rune: a conversion would turn
	// invalid bytes into U+FFFD, which Quote prints as it is, instead of
	// leaving them for Quote to escape as \x…
	n := 0
	for i := range line {
		if n == max {
			return Quote(line[:i]) + "…"
		}
		n++
	}
	return Quote(line)
}

func parseVersionFile(path string, data []byte) (reqs []Request, notes []string, err error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !namesPyPy(line) {
			notes = append(notes, fmt.Sprintf("%s:%d: %s names no PyPy, skipped (pin PyPy as pypy3.11 or pypy@3.11)", path, n, noteLine(line)))
			continue
		}
		r, err := ParseRequest(line)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s:%d: %s is not a PyPy request, skipped (pin PyPy as pypy3.11, pypy@3.11 or 3.11@7.3.20)", path, n, noteLine(line)))
			continue
		}
		reqs = append(reqs, r)
	}
	if err := sc.Err(); err != nil {
		// A line too long to read is reported, not taken for an empty file.
		return nil, nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
	}
	if len(reqs) == 0 && len(notes) == 0 {
		notes = append(notes, path+" is empty, skipped")
	}
	return reqs, notes, nil
}

// WriteVersionFile writes a pin (see Request.PinString) to path.
func WriteVersionFile(path string, r Request) (string, error) {
	line := r.PinString()
	if err := fsutil.WriteFileAtomic(path, []byte(line+"\n"), 0o644); err != nil {
		return "", err
	}
	return line, nil
}

// Selection is which installed PyPy a directory selects, and why.
type Selection struct {
	Installed
	Request string `json:"request"`
	// Source is the .python-version that chose it, "global" for the
	// global default, "request" for an explicit request, "newest" when
	// nothing was pinned.
	Source string `json:"source"`
	// Notes say which pins were skipped on the way (lines naming no PyPy).
	Notes []string `json:"notes,omitempty"`
}

// Select resolves the PyPy to run in dir: the explicit request when given,
// else the nearest .python-version up from dir, else the global default,
// else the best installed version. Each source's first request that an
// installed version satisfies wins; a pin naming nothing installed is an
// error that says which file asked for it. A file with no PyPy line (a
// CPython pin for pyenv or uv) is passed over with a note.
func Select(l Layout, configDir, dir string, explicit *Request) (Selection, error) {
	if explicit != nil {
		in, err := FindInstalled(l, *explicit)
		return Selection{Installed: in, Request: explicit.Raw, Source: "request"}, err
	}
	files := []struct{ path, source string }{}
	if p, ok := FindVersionFile(dir); ok {
		files = append(files, struct{ path, source string }{p, p})
	}
	if g := GlobalVersionFile(configDir); fileExists(g) {
		files = append(files, struct{ path, source string }{g, "global"})
	}
	var notes []string
	for _, f := range files {
		reqs, fnotes, err := ReadVersionFile(f.path)
		if err != nil {
			return Selection{}, err
		}
		notes = append(notes, fnotes...)
		if len(reqs) == 0 {
			continue
		}
		var firstErr error
		for _, r := range reqs {
			in, err := FindInstalled(l, r)
			if err == nil {
				return Selection{Installed: in, Request: r.Raw, Source: f.source, Notes: notes}, nil
			}
			if firstErr == nil {
				firstErr = err
			}
		}
		return Selection{}, fmt.Errorf("%s: %w", f.path, firstErr)
	}
	all, err := ListInstalled(l)
	if err != nil {
		return Selection{}, err
	}
	for _, in := range all {
		if in.Executable != "" {
			return Selection{Installed: in, Request: "", Source: "newest", Notes: notes}, nil
		}
	}
	msg := "no PyPy is installed (run `pypyctl install 3.11`)"
	if len(notes) > 0 {
		msg += "; " + strings.Join(notes, "; ")
	}
	return Selection{Notes: notes}, errors.New(msg)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

// PinnedRequest is what `install` with no REQUEST installs: the first
// PyPy line of the nearest .python-version, else of the global pin. Files
// naming no PyPy are passed over with notes, as Select does. ok is false
// when nothing is pinned.
func PinnedRequest(configDir, dir string) (r Request, source string, notes []string, ok bool, err error) {
	var files []string
	if p, found := FindVersionFile(dir); found {
		files = append(files, p)
	}
	if g := GlobalVersionFile(configDir); fileExists(g) {
		files = append(files, g)
	}
	for _, f := range files {
		reqs, fnotes, err := ReadVersionFile(f)
		if err != nil {
			return Request{}, "", notes, false, err
		}
		notes = append(notes, fnotes...)
		if len(reqs) > 0 {
			return reqs[0], f, notes, true, nil
		}
	}
	return Request{}, "", notes, false, nil
}
