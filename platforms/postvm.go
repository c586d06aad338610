package platforms

import (
	"fmt"
	"slices"
	"strings"
)

// PostVM are a release target's post-translation stages: rebuilding the
// cffi stdlib modules on the build host, bundling the non-glibc shared
// libraries (portable) and stripping debug info aside. pypyctl build's
// flags (--rebuild-cffi, --portable, --strip) add to these.
type PostVM struct {
	RebuildCFFI bool     `yaml:"rebuild_cffi,omitempty" json:"rebuild_cffi,omitempty"`
	CFFIOnly    []string `yaml:"cffi_only,omitempty" json:"cffi_only,omitempty"`
	CFFIWithout []string `yaml:"cffi_without,omitempty" json:"cffi_without,omitempty"`
	Portable    bool     `yaml:"portable,omitempty" json:"portable,omitempty"`
	Strip       bool     `yaml:"strip,omitempty" json:"strip,omitempty"`
}

// CFFIModules are the keys of PyPy's pypy_tools/build_cffi_imports.py, the
// names cffi_only and cffi_without take.
var CFFIModules = []string{
	"_blake2", "_gdbm", "_posixshmem", "_pypy_util_cffi_inner", "_sha3", "_ssl", "_tkinter",
	"audioop", "curses", "grp", "lzma", "resource", "sqlite3", "syslog",
}

// IsCFFIModule tells whether name is one of CFFIModules.
func IsCFFIModule(name string) bool { return slices.Contains(CFFIModules, name) }

func (v *validator) checkPostVM(p *PostVM, label string, path ...any) {
	if p == nil {
		return
	}
	for _, list := range []struct {
		name string
		mods []string
	}{{"cffi_only", p.CFFIOnly}, {"cffi_without", p.CFFIWithout}} {
		for _, m := range list.mods {
			if !IsCFFIModule(m) {
				v.report(v.near(append(append([]any{}, path...), list.name)...), "%s: %s: unknown cffi module %q (known: %s)", label, list.name, m, strings.Join(CFFIModules, ", "))
			}
		}
		if len(list.mods) > 0 && !p.RebuildCFFI {
			v.report(v.near(append(append([]any{}, path...), list.name)...), "%s: %s without rebuild_cffi: true has no effect", label, list.name)
		}
	}
	if len(p.CFFIOnly) > 0 && len(p.CFFIWithout) > 0 {
		v.report(v.near(path...), "%s", fmt.Sprintf("%s: give cffi_only or cffi_without, not both", label))
	}
}
