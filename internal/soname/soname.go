// Package soname maps the shared libraries a PyPy tree links (its NEEDED
// sonames) to the Debian packages that ship them: a table compiled in for
// the Debian release pypyctl's images use (packaging/oci's roots and
// hints), and the build host's dpkg database (packaging/deb's Depends,
// trust/sbom's library components). It imports nothing of the pipeline.
package soname

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// IsLoader reports whether a soname is glibc's dynamic loader, which is
// architecture-specific (ld-linux-aarch64.so.1, ld64.so.1 on s390x) and
// so absent from a host of another architecture; it always comes from the
// package that ships libc.so.6.
func IsLoader(s string) bool {
	return strings.HasPrefix(s, "ld-linux") || strings.HasPrefix(s, "ld64.so") || strings.HasPrefix(s, "ld.so")
}

// glibcLibs are the libraries glibc itself installs (Debian's libc6).
var glibcLibs = map[string]bool{
	"libc.so.6": true, "libm.so.6": true, "libdl.so.2": true, "libpthread.so.0": true,
	"librt.so.1": true, "libutil.so.1": true, "libresolv.so.2": true, "libanl.so.1": true,
	"libnsl.so.1": true, "libBrokenLocale.so.1": true, "libmvec.so.1": true,
	"libthread_db.so.1": true, "libc_malloc_debug.so.0": true, "libmemusage.so": true,
	"libpcprofile.so": true,
}

// IsGlibc reports whether a soname belongs to glibc (dynamic loaders and
// NSS modules included). libcrypt.so.1 is not glibc's: it is libxcrypt.
func IsGlibc(s string) bool {
	return glibcLibs[s] || IsLoader(s) || strings.HasPrefix(s, "libnss_")
}

// bookworm is the package of Debian bookworm that ships each library
// PyPy's trees and their extension modules link, glibc's aside.
var bookworm = map[string]string{
	"libcrypt.so.1":       "libcrypt1",
	"libgcc_s.so.1":       "libgcc-s1",
	"libstdc++.so.6":      "libstdc++6",
	"libffi.so.8":         "libffi8",
	"libssl.so.3":         "libssl3",
	"libcrypto.so.3":      "libssl3",
	"libsqlite3.so.0":     "libsqlite3-0",
	"liblzma.so.5":        "liblzma5",
	"libbz2.so.1.0":       "libbz2-1.0",
	"libbz2.so.1":         "libbz2-1.0",
	"libz.so.1":           "zlib1g",
	"libexpat.so.1":       "libexpat1",
	"libncursesw.so.6":    "libncursesw6",
	"libpanelw.so.6":      "libncursesw6",
	"libformw.so.6":       "libncursesw6",
	"libmenuw.so.6":       "libncursesw6",
	"libncurses.so.6":     "libncurses6",
	"libpanel.so.6":       "libncurses6",
	"libform.so.6":        "libncurses6",
	"libmenu.so.6":        "libncurses6",
	"libtinfo.so.6":       "libtinfo6",
	"libgdbm.so.6":        "libgdbm6",
	"libgdbm_compat.so.4": "libgdbm-compat4",
	"libuuid.so.1":        "libuuid1",
	"libtcl8.6.so":        "libtcl8.6",
	"libtk8.6.so":         "libtk8.6",
	// Tk's X client libraries: a from-source tree bundles Tk, not X.
	"libX11.so.6":        "libx11-6",
	"libXext.so.6":       "libxext6",
	"libXft.so.2":        "libxft2",
	"libXss.so.1":        "libxss1",
	"libfontconfig.so.1": "libfontconfig1",
}

// Package is the Debian (bookworm) package that ships a soname. It
// matters for trees without Debian metadata (upstream archives,
// translations); Debian-imported trees also carry their interpreter's
// Depends.
func Package(s string) (string, bool) {
	if IsGlibc(s) {
		return "libc6", true
	}
	p, ok := bookworm[s]
	return p, ok
}

// Owner is one file dpkg knows and the packages that own it, as dpkg
// names them ("libssl3:amd64", or "libbz2-1.0" for a package that is not
// multiarch-qualified).
type Owner struct {
	Path     string
	Packages []string
}

// Search asks the build host's dpkg database which installed packages
// own a file named like each soname (one `dpkg-query -S */SONAME …`). A
// soname nothing matches is simply absent: callers report what stayed
// unresolved.
func Search(ctx context.Context, sonames []string) ([]Owner, error) {
	if len(sonames) == 0 {
		return nil, nil
	}
	args := []string{"-S"}
	for _, s := range sonames {
		args = append(args, "*/"+s)
	}
	cmd := exec.CommandContext(ctx, "dpkg-query", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	// Exit 1 only means some pattern matched nothing; what it found is
	// still on stdout.
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) {
		return nil, fmt.Errorf("dpkg-query -S: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ParseSearch(out.Bytes()), nil
}

// ParseSearch reads `dpkg-query -S` output: "pkg[:arch][, pkg…]: /path"
// lines; diversion notes ("diversion by …", "local diversion …") are
// skipped.
func ParseSearch(out []byte) []Owner {
	var owners []Owner
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "diversion ") || strings.HasPrefix(line, "local diversion") {
			continue
		}
		i := strings.Index(line, ": /")
		if i < 0 {
			continue
		}
		o := Owner{Path: line[i+2:]}
		for _, p := range strings.Split(line[:i], ",") {
			o.Packages = append(o.Packages, strings.TrimSpace(p))
		}
		owners = append(owners, o)
	}
	return owners
}
