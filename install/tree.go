package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/publish/index"
)

// An extracted archive is checked once more where it will live: the
// extractor judged links against its temp root, one level above the
// version's directory, and kept the archive's modes.

// checkTopName binds the archive's content to the name being installed:
// a release's top directory must be the name its archive file carries
// (what upstream's package.py writes), so bytes signed for one release
// cannot be installed as another. Nightlies are named by their top
// directory, which must then at least be a well-formed name.
func checkTopName(c Candidate, top string) error {
	got := filepath.Base(top)
	if c.Version.IsNightly() {
		// Nightly archives keep the build's top directory (a release or
		// nightly name; see docs/releasing.md): it must be one of those.
		if _, ok := index.ParseArchiveBase(got); !ok {
			return fmt.Errorf("%s: top directory %s is not a PyPy release or nightly name", c.File.Filename, Quote(got))
		}
		return nil
	}
	if got != c.Name() {
		return fmt.Errorf("%s: top directory is %s, not %s: the archive is another release", c.File.Filename, Quote(got), c.Name())
	}
	return nil
}

// settleTree normalises modes and re-checks links of an extracted tree
// rooted at top: directories become 0755, files 0644 or 0755 (nothing
// group- or world-writable, no setuid/setgid/sticky, every directory
// writable by its owner so that uninstall can remove it), and every
// symlink must resolve inside top, its final location.
func settleTree(top string) error {
	root, err := os.OpenRoot(top)
	if err != nil {
		return err
	}
	defer root.Close()
	return filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(top, p)
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if _, err := root.Stat(rel); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("link %s leads outside the installed tree: %w", Quote(rel), err)
			} else if err != nil {
				// Dangling: fine only if no prefix of it escapes either.
				if _, lerr := root.Lstat(rel); lerr != nil {
					return fmt.Errorf("link %s: %w", Quote(rel), lerr)
				}
			}
			return nil
		case d.IsDir():
			return os.Chmod(p, 0o755)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			mode := fs.FileMode(0o644)
			if info.Mode().Perm()&0o111 != 0 {
				mode = 0o755
			}
			return os.Chmod(p, mode)
		default:
			return fmt.Errorf("%s is not a file, directory or link", Quote(rel))
		}
	})
}

// makeRemovable gives the owner write and search permission on every
// directory under dir, so that a tree with read-only directories (from an
// archive, or an older pypyctl) can be removed by a non-root user.
func makeRemovable(dir string) {
	st, err := os.Lstat(dir)
	if err != nil || !st.IsDir() {
		return
	}
	os.Chmod(dir, st.Mode().Perm()|0o700)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() {
			makeRemovable(filepath.Join(dir, e.Name()))
		}
	}
}

// removeAll is os.RemoveAll that copes with read-only directories.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil {
		return nil
	}
	makeRemovable(dir)
	return os.RemoveAll(dir)
}
