package install

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// ReadVersionFile returns the requests in a version file: one per line,
// blank lines and # comments skipped. Lines pypyctl cannot read (say a
// CPython-only "cpython@3.12" or pyenv's "system") are skipped, so a file
// shared with other tools still works; none readable is an error.
func ReadVersionFile(path string) ([]Request, error) {
	// A pin file is a few lines; a huge one is a mistake or an attack.
	data, err := readLocal(path, maxVersionFile)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
	}
	if err != nil {
		return nil, err
	}
	return parseVersionFile(path, data)
}

// maxVersionFile bounds .python-version.
const maxVersionFile = 64 << 10

func parseVersionFile(path string, data []byte) ([]Request, error) {
	var out []Request
	var skipped []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		r, err := ParseRequest(line)
		if err != nil {
			skipped = append(skipped, Quote(line))
			continue
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		if len(skipped) > 0 {
			return nil, fmt.Errorf("%s names no PyPy (%s)", path, strings.Join(skipped, ", "))
		}
		return nil, fmt.Errorf("%s is empty", path)
	}
	return out, nil
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
}

// Select resolves the PyPy to run in dir: the explicit request when given,
// else the nearest .python-version up from dir, else the global default,
// else the best installed version. Each source's first request that an
// installed version satisfies wins; a pin naming nothing installed is an
// error that says which file asked for it.
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
	for _, f := range files {
		reqs, err := ReadVersionFile(f.path)
		if err != nil {
			return Selection{}, err
		}
		var firstErr error
		for _, r := range reqs {
			in, err := FindInstalled(l, r)
			if err == nil {
				return Selection{Installed: in, Request: r.Raw, Source: f.source}, nil
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
			return Selection{Installed: in, Request: "", Source: "newest"}, nil
		}
	}
	return Selection{}, errors.New("no PyPy is installed (run `pypyctl install 3.11`)")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
