package oci

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// The image's users: root, and an unprivileged user for --user pypy.
const (
	PyPyUID  = 1000
	PyPyUser = "pypy"
	// CABundle is the file SSL_CERT_FILE names, as update-ca-certificates
	// would have made it.
	CABundle = "/etc/ssl/certs/ca-certificates.crt"
)

// mergedDirs are the top-level directories a merged /usr turns into links.
func mergedDirs() []string { return []string{"bin", "lib", "lib32", "lib64", "libx32", "sbin"} }

// usrMerge maps a package path onto the merged /usr layout (bookworm's
// libc6 still ships /lib and /lib64; dpkg on a merged system writes them
// through the links).
func usrMerge(p string) string {
	top, _, _ := strings.Cut(p, "/")
	for _, d := range mergedDirs() {
		if top == d {
			return "usr/" + p
		}
	}
	return p
}

// dropped says whether a package path stays out of the image, and why.
// What goes: documentation except copyright files (licences travel with
// the binaries), man and info pages, message catalogues, lintian and bug
// metadata, glibc's gconv charset modules (only iconv() loads them, and
// Python's codecs do not use iconv), and scripts (there is no shell).
func dropped(p string, data []byte, typ byte) (bool, string) {
	for _, pre := range []string{"usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/share/lintian/",
		"usr/share/bug/", "usr/share/doc-base/", "usr/share/menu/", "usr/share/bash-completion/", "usr/share/zsh/",
		"usr/share/gdb/", "usr/share/debconf/", "etc/ca-certificates/update.d"} {
		if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
			return true, "documentation and install-time files"
		}
	}
	if strings.HasPrefix(p, "usr/share/doc/") {
		parts := strings.Split(p, "/")
		// Keep usr/share/doc/<pkg>/copyright, and links between doc dirs.
		if len(parts) == 5 && parts[4] == "copyright" {
			return false, ""
		}
		if len(parts) == 4 && typ == tar.TypeSymlink {
			return false, ""
		}
		return true, "documentation"
	}
	if parts := strings.Split(p, "/"); len(parts) >= 4 && parts[0] == "usr" && parts[1] == "lib" && parts[3] == "gconv" {
		return true, "iconv charset modules"
	}
	if typ == tar.TypeReg && bytes.HasPrefix(data, []byte("#!")) {
		for _, dir := range []string{"usr/bin/", "usr/sbin/"} {
			if strings.HasPrefix(p, dir) {
				return true, "scripts need a shell"
			}
		}
	}
	return false, ""
}

// unpack adds one package's files to the file system. Modes are
// normalised (0755 directories and executables, 0644 other files) and
// owners are root, so nothing of the package's build host leaks in.
func (f *rootfs) unpack(d fetched) error {
	name := d.Pin.Name
	return d.Deb.WalkData(func(h *tar.Header, r io.Reader) error {
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		if p == "" {
			return nil
		}
		p = usrMerge(p)
		switch h.Typeflag {
		case tar.TypeDir:
			// Documentation directories are made when a copyright file goes in.
			if skip, _ := dropped(p, nil, tar.TypeDir); skip || strings.HasPrefix(p, "usr/share/doc") {
				return nil
			}
			_, err := f.mkdirAll(p)
			return err
		case tar.TypeReg:
			data, err := readAll(r, h.Size)
			if err != nil {
				return fmt.Errorf("%s: %s: %w", name, p, err)
			}
			if skip, _ := dropped(p, data, tar.TypeReg); skip {
				return nil
			}
			return f.add(p, &node{typ: tar.TypeReg, mode: fileMode(h.Mode), data: data, pkg: name})
		case tar.TypeSymlink:
			if skip, _ := dropped(p, nil, tar.TypeSymlink); skip {
				return nil
			}
			return f.add(p, &node{typ: tar.TypeSymlink, mode: 0o777, link: h.Linkname, pkg: name})
		case tar.TypeLink:
			// Hard links become copies: layers stay simple to unpack.
			target := usrMerge(strings.TrimPrefix(path.Clean("/"+h.Linkname), "/"))
			_, tn, err := f.resolve(target, false)
			if err != nil || tn == nil || tn.typ != tar.TypeReg {
				if skip, _ := dropped(target, nil, tar.TypeReg); skip {
					return nil
				}
				return fmt.Errorf("%s: hard link %s to missing %s", name, p, target)
			}
			if skip, _ := dropped(p, tn.data, tar.TypeReg); skip {
				return nil
			}
			return f.add(p, &node{typ: tar.TypeReg, mode: tn.mode, data: tn.data, pkg: name})
		}
		return fmt.Errorf("%s: %s: unsupported tar entry type %q", name, p, h.Typeflag)
	})
}

// fileMode normalises a regular file's mode by its executable bit.
func fileMode(m int64) int64 {
	if m&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// finish adds what dpkg's maintainer scripts and the usrmerge package
// would have made, deterministically: the /usr links, the CA bundle,
// users, name service and time zone configuration, writable /tmp, mount
// points, and the package status files scanners read.
func (f *rootfs) finish(debs []fetched) error {
	for _, d := range mergedDirs() {
		if _, n, _ := f.resolve("usr/"+d, false); n != nil || d == "bin" || d == "sbin" || d == "lib" {
			if _, err := f.mkdirAll("usr/" + d); err != nil {
				return err
			}
			if err := f.add(d, &node{typ: tar.TypeSymlink, mode: 0o777, link: "usr/" + d}); err != nil {
				return err
			}
		}
	}
	if err := f.caBundle(); err != nil {
		return err
	}
	gen := []struct {
		path string
		n    *node
	}{
		{"etc/passwd", textFile("root:x:0:0:root:/root:/sbin/nologin\n" +
			fmt.Sprintf("%s:x:%d:%d:%s:/home/%s:/sbin/nologin\n", PyPyUser, PyPyUID, PyPyUID, PyPyUser, PyPyUser))},
		{"etc/group", textFile(fmt.Sprintf("root:x:0:\n%s:x:%d:\n", PyPyUser, PyPyUID))},
		// Without this file glibc asks DNS before /etc/hosts.
		{"etc/nsswitch.conf", textFile("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\nethers: files\nrpc: files\n")},
		{"etc/timezone", textFile("Etc/UTC\n")},
		{"etc/localtime", &node{typ: tar.TypeSymlink, mode: 0o777, link: "/usr/share/zoneinfo/Etc/UTC"}},
		// Debian's OpenSSL looks in /usr/lib/ssl (OPENSSLDIR); the links
		// come with the openssl package, which the image leaves out.
		{"usr/lib/ssl/cert.pem", &node{typ: tar.TypeSymlink, mode: 0o777, link: CABundle}},
		{"usr/lib/ssl/certs", &node{typ: tar.TypeSymlink, mode: 0o777, link: "/etc/ssl/certs"}},
		{"tmp", &node{typ: tar.TypeDir, mode: 0o1777}},
		// Mount points, as base-files makes them: runtimes create them
		// anyway, but chroot and bwrap over a read-only rootfs cannot.
		{"dev", &node{typ: tar.TypeDir, mode: 0o755}},
		{"proc", &node{typ: tar.TypeDir, mode: 0o755}},
		{"sys", &node{typ: tar.TypeDir, mode: 0o755}},
		{"run", &node{typ: tar.TypeDir, mode: 0o755}},
		{"root", &node{typ: tar.TypeDir, mode: 0o700}},
		{"home/" + PyPyUser, &node{typ: tar.TypeDir, mode: 0o755, uid: PyPyUID, gid: PyPyUID}},
	}
	for _, g := range gen {
		if err := f.add(g.path, g.n); err != nil {
			return err
		}
	}
	if _, n, _ := f.resolve("etc/localtime", true); n == nil {
		return fmt.Errorf("tzdata did not provide /usr/share/zoneinfo/Etc/UTC")
	}
	for _, d := range debs {
		if err := f.add("var/lib/dpkg/status.d/"+d.Pin.Name, textFile(statusParagraph(d.Deb.Control))); err != nil {
			return err
		}
	}
	return nil
}

func textFile(s string) *node { return &node{typ: tar.TypeReg, mode: 0o644, data: []byte(s)} }

// caBundle concatenates the certificates ca-certificates ships, in sorted
// order, into the bundle update-ca-certificates would have written.
func (f *rootfs) caBundle() error {
	const dir = "usr/share/ca-certificates/"
	var certs []string
	for p, n := range f.nodes {
		if strings.HasPrefix(p, dir) && strings.HasSuffix(p, ".crt") && n.typ == tar.TypeReg {
			certs = append(certs, p)
		}
	}
	if len(certs) == 0 {
		return fmt.Errorf("no certificates under /%s: is ca-certificates in the base?", dir)
	}
	sort.Strings(certs)
	var b bytes.Buffer
	for _, p := range certs {
		data := f.nodes[p].data
		b.Write(data)
		if len(data) > 0 && data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return f.add(strings.TrimPrefix(CABundle, "/"), &node{typ: tar.TypeReg, mode: 0o644, data: b.Bytes()})
}

// statusParagraph renders a package's control data the way scanners
// (syft, trivy) read /var/lib/dpkg/status.d/: Package and Status first,
// Description last, the rest in name order.
func statusParagraph(c map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nStatus: install ok installed\n", c["Package"])
	var keys []string
	for k := range c {
		if k != "Package" && k != "Description" && k != "Status" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, c[k])
	}
	if d, ok := c["Description"]; ok {
		fmt.Fprintf(&b, "Description: %s\n", d)
	}
	return b.String()
}
