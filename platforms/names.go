package platforms

import (
	"fmt"
	"strings"
)

// PythonShort is the Python X.Y of the release ("3.11").
func (r *Release) PythonShort() string {
	parts := strings.SplitN(r.PythonVersion, ".", 3)
	if len(parts) < 2 {
		return r.PythonVersion
	}
	return parts[0] + "." + parts[1]
}

// PythonNoDot is X.Y without the dot ("311"), as in tags.
func (r *Release) PythonNoDot() string { return strings.ReplaceAll(r.PythonShort(), ".", "") }

// Major is the Python major version as a string ("3" or "2").
func (r *Release) Major() string { return strings.SplitN(r.PythonVersion, ".", 2)[0] }

// Interpreter is the executable name in bin/: pypy3.11, or pypy for 2.7
// (upstream's 2.7 trees call it bin/pypy).
func (r *Release) Interpreter() string {
	if r.Major() == "2" {
		return "pypy"
	}
	return "pypy" + r.PythonShort()
}

// ArchiveBase is upstream's archive name without extension, which is also
// the top directory inside it: pypy3.11-v7.3.20-linux64.
func (r *Release) ArchiveBase(t *Target) string {
	return fmt.Sprintf("pypy%s-v%s-%s", r.PythonShort(), r.PyPyVersion, t.Platform)
}

// ArchiveName is the archive file name for a format: pypy3.11-v7.3.20-linux64.tar.bz2.
func (r *Release) ArchiveName(t *Target, format string) string {
	return r.ArchiveBase(t) + "." + format
}

// ABITag is the wheel ABI tag: pypy311_pp73.
func (r *Release) ABITag() string { return "pypy" + r.PythonNoDot() + "_pp73" }

// PythonTag is the wheel python tag: pp311.
func (r *Release) PythonTag() string { return "pp" + r.PythonNoDot() }

// Target returns the release's entry for a target name.
func (r *Release) Target(name string) (*ReleaseTarget, bool) {
	for i := range r.Targets {
		if r.Targets[i].Name == name {
			return &r.Targets[i], true
		}
	}
	return nil, false
}

// DebPackages returns the pinned .debs that apply to a Debian architecture
// (its own and the "all" packages), in matrix order.
func (r *Release) DebPackages(debArch string) []DebPackage {
	if r.Debian == nil {
		return nil
	}
	var out []DebPackage
	for _, p := range r.Debian.Packages {
		if p.Arch == debArch || p.Arch == "all" {
			out = append(out, p)
		}
	}
	return out
}

// Release returns the release with that name.
func (m *Matrix) Release(name string) (*Release, error) {
	if name == "" {
		name = m.DefaultRelease
	}
	for i := range m.Releases {
		if m.Releases[i].Name == name {
			return &m.Releases[i], nil
		}
	}
	return nil, fmt.Errorf("release %q is not in the matrix %s (have: %s)", name, m.Path, strings.Join(m.releaseNames(), ", "))
}

// Target returns the target with that name.
func (m *Matrix) Target(name string) (*Target, error) {
	for i := range m.Targets {
		if m.Targets[i].Name == name {
			return &m.Targets[i], nil
		}
	}
	names := make([]string, len(m.Targets))
	for i, t := range m.Targets {
		names[i] = t.Name
	}
	return nil, fmt.Errorf("target %q is not in the matrix %s (have: %s)", name, m.Path, strings.Join(names, ", "))
}

// Formats are the archive formats a release ships for a target: the
// release target's own list, else the release's, else the target default.
func (m *Matrix) Formats(r *Release, t *Target) []string {
	if rt, ok := r.Target(t.Name); ok && len(rt.Formats) > 0 {
		return rt.Formats
	}
	if len(r.Formats) > 0 {
		return r.Formats
	}
	return []string{t.Format}
}

func (m *Matrix) releaseNames() []string {
	out := make([]string, len(m.Releases))
	for i, r := range m.Releases {
		out[i] = r.Name
	}
	return out
}

// StdlibDir is where a release tree keeps its standard library, relative
// to the tree: lib/pypy3.11 for Python 3 (lib-python and lib_pypy merged),
// lib-python/2.7 for PyPy2.7, whose trees keep lib_pypy beside it.
func (r *Release) StdlibDir() string {
	if r.Major() == "2" {
		return "lib-python/" + r.PythonShort()
	}
	return "lib/pypy" + r.PythonShort()
}

// SitePackagesDir is the tree's site-packages, relative to the tree.
func (r *Release) SitePackagesDir() string {
	if r.Major() == "2" {
		return "site-packages"
	}
	return r.StdlibDir() + "/site-packages"
}
