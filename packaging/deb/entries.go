package deb

import (
	"archive/tar"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

type entryKind uint8

const (
	kindDir entryKind = iota
	kindFile
	kindSymlink
)

// entry is one member of a .deb's data or control tar: from the tree on
// disk (src) or generated (data).
type entry struct {
	name   string // "./opt/pypy/…", directories end in "/"
	kind   entryKind
	mode   int64
	size   int64
	src    string
	data   []byte
	target string
}

// treeEntries lists root as entries under prefix ("./opt/pypy/<rel>/").
// Modes are normalised: 0755 for directories and files with any execute
// bit, 0644 for other files; hard links become plain files. Anything that
// is not a file, directory or symlink is refused.
func treeEntries(root, prefix string) ([]entry, error) {
	var out []entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := prefix
		if rel != "." {
			name = prefix + filepath.ToSlash(rel)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			if rel != "." {
				name += "/"
			}
			out = append(out, entry{name: name, kind: kindDir, mode: 0o755})
		case info.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out = append(out, entry{name: name, kind: kindSymlink, mode: 0o777, target: t})
		case info.Mode().IsRegular():
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			out = append(out, entry{name: name, kind: kindFile, mode: mode, size: info.Size(), src: p})
		default:
			return fmt.Errorf("%s: %s files cannot go into a package", p, info.Mode().Type())
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tree %s: %w", root, err)
	}
	return out, nil
}

func dirEntry(name string) entry { return entry{name: name, kind: kindDir, mode: 0o755} }

func fileEntry(name string, mode int64, data []byte) entry {
	return entry{name: name, kind: kindFile, mode: mode, size: int64(len(data)), data: data}
}

// sortEntries orders members by name bytes; a directory's "name/" sorts
// before everything inside it, so dpkg always meets parents first.
func sortEntries(es []entry) error {
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	for i := 1; i < len(es); i++ {
		if es[i].name == es[i-1].name {
			return fmt.Errorf("two package members named %s", es[i].name)
		}
	}
	return nil
}

// installedSize is dpkg-gencontrol's Installed-Size: regular files and
// symlinks rounded up to KiB, 1 KiB for anything else.
func installedSize(es []entry) int64 {
	var kib int64
	for _, e := range es {
		switch e.kind {
		case kindFile:
			kib += (e.size + 1023) / 1024
		case kindSymlink:
			kib += (int64(len(e.target)) + 1023) / 1024
		default:
			kib++
		}
	}
	return kib
}

// writeTar writes the entries as one GNU-format tar (what dpkg-deb writes;
// long names use GNU long-name records), owner root:root (0/0), every
// mtime = epoch. md5s, when not nil, receives each regular file's digest
// keyed by its path without "./", as md5sums wants it.
func writeTar(ctx context.Context, w io.Writer, es []entry, epoch int64, md5s map[string]string) error {
	tw := tar.NewWriter(w)
	buf := make([]byte, 1<<20)
	mtime := time.Unix(epoch, 0)
	for _, e := range es {
		if err := ctx.Err(); err != nil {
			return err
		}
		h := &tar.Header{
			Name: e.name, Mode: e.mode, ModTime: mtime,
			Uname: "root", Gname: "root", Format: tar.FormatGNU,
		}
		switch e.kind {
		case kindDir:
			h.Typeflag = tar.TypeDir
		case kindSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.target
		default:
			h.Typeflag, h.Size = tar.TypeReg, e.size
		}
		if err := tw.WriteHeader(h); err != nil {
			return fmt.Errorf("tar header %s: %w", e.name, err)
		}
		if e.kind != kindFile {
			continue
		}
		sum := md5.New()
		dst := io.MultiWriter(tw, sum)
		if e.src == "" {
			if _, err := dst.Write(e.data); err != nil {
				return fmt.Errorf("tar %s: %w", e.name, err)
			}
		} else if err := copyFile(dst, e.src, e.size, buf); err != nil {
			return fmt.Errorf("tar %s: %w", e.name, err)
		}
		if md5s != nil {
			md5s[strings.TrimPrefix(e.name, "./")] = hex.EncodeToString(sum.Sum(nil))
		}
	}
	return tw.Close()
}

// copyFile copies exactly size bytes: a file that changed size since it
// was listed would make the tar header lie.
func copyFile(w io.Writer, src string, size int64, buf []byte) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.CopyBuffer(w, io.LimitReader(f, size), buf)
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s changed while packing: %d bytes, listed as %d", src, n, size)
	}
	return nil
}

// md5sumsFile formats dpkg's md5sums control file, sorted by path.
func md5sumsFile(md5s map[string]string) []byte {
	paths := make([]string, 0, len(md5s))
	for p := range md5s {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "%s  %s\n", md5s[p], p)
	}
	return []byte(b.String())
}

// parents returns the directory entries leading to name ("./a/b/c" →
// "./", "./a/", "./a/b/").
func parents(name string) []string {
	out := []string{"./"}
	dir := path.Dir(strings.TrimSuffix(strings.TrimPrefix(name, "./"), "/"))
	if dir == "." {
		return out
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		out = append(out, "./"+strings.Join(parts[:i+1], "/")+"/")
	}
	return out
}
