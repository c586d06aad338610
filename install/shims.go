package install

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// shimMarker is in every shim, so removal never deletes files pypyctl did
// not write.
const shimMarker = "# pypyctl shim"

var shimNameRE = regexp.MustCompile(`^pypy(\d(?:\.\d+)?)?$`)

// shimScript is a POSIX sh shim: it asks pypyctl which interpreter this
// directory selects, then execs it, so exit status and signals are the
// interpreter's own.
func shimScript(pypyctl, name string) string {
	return fmt.Sprintf(`#!/bin/sh
%s for %s: runs the PyPy that .python-version selects here.
exe=$(%s which --shim %s) || exit $?
exec "$exe" "$@"
`, shimMarker, name, shellQuote(pypyctl), shellQuote(name))
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// PathLine is the shell line that puts the shims first on PATH.
func PathLine(l Layout) string { return fmt.Sprintf(`export PATH="%s:$PATH"`, l.Shims()) }

// WriteShims writes shims named pypy, pypy3 and pypyX.Y for every
// installed Python X.Y, calling the pypyctl at pypyctlPath, and removes
// shims of versions no longer installed. It returns the shim names.
func WriteShims(l Layout, pypyctlPath string) ([]string, error) {
	all, err := ListInstalled(l)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{"pypy": true, "pypy3": true}
	for _, in := range all {
		if p, ok := index.VersionParts(in.PythonVersion); ok && len(p) >= 2 {
			want[fmt.Sprintf("pypy%d.%d", p[0], p[1])] = true
			if p[0] == 2 {
				want["pypy2"] = true
			}
		}
	}
	if err := os.MkdirAll(l.Shims(), 0o755); err != nil {
		return nil, err
	}
	existing, _ := shimNames(l)
	for _, n := range existing {
		if !want[n] {
			os.Remove(filepath.Join(l.Shims(), n))
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
		if err := fsutil.WriteFileAtomic(filepath.Join(l.Shims(), n), []byte(shimScript(pypyctlPath, n)), 0o755); err != nil {
			return nil, err
		}
	}
	sort.Strings(names)
	return names, nil
}

// RefreshShims rewrites the shims if they are installed (after an install
// or uninstall changed the set of Python versions).
func RefreshShims(l Layout, pypyctlPath string) error {
	if _, err := os.Stat(l.Shims()); err != nil {
		return nil
	}
	_, err := WriteShims(l, pypyctlPath)
	return err
}

// RemoveShims deletes the shims pypyctl wrote and, if then empty, the
// shims directory.
func RemoveShims(l Layout) ([]string, error) {
	names, err := shimNames(l)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := os.Remove(filepath.Join(l.Shims(), n)); err != nil {
			return nil, err
		}
	}
	os.Remove(l.Shims()) // only succeeds when empty
	return names, nil
}

// shimNames lists the files in shims/ that pypyctl wrote.
func shimNames(l Layout) ([]string, error) {
	ents, err := os.ReadDir(l.Shims())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(l.Shims(), e.Name()))
		if err == nil && strings.Contains(string(data), shimMarker) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// ShimTarget is the executable a shim named name runs in dir: the
// selected version (see Select) when its Python fits the name (pypy3 needs
// a 3.x, pypy3.10 a 3.10), else the best installed version that fits; in
// it bin/<name> when the tree has it, else its interpreter.
func ShimTarget(l Layout, configDir, dir, name string) (string, error) {
	m := shimNameRE.FindStringSubmatch(name)
	if m == nil {
		return "", fmt.Errorf("%q is not a pypy shim name", name)
	}
	prefix := m[1]
	sel, err := Select(l, configDir, dir, nil)
	if err != nil && prefix == "" {
		return "", err
	}
	in := sel.Installed
	if err != nil || (prefix != "" && !index.HasPrefix(in.PythonVersion, prefix)) {
		found, ferr := FindInstalled(l, Request{Raw: "pypy" + prefix, Python: prefix})
		if ferr != nil {
			if err != nil {
				return "", err
			}
			return "", fmt.Errorf("%s selects %s, which has no %s, and no other installed PyPy has: %w", sel.Source, sel.Name, name, ferr)
		}
		in = found
	}
	if p := filepath.Join(in.Dir, "bin", name); fileExists(p) {
		return p, nil
	}
	if in.Executable == "" {
		return "", fmt.Errorf("%s has no interpreter", in.Dir)
	}
	return in.Executable, nil
}
