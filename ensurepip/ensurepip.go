// Package ensurepip owns the pinned wheel set (pip, setuptools, wheel) a
// release bundles, its verification, and its placement in
// lib/pypyX.Y/ensurepip/_bundled/ where the stdlib's ensurepip finds it.
// It also carries a replacement ensurepip module for trees whose
// distribution removed upstream's.
package ensurepip

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/platforms"
)

//go:embed ensurepip_init.py
var initModule []byte

// InitModule returns the source of the replacement ensurepip/__init__.py.
func InitModule() []byte { return append([]byte(nil), initModule...) }

// BundledDir is where the wheels go, relative to the stdlib directory.
const BundledDir = "ensurepip/_bundled"

// Verify checks that dir holds every pinned wheel of the release with the
// pinned bytes, and returns their paths in matrix order.
func Verify(dir string, wheels []platforms.Wheel) ([]string, error) {
	if len(wheels) == 0 {
		return nil, errors.New("the release pins no ensurepip wheels")
	}
	paths := make([]string, len(wheels))
	for i, w := range wheels {
		p := filepath.Join(dir, w.FileName())
		if err := fsutil.VerifySHA256(p, w.SHA256); err != nil {
			return nil, fmt.Errorf("ensurepip wheel %s: %w", w.FileName(), err)
		}
		paths[i] = p
	}
	return paths, nil
}

// Exactly checks that dir holds the pinned wheels and nothing else (a
// source tree that bundles a wheel the matrix does not pin is refused,
// not shipped unchecked).
func Exactly(dir string, wheels []platforms.Wheel) error {
	if _, err := Verify(dir, wheels); err != nil {
		return err
	}
	pinned := map[string]bool{}
	for _, w := range wheels {
		pinned[w.FileName()] = true
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("ensurepip: %w", err)
	}
	for _, e := range entries {
		if !pinned[e.Name()] {
			return fmt.Errorf("ensurepip: %s bundles %s, which the release does not pin", dir, e.Name())
		}
	}
	return nil
}

// Place copies verified wheels into stdlib/ensurepip/_bundled/, replacing
// whatever was bundled before so exactly the pinned set is offered.
func Place(stdlib string, wheelPaths []string) error {
	dst := filepath.Join(stdlib, filepath.FromSlash(BundledDir))
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("ensurepip: %w", err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("ensurepip: %w", err)
	}
	for _, p := range wheelPaths {
		// In place: the tree is a stage's output, renamed into place whole.
		if _, _, err := fsutil.CopyHashed(p, filepath.Join(dst, filepath.Base(p)), fsutil.CopyOptions{Perm: 0o644, InPlace: true}); err != nil {
			return fmt.Errorf("ensurepip: %w", err)
		}
	}
	return nil
}
