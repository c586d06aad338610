package install

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/pypyctl/pypyctl/publish/index"
)

// Request is what the user asked for, parsed. The zero Request matches
// any stable PyPy.
type Request struct {
	Raw string `json:"request"`
	// Python is a Python version or prefix: "3", "3.11", "3.9.16".
	Python string `json:"python,omitempty"`
	// PyPy is an exact PyPy version ("7.3.20", "7.3.12rc1") or "nightly".
	// Empty means the newest stable one.
	PyPy string `json:"pypy,omitempty"`
	// Filename asks for one archive by name.
	Filename string `json:"filename,omitempty"`
	// Name asks for one installed version by directory name.
	Name string `json:"name,omitempty"`
}

var (
	// pypy3.9-7.3.11 (pyenv's name), 3.9@7.3.11, 3.9-v7.3.11
	pinnedRE = regexp.MustCompile(`^(\d+(?:\.\d+){0,2})(?:@|-v?)(\d+\.\d+\.\d+(?:[a-z]+\d*)?|nightly)$`)
	// uv's download keys: pypy-3.11.13-linux-x86_64-gnu
	uvKeyRE = regexp.MustCompile(`^pypy-(\d+\.\d+(?:\.\d+)?)(?:-[a-z0-9_]+){0,3}$`)
)

// ParseRequest parses the request forms pypyctl accepts:
//
//	3.11  pypy3.11  pypy@3.11  3.9.16   a Python version or prefix
//	3.11@7.3.20  pypy3.11-7.3.20        and an exact PyPy version
//	latest  pypy  pypy@latest           the newest stable PyPy
//	nightly  3.11@nightly               nightly builds (never implied)
//	pypy3.11-v7.3.20-linux64.tar.bz2    one archive by file name
//	pypy3.11-v7.3.20-linux64            one installed version by name
//	pypy-3.11.13-linux-x86_64-gnu       a uv download key
func ParseRequest(s string) (Request, error) {
	r := Request{Raw: s}
	t := strings.TrimSpace(s)
	if t == "" {
		return r, fmt.Errorf("empty request: say which PyPy, e.g. 3.11, pypy3.11 or 3.11@7.3.20")
	}
	lower := strings.ToLower(t)
	switch lower {
	case "latest", "pypy", "pypy@latest", "pypy@", "pypy3@latest":
		if lower == "pypy3@latest" {
			r.Python = "3"
		}
		return r, nil
	case "nightly", "pypy@nightly":
		r.PyPy = index.Nightly
		return r, nil
	}
	if an, ok := index.ParseArchiveName(t); ok {
		r.Filename = t
		r.Python, r.PyPy = an.Python, an.PyPy
		return r, nil
	}
	if an, ok := index.ParseArchiveBase(t); ok {
		r.Name = t
		r.Python, r.PyPy = an.Python, an.PyPy
		return r, nil
	}
	if m := uvKeyRE.FindStringSubmatch(lower); m != nil {
		r.Python = m[1]
		return r, nil
	}
	v := strings.TrimPrefix(lower, "pypy@")
	v = strings.TrimPrefix(v, "pypy")
	if m := pinnedRE.FindStringSubmatch(v); m != nil {
		r.Python, r.PyPy = m[1], m[2]
	} else if rest, ok := strings.CutSuffix(v, "@latest"); ok {
		r.Python = rest
	} else {
		r.Python = v
	}
	if r.Python != "" {
		parts, ok := index.VersionParts(r.Python)
		if !ok || index.IsPrerelease(r.Python) || len(parts) > 3 || parts[0] < 2 || parts[0] > 3 {
			return r, fmt.Errorf("%q is not a PyPy request: expected a Python version such as 3.11, pypy3.11, 3.11@7.3.20, latest or nightly", s)
		}
	}
	return r, nil
}

// String is the request in pypyctl's canonical spelling.
func (r Request) String() string {
	switch {
	case r.Filename != "":
		return r.Filename
	case r.Name != "":
		return r.Name
	case r.PyPy == index.Nightly && r.Python == "":
		return "nightly"
	case r.PyPy != "":
		return "pypy" + r.Python + "@" + r.PyPy
	case r.Python != "":
		return "pypy" + r.Python
	}
	return "pypy@latest"
}

// PinString is how `pin` writes the request into .python-version so that
// uv and pyenv read it too: "pypy3.11" (both read it), or pyenv's
// "pypy3.9-7.3.11" when a PyPy version is pinned (uv has no spelling for
// a PyPy version and reads that line as an error).
func (r Request) PinString() string {
	switch {
	case r.PyPy == index.Nightly:
		return "pypy" + r.Python + "@nightly"
	case r.PyPy != "":
		return "pypy" + r.Python + "-" + r.PyPy
	case r.Python != "":
		return "pypy" + r.Python
	}
	return "pypy"
}

// matchVersion reports whether an index entry satisfies the request
// (ignoring files). Without an explicit PyPy version only stable releases
// match.
func (r Request) matchVersion(v *index.Version) bool {
	if r.Python != "" && !index.HasPrefix(v.PythonVersion, r.Python) {
		return false
	}
	switch {
	case r.PyPy != "":
		return v.PyPyVersion == r.PyPy
	case r.Filename != "":
		return true
	}
	return v.Stable && !v.IsNightly() && !index.IsPrerelease(v.PyPyVersion)
}
