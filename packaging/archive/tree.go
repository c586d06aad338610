package archive

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

type entryKind uint8

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
)

// srcEntry is one archive member taken from the source tree.
type srcEntry struct {
	name   string // archive name: topDir/rel, with a trailing "/" for directories
	src    string // path on disk
	kind   entryKind
	mode   int64 // normalised permission bits
	size   int64
	target string // symlink target, unchanged
}

// checkTopDir accepts a single, plain path component.
func checkTopDir(topDir string) error {
	if topDir == "" || topDir == "." || topDir == ".." || strings.ContainsAny(topDir, "/\\\x00") {
		return fmt.Errorf("archive top directory %q must be one plain path component", topDir)
	}
	return nil
}

// scanTree lists srcDir as archive entries under topDir, sorted by name
// bytes (a directory's "name/" sorts before everything inside it).
// Modes are normalised; hard links become independent regular files.
func scanTree(srcDir, topDir string) ([]srcEntry, error) {
	if err := checkTopDir(topDir); err != nil {
		return nil, err
	}
	// The walk does not follow links, so start from the real directory
	// when srcDir is itself a link to one.
	root, err := filepath.EvalSymlinks(srcDir)
	if err != nil {
		return nil, fmt.Errorf("archive source: %w", err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("archive source: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("archive source %s is not a directory", srcDir)
	}
	var entries []srcEntry
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := topDir
		if rel != "." {
			name = path.Join(topDir, filepath.ToSlash(rel))
		}
		e := srcEntry{name: name, src: p}
		if rel == "." {
			e.kind, e.mode, e.name = kindDir, 0o755, name+"/"
			entries = append(entries, e)
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch m := info.Mode(); {
		case m.IsDir():
			e.kind, e.mode, e.name = kindDir, 0o755, name+"/"
		case m.IsRegular():
			e.kind, e.size, e.mode = kindFile, info.Size(), 0o644
			if m.Perm()&0o111 != 0 {
				e.mode = 0o755
			}
		case m&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.kind, e.mode, e.target = kindSymlink, 0o777, target
		default:
			return fmt.Errorf("%s: cannot archive a %s", p, fileType(m))
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", srcDir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	return entries, nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
