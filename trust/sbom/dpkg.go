package sbom

import (
	"context"
	"fmt"
	"os/exec"
	"path"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debfile"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/soname"
)

// ResolveSonames asks this Debian host's dpkg which installed packages
// provide each soname (soname.Search) and their versions
// (`dpkg-query -W`). arch selects among multiarch packages ("" = the
// host's architecture). Sonames no installed package provides come back
// with an empty Package, so callers see what stayed unresolved.
func ResolveSonames(ctx context.Context, sonames []string, arch string) ([]Library, error) {
	if len(sonames) == 0 {
		return nil, nil
	}
	if arch == "" {
		out, err := exec.CommandContext(ctx, "dpkg", "--print-architecture").Output()
		if err != nil {
			return nil, fmt.Errorf("dpkg --print-architecture: %w", err)
		}
		arch = strings.TrimSpace(string(out))
	}
	owners, err := soname.Search(ctx, sonames)
	if err != nil {
		return nil, err
	}
	owner := ownerByArch(owners, arch)

	var pkgs []string
	seen := map[string]bool{}
	for _, s := range sonames {
		if p := owner[s]; p != "" && !seen[p] {
			seen[p] = true
			pkgs = append(pkgs, p)
		}
	}
	versions := map[string][2]string{} // qualified name → version, arch
	if len(pkgs) > 0 {
		q := append([]string{"-W", "-f", "${Package}:${Architecture}\t${Version}\t${Architecture}\n"}, pkgs...)
		out, err := exec.CommandContext(ctx, "dpkg-query", q...).Output()
		if err != nil {
			return nil, fmt.Errorf("dpkg-query -W %s: %w", strings.Join(pkgs, " "), err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			f := strings.Split(line, "\t")
			if len(f) == 3 {
				versions[f[0]] = [2]string{f[1], f[2]}
			}
		}
	}
	libs := make([]Library, 0, len(sonames))
	for _, s := range sonames {
		l := Library{Soname: s}
		if p := owner[s]; p != "" {
			name, pa, _ := strings.Cut(p, ":")
			v, ok := versions[name+":"+pa]
			if !ok {
				v, ok = versions[name+":all"]
			}
			if ok {
				l.Package, l.Version, l.Arch = name, v[0], v[1]
			}
		}
		libs = append(libs, l)
	}
	sort.Slice(libs, func(i, j int) bool { return libs[i].Soname < libs[j].Soname })
	return libs, nil
}

// ownerByArch maps each soname to the "package:arch" owning it,
// preferring arch and then packages that are not multiarch-qualified.
func ownerByArch(owners []soname.Owner, arch string) map[string]string {
	type cand struct{ pkg, pkgArch string }
	found := map[string][]cand{}
	for _, o := range owners {
		s := path.Base(o.Path)
		for _, q := range o.Packages {
			name, a, _ := strings.Cut(q, ":")
			found[s] = append(found[s], cand{name, a})
		}
	}
	owner := map[string]string{}
	for s, cs := range found {
		best := ""
		for _, c := range cs {
			switch {
			case c.pkgArch == arch:
				best = c.pkg + ":" + arch
			case c.pkgArch == "" && best == "":
				best = c.pkg + ":" + arch // not multiarch-qualified: the native arch
			}
		}
		if best != "" {
			owner[s] = best
		}
	}
	return owner
}

// ReadDeb returns a .deb's name, version, architecture, Pre-Depends and
// Depends (joined: both are dependencies of the unpacked tree; folded
// onto one line) and its sha256. The control file is read with
// debfile.Open, the one .deb control reader.
func ReadDeb(_ context.Context, path string) (Deb, error) {
	pkg, err := debfile.Open(path)
	if err != nil {
		return Deb{}, err
	}
	c := pkg.Paragraph
	d := Deb{Name: c.Get("Package"), Version: c.Get("Version"), Arch: c.Get("Architecture"), Depends: oneLine(c.Get("Depends"))}
	pre := oneLine(c.Get("Pre-Depends"))
	if pre != "" && d.Depends != "" {
		d.Depends = pre + ", " + d.Depends
	} else if pre != "" {
		d.Depends = pre
	}
	if d.Name == "" || d.Version == "" {
		return Deb{}, fmt.Errorf("%s: no Package/Version in its control file", path)
	}
	if d.SHA256, _, err = fsutil.SHA256File(path); err != nil {
		return Deb{}, err
	}
	return d, nil
}

// oneLine folds a field's continuation lines onto one line, each trimmed
// and joined by a space.
func oneLine(v string) string {
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return strings.Join(lines, " ")
}
