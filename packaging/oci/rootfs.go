package oci

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/soname"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/trust/sbom"
)

// node is one entry of the base layer's file system.
type node struct {
	typ      byte // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode     int64
	uid, gid int
	link     string
	data     []byte
	pkg      string // the package that shipped it; "" when pypyctl made it
}

// rootfs is the base layer being put together: packages are unpacked into
// it the way dpkg would (following directory symlinks), and it is written
// out sorted, so the layer does not depend on unpack order or the host.
type rootfs struct {
	nodes map[string]*node // clean relative paths ("usr/lib"), root excluded
}

func newRootfs() *rootfs { return &rootfs{nodes: map[string]*node{}} }

// maxLinks bounds symlink resolution, like the kernel's ELOOP.
const maxLinks = 40

// resolve returns the canonical path p names (every directory symlink on
// the way followed; the last element too when followLast), and its node
// or nil if nothing is there yet.
func (f *rootfs) resolve(p string, followLast bool) (string, *node, error) {
	hops := 0
	var walk func(p string, followLast bool) (string, *node, error)
	walk = func(p string, followLast bool) (string, *node, error) {
		parts := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
		cur := ""
		for i, part := range parts {
			if part == "" {
				continue
			}
			next := path.Join(cur, part)
			n := f.nodes[next]
			last := i == len(parts)-1
			if n == nil {
				if last {
					return next, nil, nil
				}
				// The rest does not exist yet: it will be made as named.
				return path.Join(next, path.Join(parts[i+1:]...)), nil, nil
			}
			if n.typ == tar.TypeSymlink && (!last || followLast) {
				hops++
				if hops > maxLinks {
					return "", nil, fmt.Errorf("%s: too many levels of symbolic links", p)
				}
				target := n.link
				if !strings.HasPrefix(target, "/") {
					target = path.Join(cur, target)
				}
				rest := path.Join(parts[i+1:]...)
				resolved, rn, err := walk(path.Join(target, rest), followLast)
				if err != nil {
					return "", nil, err
				}
				return resolved, rn, nil
			}
			if !last && n.typ != tar.TypeDir {
				return "", nil, fmt.Errorf("%s: %s is not a directory", p, next)
			}
			cur = next
		}
		return cur, f.nodes[cur], nil
	}
	return walk(p, followLast)
}

// mkdirAll makes p and its parents as root-owned 0755 directories.
func (f *rootfs) mkdirAll(p string) (string, error) {
	canon, n, err := f.resolve(p, true)
	if err != nil {
		return "", err
	}
	if n != nil {
		if n.typ != tar.TypeDir {
			return "", fmt.Errorf("%s exists and is not a directory", p)
		}
		return canon, nil
	}
	if canon == "" || canon == "." {
		return "", nil
	}
	if _, err := f.mkdirAll(path.Dir(canon)); err != nil {
		return "", err
	}
	f.nodes[canon] = &node{typ: tar.TypeDir, mode: 0o755}
	return canon, nil
}

// add puts one entry at p (parents made as needed). The same directory
// from several packages is one directory; the same file is allowed only
// with the same bytes, since dpkg would refuse anything else too.
func (f *rootfs) add(p string, n *node) error {
	dir, err := f.mkdirAll(path.Dir(path.Clean("/" + p)))
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	full := path.Join(dir, path.Base(p))
	old := f.nodes[full]
	switch {
	case old == nil:
		f.nodes[full] = n
		return nil
	case old.typ == tar.TypeDir && n.typ == tar.TypeDir:
		return nil
	case old.typ == n.typ && old.link == n.link && bytes.Equal(old.data, n.data):
		return nil
	case old.typ == tar.TypeDir && n.typ == tar.TypeSymlink:
		// A directory the resolver already created becomes a link only
		// if nothing is in it yet.
		if f.hasChildren(full) {
			return fmt.Errorf("/%s: %s ships a symlink where %s has files", full, n.pkg, orGenerated(old.pkg))
		}
		f.nodes[full] = n
		return nil
	}
	return fmt.Errorf("/%s is shipped differently by %s and %s", full, orGenerated(old.pkg), orGenerated(n.pkg))
}

func orGenerated(pkg string) string {
	if pkg == "" {
		return "pypyctl"
	}
	return pkg
}

func (f *rootfs) hasChildren(dir string) bool {
	for p := range f.nodes {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// sortedPaths lists every entry in byte order; a directory sorts before
// what is in it, which is the order a tar stream needs.
func (f *rootfs) sortedPaths() []string {
	out := make([]string, 0, len(f.nodes))
	for p := range f.nodes {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// write streams the file system as tar entries.
func (f *rootfs) write(t *tarOut) error {
	for _, p := range f.sortedPaths() {
		n := f.nodes[p]
		var err error
		switch n.typ {
		case tar.TypeDir:
			err = t.dir(p, n.mode, n.uid, n.gid)
		case tar.TypeReg:
			err = t.file(p, n.mode, int64(len(n.data)), bytes.NewReader(n.data))
		case tar.TypeSymlink:
			err = t.symlink(p, n.link)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// libraryDirs are where the dynamic loader looks without an ld.so.cache:
// Debian's glibc searches the multiarch directories by default.
func libraryDirs(triplet string) []string {
	return []string{"usr/lib/" + triplet, "usr/lib", "usr/lib64", "usr/local/lib"}
}

// checkLinks makes sure the image can start the tree: every loader named
// in PT_INTERP exists (through the /lib64 or /lib link of the merged
// /usr), and every library the tree or the base's own libraries need is
// in a directory the loader searches.
func (f *rootfs) checkLinks(tree *elfNeeds, triplet string) error {
	for _, interp := range slices.Sorted(maps.Keys(tree.Interp)) {
		_, n, err := f.resolve(interp, true)
		if err != nil || n == nil || n.typ != tar.TypeReg {
			return fmt.Errorf("%s needs the dynamic loader %s, which the base layer does not provide", tree.Interp[interp][0], interp)
		}
	}
	have := map[string]bool{}
	for _, dir := range libraryDirs(triplet) {
		canon, dn, err := f.resolve(dir, true)
		if err != nil || dn == nil {
			continue
		}
		for p := range f.nodes {
			if path.Dir(p) == canon {
				have[path.Base(p)] = true
			}
		}
	}
	for _, lib := range slices.Sorted(maps.Keys(tree.Needed)) {
		if !have[lib] {
			hint := ""
			if pkg, ok := soname.Package(lib); ok {
				hint = fmt.Sprintf(" (Debian ships it in %s)", pkg)
			}
			return fmt.Errorf("%s needs %s, which no base package provides%s: add the package with --package", tree.Needed[lib][0], lib, hint)
		}
	}
	// The base libraries' own needs: a missing one means the Depends
	// walk skipped something the libraries cannot do without.
	for _, p := range f.sortedPaths() {
		n := f.nodes[p]
		if n.typ != tar.TypeReg || !bytes.HasPrefix(n.data, []byte(elf.ELFMAG)) {
			continue
		}
		ef, err := elf.NewFile(bytes.NewReader(n.data))
		if err != nil {
			continue // not every ELF-looking blob is ours to judge
		}
		libs, err := ef.ImportedLibraries()
		ef.Close()
		if err != nil {
			continue
		}
		for _, lib := range libs {
			if !have[lib] {
				return fmt.Errorf("/%s (from %s) needs %s, which no base package provides", p, n.pkg, lib)
			}
		}
	}
	return nil
}

// providers says which base package ships each library the tree needs
// (the file or link the loader would find first), for the SBOM.
func (f *rootfs) providers(tree *elfNeeds, triplet string, pkgs []platforms.DebPackage) []sbom.Library {
	byName := map[string]platforms.DebPackage{}
	for _, p := range pkgs {
		byName[p.Name] = p
	}
	var out []sbom.Library
	for _, lib := range slices.Sorted(maps.Keys(tree.Needed)) {
		l := sbom.Library{Soname: lib}
		for _, dir := range libraryDirs(triplet) {
			if _, n, err := f.resolve(path.Join(dir, lib), false); err == nil && n != nil && n.pkg != "" {
				p := byName[n.pkg]
				l.Package, l.Version, l.Arch = p.Name, p.Version, p.Arch
				break
			}
		}
		out = append(out, l)
	}
	return out
}

// readAll is io.ReadAll with a size hint from the tar header.
func readAll(r io.Reader, size int64) ([]byte, error) {
	var b bytes.Buffer
	if size > 0 && size < 1<<30 {
		b.Grow(int(size))
	}
	_, err := io.Copy(&b, r)
	return b.Bytes(), err
}
