package sbom

import (
	"strings"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// upstream names the project behind a Debian library package and its
// licence (SPDX), for the libraries PyPy links: from Debian's
// machine-readable copyright files where they are, else the project's
// well-known licence. Where neither is clear-cut (xz, ncurses) the licence
// is left out rather than guessed.
var upstream = map[string]struct{ project, license string }{
	"libssl3":                {"openssl", "Apache-2.0"},
	"libssl3t64":             {"openssl", "Apache-2.0"},
	"libsqlite3-0":           {"sqlite3", "blessing"},
	"libffi8":                {"libffi", "MIT"},
	"libffi7":                {"libffi", "MIT"},
	"libexpat1":              {"expat", "MIT"},
	"libc6":                  {"glibc", "LGPL-2.1-or-later"},
	"zlib1g":                 {"zlib", "Zlib"},
	"libbz2-1.0":             {"bzip2", "bzip2-1.0.6"},
	"libgdbm6":               {"gdbm", "GPL-3.0-or-later"},
	"libgdbm6t64":            {"gdbm", "GPL-3.0-or-later"},
	"liblzma5":               {"xz", ""},
	"libncursesw6":           {"ncurses", ""},
	"libtinfo6":              {"ncurses", ""},
	"libgcc-s1":              {"gcc", "GPL-3.0-or-later WITH GCC-exception-3.1"},
	"libtcl8.6":              {"tcl", "TCL"},
	"libtk8.6":               {"tk", "TCL"},
	"pypy3":                  {"pypy", "MIT"},
	"pypy3-lib":              {"pypy", "MIT AND PSF-2.0"},
	"pypy3-dev":              {"pypy", "MIT"},
	"python3-pip-whl":        {"pip", "MIT"},
	"python3-setuptools-whl": {"setuptools", "MIT"},
	"python3-wheel-whl":      {"wheel", "MIT"},
}

// spdxIDs are licence ids this package may emit as CycloneDX license.id;
// anything else becomes an expression or a free-text name, so the SBOM
// stays valid against the schema's SPDX list.
var spdxIDs = map[string]bool{
	"Apache-2.0": true, "blessing": true, "MIT": true, "LGPL-2.1-or-later": true,
	"Zlib": true, "bzip2-1.0.6": true, "GPL-3.0-or-later": true, "TCL": true,
	"PSF-2.0": true, "BSD-2-Clause": true, "BSD-3-Clause": true, "ISC": true,
	"MPL-2.0": true, "0BSD": true,
}

// classifierLicenses maps unambiguous trove classifiers to SPDX ids.
var classifierLicenses = map[string]string{
	"License :: OSI Approved :: MIT License":                          "MIT",
	"License :: OSI Approved :: Apache Software License":              "Apache-2.0",
	"License :: OSI Approved :: Python Software Foundation License":   "PSF-2.0",
	"License :: OSI Approved :: ISC License (ISCL)":                   "ISC",
	"License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
}

// pythonLicense picks a distribution's licence: License-Expression, a
// License field that is an SPDX id, one unambiguous classifier, or the
// License text.
func pythonLicense(m metadata) string {
	if m.licenseExpr != "" {
		return m.licenseExpr
	}
	if spdxIDs[m.license] {
		return m.license
	}
	found := ""
	for _, c := range m.classifiers {
		if id, ok := classifierLicenses[c]; ok {
			if found != "" && found != id {
				found = ""
				break
			}
			found = id
		}
	}
	if found != "" {
		return found
	}
	if l := m.license; l != "" && !strings.EqualFold(l, "UNKNOWN") && len(l) < 200 && !strings.Contains(l, "\n") {
		return l
	}
	return ""
}

// licenses turns a licence string into CycloneDX form: an SPDX id, an
// SPDX expression, or a name.
func licenses(l string) *cdx.Licenses {
	switch {
	case l == "":
		return nil
	case spdxIDs[l]:
		return &cdx.Licenses{{License: &cdx.License{ID: l}}}
	case isExpression(l):
		return &cdx.Licenses{{Expression: l}}
	default:
		return &cdx.Licenses{{License: &cdx.License{Name: l}}}
	}
}

func isExpression(l string) bool {
	for _, op := range []string{" AND ", " OR ", " WITH "} {
		if strings.Contains(l, op) {
			return true
		}
	}
	return false
}
