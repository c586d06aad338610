package debian

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// patch undoes one Debian change that breaks a standalone tree. Each is an
// exact text replacement that must match once: if Debian changes the file,
// the import fails loudly instead of shipping a half-patched stdlib.
type patch struct {
	file string // relative to lib/pypyX.Y
	old  string
	new  string
	why  string
}

// undoPatches are documented in docs/debian-import.md.
var undoPatches = []patch{
	{
		file: "site.py",
		why:  "Debian looks for packages in <prefix>/local/lib/pypyX.Y/dist-packages and /usr/lib/python3/dist-packages; upstream uses <prefix>/lib/pypyX.Y/site-packages",
		old: `            if is_virtual_environment:
                sitepackages.append(os.path.join(
                    prefix, "lib", f"{implementation}{ver[0]}.{ver[1]}",
                    "site-packages"))
            sitepackages.append(os.path.join(
                prefix, "local", "lib",
                f"{implementation}{ver[0]}.{ver[1]}", "dist-packages"))
            sitepackages.append(os.path.join(
                prefix, "lib", "python3", "dist-packages"))
`,
		new: `            sitepackages.append(os.path.join(
                prefix, "lib", f"{implementation}{ver[0]}.{ver[1]}",
                "site-packages"))
`,
	},
	{
		file: "sysconfig.py",
		why:  "Debian's default install scheme is posix_local (<prefix>/local/…/dist-packages); upstream's is posix_prefix",
		old: `            # default to /usr for package builds, /usr/local otherwise
            deb_build = os.environ.get('DEB_PYTHON_INSTALL_LAYOUT', 'posix_local')
            if deb_build in ('deb', 'deb_system'):
                return 'deb_system'
            else:
                return 'posix_local'
`,
		new: `            return 'posix_prefix'
`,
	},
	{
		file: "distutils/command/install.py",
		why:  "Debian's distutils installs into unix_local/deb_system outside a venv; upstream uses unix_prefix (pip on Python 3.9 still asks distutils)",
		old: `            elif ((self.prefix_option
                        and not os.path.normpath(self.prefix).startswith(
                            '/usr/local/'))
                    or is_virtual_environment()):
                self.select_scheme("unix_prefix")
            else:
                if os.path.normpath(self.prefix).startswith('/usr/local/'):
                    self.select_scheme("deb_system")
                else:
                    self.select_scheme("unix_local")
`,
		new: `            else:
                self.select_scheme("unix_prefix")
`,
	},
}

// removedPaths are Debian additions that make no sense in a standalone
// tree, relative to lib/pypyX.Y.
var removedPaths = []string{
	"EXTERNALLY-MANAGED", // PEP 668 marker: this tree is not managed by apt
	"dist-packages",      // Debian's site dir, replaced by site-packages
}

func applyPatches(libDir string) error {
	for _, p := range undoPatches {
		path := filepath.Join(libDir, filepath.FromSlash(p.file))
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("undo Debian patch in %s: %w", p.file, err)
		}
		if n := bytes.Count(b, []byte(p.old)); n != 1 {
			return fmt.Errorf("undo Debian patch in %s: expected the Debian text once, found it %d times (has Debian changed the file?)", p.file, n)
		}
		b = bytes.Replace(b, []byte(p.old), []byte(p.new), 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("undo Debian patch in %s: %w", p.file, err)
		}
	}
	for _, r := range removedPaths {
		if err := os.RemoveAll(filepath.Join(libDir, r)); err != nil {
			return fmt.Errorf("remove Debian addition %s: %w", r, err)
		}
	}
	return nil
}
