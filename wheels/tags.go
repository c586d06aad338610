package wheels

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// Name is a parsed wheel file name (PEP 427):
// {distribution}-{version}(-{build})?-{python}-{abi}-{platform}.whl.
type Name struct {
	Distribution, Version, Build string
	Python, ABI, Platform        []string // compressed tag sets, split on "."
}

// ParseName parses a wheel's file name.
func ParseName(path string) (Name, error) {
	base := filepath.Base(path)
	stem, ok := strings.CutSuffix(base, ".whl")
	if !ok {
		return Name{}, fmt.Errorf("%s: not a .whl file name", base)
	}
	f := strings.Split(stem, "-")
	var n Name
	switch len(f) {
	case 5:
		n = Name{Distribution: f[0], Version: f[1]}
	case 6:
		n = Name{Distribution: f[0], Version: f[1], Build: f[2]}
	default:
		return Name{}, fmt.Errorf("%s: want name-version[-build]-python-abi-platform.whl", base)
	}
	t := f[len(f)-3:]
	n.Python, n.ABI, n.Platform = strings.Split(t[0], "."), strings.Split(t[1], "."), strings.Split(t[2], ".")
	return n, nil
}

// String is the file name.
func (n Name) String() string {
	parts := []string{n.Distribution, n.Version}
	if n.Build != "" {
		parts = append(parts, n.Build)
	}
	parts = append(parts, strings.Join(n.Python, "."), strings.Join(n.ABI, "."), strings.Join(n.Platform, "."))
	return strings.Join(parts, "-") + ".whl"
}

// Tags are the expanded tag triples (python-abi-platform).
func (n Name) Tags() []string {
	var out []string
	for _, p := range n.Python {
		for _, a := range n.ABI {
			for _, pl := range n.Platform {
				out = append(out, p+"-"+a+"-"+pl)
			}
		}
	}
	return out
}

var (
	ppTag   = regexp.MustCompile(`^pp(\d)(\d+)$`)
	pypyABI = regexp.MustCompile(`^pypy(\d)(\d+)_pp(\d+)$`)
	// extSuffix is PyPy's EXT_SUFFIX: .pypy39-pp73-x86_64-linux-gnu.so.
	extSuffix = regexp.MustCompile(`\.pypy(\d)(\d+)-pp(\d+)-([a-z0-9_]+)-linux-gnu\.so$`)
)

// platformArch is the machine a linux/manylinux platform tag names
// ("" for pure or unknown platforms).
func platformArch(plat string) string {
	if a, ok := strings.CutPrefix(plat, "linux_"); ok {
		return a
	}
	if strings.HasPrefix(plat, "manylinux") {
		i := strings.LastIndex(plat, "_")
		rest := plat[:i]
		// The arch itself may hold an underscore (x86_64).
		if strings.HasSuffix(rest, "_x86") {
			return "x86_64"
		}
		return plat[i+1:]
	}
	return ""
}

// retag replaces every platform tag with plat.
func (n Name) retag(plat string) Name {
	n.Platform = []string{plat}
	return n
}
