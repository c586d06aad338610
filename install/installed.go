package install

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/publish/index"
)

// Layout is where installs live under the data dir.
type Layout struct{ Data string }

// Versions holds one directory per installed PyPy.
func (l Layout) Versions() string { return filepath.Join(l.Data, "versions") }

// Receipts holds <name>.json per installed PyPy: what came from where.
func (l Layout) Receipts() string { return filepath.Join(l.Data, "receipts") }

// Lock serialises installs and uninstalls.
func (l Layout) Lock() string { return filepath.Join(l.Data, "install.lock") }

// TrustedKeys holds the public keys installs require signatures from.
func (l Layout) TrustedKeys() string { return filepath.Join(l.Data, "trusted-keys") }

// Shims holds the pypy/pypy3/pypy3.X shims.
func (l Layout) Shims() string { return filepath.Join(l.Data, "shims") }

// tempPrefix starts the names of work directories inside versions/; they
// are hidden from listings and removed by the next install.
const tempPrefix = ".tmp-"

// Receipt records one install.
type Receipt struct {
	Name          string `json:"name"`
	PyPyVersion   string `json:"pypy_version"`
	PythonVersion string `json:"python_version"`
	Stable        bool   `json:"stable"`
	Filename      string `json:"filename"`
	URL           string `json:"url"`
	SHA256        string `json:"sha256"`
	Arch          string `json:"arch"`
	Platform      string `json:"platform"`
	Index         string `json:"index"`
	Signature     string `json:"signature"` // "verified by <key>" or "not required"
}

// Installed is one installed PyPy.
type Installed struct {
	Name          string `json:"name"`
	Dir           string `json:"dir"`
	PythonVersion string `json:"python_version"`
	PyPyVersion   string `json:"pypy_version"`
	Stable        bool   `json:"stable"`
	// Executable is the interpreter (bin/pypy3, bin/pypy for 2.7); empty
	// when the tree has none.
	Executable string   `json:"executable"`
	Receipt    *Receipt `json:"receipt,omitempty"`
}

func readReceipt(l Layout, name string) (*Receipt, error) {
	data, err := os.ReadFile(filepath.Join(l.Receipts(), name+".json"))
	if err != nil {
		return nil, err
	}
	var r Receipt
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("receipt of %s: %w", name, err)
	}
	return &r, nil
}

func writeReceipt(l Layout, r Receipt) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(l.Receipts(), r.Name+".json"), append(data, '\n'), 0o644)
}

// ListInstalled lists installed versions, best first: stable before
// pre-releases and nightlies, then the highest Python, then PyPy.
func ListInstalled(l Layout) ([]Installed, error) {
	ents, err := os.ReadDir(l.Versions())
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Installed
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		out = append(out, describe(l, e.Name()))
	}
	sortInstalled(out)
	return out, nil
}

func describe(l Layout, name string) Installed {
	in := Installed{Name: name, Dir: filepath.Join(l.Versions(), name)}
	if r, err := readReceipt(l, name); err == nil && r.Name == name {
		in.Receipt = r
		in.PythonVersion, in.PyPyVersion, in.Stable = r.PythonVersion, r.PyPyVersion, r.Stable
	} else if an, ok := index.ParseArchiveBase(name); ok {
		in.PythonVersion, in.PyPyVersion = an.Python, an.PyPy
		in.Stable = an.PyPy != index.Nightly && !index.IsPrerelease(an.PyPy)
	}
	in.Executable = findExecutable(in.Dir, in.PythonVersion)
	return in
}

func sortInstalled(v []Installed) {
	sort.SliceStable(v, func(i, j int) bool {
		a, b := v[i], v[j]
		if a.Stable != b.Stable {
			return a.Stable
		}
		if c := index.CompareVersions(a.PythonVersion, b.PythonVersion); c != 0 {
			return c > 0
		}
		if c := index.CompareVersions(a.PyPyVersion, b.PyPyVersion); c != 0 {
			return c > 0
		}
		return a.Name < b.Name
	})
}

// interpreterNames are the executables a release tree's interpreter is
// found under, in order: bin/pypy3 (Python 3) or bin/pypy (2.7) on POSIX,
// pypy3.exe / pypy.exe at the top of Windows trees.
func interpreterNames(python string) []string {
	if strings.HasPrefix(python, "2") {
		return []string{"bin/pypy", "pypy.exe"}
	}
	names := []string{"bin/pypy3", "pypy3.exe", "bin/pypy"}
	// The launcher itself, which every upstream tree has even when its
	// symlinks were lost (say, unpacked by a tool that drops them).
	if parts, ok := index.VersionParts(python); ok && len(parts) >= 2 {
		names = append(names, fmt.Sprintf("bin/pypy%d.%d", parts[0], parts[1]))
	}
	return names
}

func findExecutable(dir, python string) string {
	for _, n := range interpreterNames(python) {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// Matches reports whether an installed version satisfies the request.
// Unlike index resolution, an installed pre-release or nightly may match
// a plain request: the user chose to install it.
func (r Request) Matches(in Installed) bool {
	switch {
	case r.Name != "":
		return in.Name == r.Name
	case r.Filename != "":
		if in.Receipt != nil && in.Receipt.Filename == r.Filename {
			return true
		}
		base, _, _ := index.SplitFormat(r.Filename)
		return in.Name == base
	}
	if r.Python != "" && !index.HasPrefix(in.PythonVersion, r.Python) {
		return false
	}
	return r.PyPy == "" || in.PyPyVersion == r.PyPy
}

// NotInstalledError says no installed version satisfies a request.
type NotInstalledError struct {
	Request   string
	Installed []string
}

func (e *NotInstalledError) Error() string {
	msg := fmt.Sprintf("%s is not installed (run `pypyctl install %s`)", e.Request, e.Request)
	if len(e.Installed) > 0 {
		msg += "; installed: " + strings.Join(e.Installed, ", ")
	}
	return msg
}

// FindInstalled returns the best installed version for a request.
func FindInstalled(l Layout, r Request) (Installed, error) {
	all, err := ListInstalled(l)
	if err != nil {
		return Installed{}, err
	}
	for _, in := range all {
		if r.Matches(in) && in.Executable != "" {
			return in, nil
		}
	}
	e := &NotInstalledError{Request: r.String()}
	for _, in := range all {
		e.Installed = append(e.Installed, in.Name)
	}
	return Installed{}, e
}

// Uninstall removes the installed version a request names. A request that
// matches several versions is refused: removing is not a guess.
func Uninstall(ctx context.Context, l Layout, r Request) (Installed, error) {
	lock, err := fsutil.Acquire(ctx, l.Lock(), nil)
	if err != nil {
		return Installed{}, err
	}
	defer lock.Release()
	all, err := ListInstalled(l)
	if err != nil {
		return Installed{}, err
	}
	var hits []Installed
	for _, in := range all {
		if r.Matches(in) {
			hits = append(hits, in)
		}
	}
	switch {
	case len(hits) == 0:
		return Installed{}, &NotInstalledError{Request: r.String()}
	case len(hits) > 1:
		names := make([]string, len(hits))
		for i, h := range hits {
			names[i] = h.Name
		}
		return Installed{}, fmt.Errorf("%s matches %d installed versions (%s); name one", r.Raw, len(hits), strings.Join(names, ", "))
	}
	in := hits[0]
	if err := removeTree(l, in.Dir); err != nil {
		return in, err
	}
	if err := os.Remove(filepath.Join(l.Receipts(), in.Name+".json")); err != nil && !os.IsNotExist(err) {
		return in, err
	}
	return in, nil
}

// removeTree first renames dir out of sight, so an interrupted removal
// leaves a temp dir the next install cleans, never half a version.
func removeTree(l Layout, dir string) error {
	tmp, err := os.MkdirTemp(l.Versions(), tempPrefix+"rm-")
	if err != nil {
		return err
	}
	gone := filepath.Join(tmp, "old")
	// Moving a directory rewrites its "..": a non-root owner needs write
	// permission on it, which an archive may have taken away.
	if st, err := os.Lstat(dir); err == nil && st.IsDir() && st.Mode().Perm()&0o700 != 0o700 {
		os.Chmod(dir, st.Mode().Perm()|0o700)
	}
	if err := os.Rename(dir, gone); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	if err := removeAll(tmp); err != nil {
		return fmt.Errorf("remove %s: %w", dir, err)
	}
	return nil
}

// cleanTemps removes work dirs that killed runs left in versions/. Call
// with the install lock held.
func cleanTemps(l Layout) {
	ents, err := os.ReadDir(l.Versions())
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix) {
			removeAll(filepath.Join(l.Versions(), e.Name()))
		}
	}
}
