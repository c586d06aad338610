// Package debrepo reads a Debian archive through apt: the candidate of
// each package, the dependency closure of a set of roots, and pinned
// .debs fetched into a cache and checked by sha256 before anything reads
// them. packaging/oci builds image base layers and translator builds its
// builder images from it.
package debrepo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"pault.ag/go/debian/dependency"

	"github.com/pypyctl/pypyctl/internal/debfile"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
)

// Candidate is the version of a package the archive would install, with
// the relations the resolver follows.
type Candidate struct {
	platforms.DebPackage
	Depends    string // the Depends field as written
	PreDepends string // the Pre-Depends field as written
	Provides   string // the virtual packages it provides (awk, c-compiler, …)
}

// Archive is where base-layer packages come from. Apt is the real one;
// tests pass their own.
type Archive interface {
	// Show returns the candidate of each named package for a Debian
	// architecture, keyed by name: the package built for arch, or the
	// Architecture: all one. Names the archive does not know are left out.
	Show(ctx context.Context, arch string, names []string) (map[string]Candidate, error)
	// Download fetches exactly these versions into dir (file names are the
	// archive's business: the caller identifies files by their control
	// data and checks every digest).
	Download(ctx context.Context, dir string, pkgs []platforms.DebPackage) error
}

// Apt is the host's apt: `apt-cache show` for candidates and
// `apt-get download` for files, so whatever mirror and architectures the
// host has configured are used (`dpkg --add-architecture arm64` for arm64).
type Apt struct {
	AptGet   string   // default "apt-get"
	AptCache string   // default "apt-cache"
	Env      []string // extra environment
}

func (a Apt) run(ctx context.Context, dir, bin string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), a.Env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) || errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s not found: the image's base layer is made from Debian packages fetched with apt (install apt, or run on Debian/Ubuntu)", bin)
		}
		return nil, fmt.Errorf("%s %s: %w: %s", bin, strings.Join(args[:min(len(args), 4)], " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

// Show implements Archive with `apt-cache show --no-all-versions`. apt
// spells an Architecture: all package of a foreign architecture without
// the qualifier, so names missing as name:arch are asked again bare.
func (a Apt) Show(ctx context.Context, arch string, names []string) (map[string]Candidate, error) {
	bin := a.AptCache
	if bin == "" {
		bin = "apt-cache"
	}
	found := map[string]Candidate{}
	query := func(specs []string) error {
		if len(specs) == 0 {
			return nil
		}
		out, err := a.run(ctx, "", bin, append([]string{"show", "--no-all-versions"}, specs...)...)
		if err != nil {
			return err
		}
		ps, err := ParseParagraphs(out)
		if err != nil {
			return fmt.Errorf("%s show: %w", bin, err)
		}
		for _, p := range ps {
			c := Candidate{
				DebPackage: platforms.DebPackage{Name: p["Package"], Version: p["Version"], Arch: p["Architecture"], SHA256: p["SHA256"]},
				Depends:    p["Depends"], PreDepends: p["Pre-Depends"], Provides: p["Provides"],
			}
			if c.Name == "" || (c.Arch != arch && c.Arch != "all") {
				continue
			}
			if _, dup := found[c.Name]; !dup {
				found[c.Name] = c
			}
		}
		return nil
	}
	var specs []string
	for _, n := range names {
		specs = append(specs, n+":"+arch)
	}
	if err := query(specs); err != nil {
		return nil, err
	}
	specs = specs[:0]
	for _, n := range names {
		if _, ok := found[n]; !ok {
			specs = append(specs, n)
		}
	}
	if err := query(specs); err != nil {
		return nil, err
	}
	return found, nil
}

// Download implements Archive with one `apt-get download` for all files.
func (a Apt) Download(ctx context.Context, dir string, pkgs []platforms.DebPackage) error {
	if len(pkgs) == 0 {
		return nil
	}
	bin := a.AptGet
	if bin == "" {
		bin = "apt-get"
	}
	args := []string{"download"}
	for _, p := range pkgs {
		args = append(args, aptSpec(p))
	}
	if _, err := a.run(ctx, dir, bin, args...); err != nil {
		return fmt.Errorf("download base packages (is every architecture enabled: dpkg --add-architecture ARCH && apt-get update? a pinned version that left the mirror needs --update-lock): %w", err)
	}
	return nil
}

// aptSpec names one exact package version for apt-get.
func aptSpec(p platforms.DebPackage) string {
	if p.Arch == "all" {
		return p.Name + "=" + p.Version
	}
	return p.Name + ":" + p.Arch + "=" + p.Version
}

// ParseParagraphs reads deb822 paragraphs (apt-cache show output) as
// maps; the parser is debfile's, shared with .deb control files.
func ParseParagraphs(b []byte) ([]map[string]string, error) {
	ps, err := debfile.ParseParagraphs(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out := make([]map[string]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.Control())
	}
	return out, nil
}

// Relations splits a Depends-style field into clauses of alternative
// package names (pault.ag/go/debian's parser); version constraints,
// architecture qualifiers (:any) and restrictions ([amd64], <!nocheck>)
// are dropped, since one suite's candidates satisfy each other.
func Relations(field string) ([][]string, error) {
	dep, err := dependency.Parse(field)
	if err != nil {
		return nil, fmt.Errorf("relation field %q: %w", field, err)
	}
	var out [][]string
	for _, r := range dep.Relations {
		var alts []string
		for _, p := range r.Possibilities {
			alts = append(alts, p.Name)
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out, nil
}

// PackageNames turns Debian dependency strings ("libssl3 (>= 3.0.0)",
// "a | b") into package names, taking each relation's first alternative;
// sorted, each once.
func PackageNames(depends []string) ([]string, error) {
	var out []string
	for _, d := range depends {
		rels, err := Relations(d)
		if err != nil {
			return nil, err
		}
		for _, alts := range rels {
			out = append(out, alts[0])
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// Resolve walks Depends and Pre-Depends from the roots over the archive's
// candidates. A clause is met by a package already chosen, skipped when
// it names a maintainer-script-only package, or else met by its first
// alternative the archive has.
func Resolve(ctx context.Context, a Archive, arch string, rootSet map[string]string, skip func(name string) bool) ([]platforms.DebPackage, error) {
	chosen := map[string]Candidate{}
	known := map[string]*Candidate{} // nil: the archive lacks it
	lookup := func(names []string) error {
		var ask []string
		for _, n := range names {
			if _, ok := known[n]; !ok {
				ask = append(ask, n)
			}
		}
		if len(ask) == 0 {
			return nil
		}
		sort.Strings(ask)
		got, err := a.Show(ctx, arch, ask)
		if err != nil {
			return err
		}
		for _, n := range ask {
			if c, ok := got[n]; ok {
				known[n] = &c
			} else {
				known[n] = nil
			}
		}
		return nil
	}
	names := slices.Sorted(maps.Keys(rootSet))
	if err := lookup(names); err != nil {
		return nil, err
	}
	provided := map[string]bool{}
	choose := func(c Candidate) error {
		chosen[c.Name] = c
		provides, err := Relations(c.Provides)
		if err != nil {
			return fmt.Errorf("%s: Provides: %w", c.Name, err)
		}
		for _, alts := range provides {
			for _, v := range alts {
				provided[v] = true
			}
		}
		return nil
	}
	for _, n := range names {
		if known[n] == nil {
			return nil, fmt.Errorf("package %s (%s) has no %s candidate in the host's apt sources (dpkg --add-architecture %s && apt-get update?)", n, rootSet[n], arch, arch)
		}
		if err := choose(*known[n]); err != nil {
			return nil, err
		}
	}
	type pending struct {
		from string
		alts []string
	}
	var queue []pending
	enqueue := func(c Candidate) error {
		for _, field := range []string{c.PreDepends, c.Depends} {
			rels, err := Relations(field)
			if err != nil {
				return fmt.Errorf("%s: %w", c.Name, err)
			}
			for _, alts := range rels {
				queue = append(queue, pending{from: c.Name, alts: alts})
			}
		}
		return nil
	}
	for _, n := range names {
		if err := enqueue(chosen[n]); err != nil {
			return nil, err
		}
	}
	for len(queue) > 0 {
		var want []string
		for _, q := range queue {
			want = append(want, q.alts...)
		}
		if err := lookup(want); err != nil {
			return nil, err
		}
		cur := queue
		queue = nil
	clauses:
		for _, q := range cur {
			// A chosen package, or a virtual one a chosen package
			// provides (mawk provides awk), meets the clause.
			for _, alt := range q.alts {
				if _, ok := chosen[alt]; ok || provided[alt] {
					continue clauses
				}
			}
			for _, alt := range q.alts {
				if skip != nil && skip(alt) {
					continue clauses
				}
			}
			for _, alt := range q.alts {
				if c := known[alt]; c != nil {
					if err := choose(*c); err != nil {
						return nil, err
					}
					if err := enqueue(*c); err != nil {
						return nil, err
					}
					continue clauses
				}
			}
			return nil, fmt.Errorf("%s depends on %s, which has no %s candidate in the host's apt sources", q.from, strings.Join(q.alts, " | "), arch)
		}
	}
	out := make([]platforms.DebPackage, 0, len(chosen))
	for _, n := range slices.Sorted(maps.Keys(chosen)) {
		out = append(out, chosen[n].DebPackage)
	}
	return out, nil
}

// Fetched is one verified .deb.
type Fetched struct {
	Pin  platforms.DebPackage
	Path string
	Deb  *debfile.Deb
}

// Fetch returns the pinned packages as verified files in cacheDir,
// downloading the ones not there. Every file is checked against its pin
// before anything reads its contents; a mismatch names both digests. A
// nil log logs nothing.
func Fetch(ctx context.Context, a Archive, cacheDir string, pkgs []platforms.DebPackage, lockName string, log *slog.Logger) ([]Fetched, error) {
	log = logging.OrDiscard(log)
	out := make([]Fetched, len(pkgs))
	var missing []platforms.DebPackage
	for i, p := range pkgs {
		out[i].Pin = p
		path := filepath.Join(cacheDir, p.FileName())
		if err := fsutil.VerifySHA256(path, p.SHA256); err == nil {
			out[i].Path = path
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			log.Info("cached .deb does not match the lock; downloading it again", "file", p.FileName())
		}
		missing = append(missing, p)
	}
	if len(missing) > 0 {
		log.Info("downloading packages", "count", len(missing))
		if err := os.MkdirAll(cacheDir, 0o755); err != nil {
			return nil, fmt.Errorf("package cache: %w", err)
		}
		tmp, err := os.MkdirTemp(cacheDir, ".deb-download-")
		if err != nil {
			return nil, fmt.Errorf("package cache: %w", err)
		}
		defer os.RemoveAll(tmp)
		if err := a.Download(ctx, tmp, missing); err != nil {
			return nil, err
		}
		files, _ := filepath.Glob(filepath.Join(tmp, "*.deb"))
		byName := map[string]platforms.DebPackage{}
		for _, p := range missing {
			byName[p.Name] = p
		}
		for _, f := range files {
			d, err := debfile.Open(f)
			if err != nil {
				return nil, fmt.Errorf("downloaded %s: %w", filepath.Base(f), err)
			}
			p, ok := byName[d.Control["Package"]]
			if !ok || d.Control["Version"] != p.Version || d.Control["Architecture"] != p.Arch {
				return nil, fmt.Errorf("apt delivered %s %s (%s), which is not what the lock pins", d.Control["Package"], d.Control["Version"], d.Control["Architecture"])
			}
			got, _, err := fsutil.SHA256File(f)
			if err != nil {
				return nil, err
			}
			if got != p.SHA256 {
				return nil, fmt.Errorf("base package %s does not match the OCI lock %s: expected sha256 %s, got %s (file not used)", p.FileName(), lockName, p.SHA256, got)
			}
			if err := os.Rename(f, filepath.Join(cacheDir, p.FileName())); err != nil {
				return nil, fmt.Errorf("package cache: %w", err)
			}
			delete(byName, p.Name)
		}
		if len(byName) > 0 {
			return nil, fmt.Errorf("apt did not deliver %s", strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
		}
		for i := range out {
			if out[i].Path == "" {
				out[i].Path = filepath.Join(cacheDir, out[i].Pin.FileName())
			}
		}
	}
	for i := range out {
		d, err := debfile.Open(out[i].Path)
		if err != nil {
			return nil, err
		}
		c := d.Control
		if c["Package"] != out[i].Pin.Name || c["Version"] != out[i].Pin.Version || c["Architecture"] != out[i].Pin.Arch {
			return nil, fmt.Errorf("%s holds %s %s (%s), not the pinned package", out[i].Path, c["Package"], c["Version"], c["Architecture"])
		}
		out[i].Deb = d
	}
	return out, nil
}

// CheckClosure makes sure the pinned set is whole: every Depends of every
// package is met inside it (or only serves maintainer scripts), and every
// root is there. A lock edited by hand, or resolved for a tree that
// needed less, fails here rather than in the running image.
func CheckClosure(debs []Fetched, lockName, arch string, skip func(name string) bool) error {
	have := map[string]bool{}
	for _, f := range debs {
		have[f.Pin.Name] = true
		provides, err := Relations(f.Deb.Control["Provides"])
		if err != nil {
			return fmt.Errorf("%s: Provides: %w", f.Pin.Name, err)
		}
		for _, alts := range provides {
			for _, v := range alts {
				have[v] = true
			}
		}
	}
	for _, f := range debs {
		for _, field := range []string{f.Deb.Control["Pre-Depends"], f.Deb.Control["Depends"]} {
			rels, err := Relations(field)
			if err != nil {
				return fmt.Errorf("%s: %w", f.Pin.Name, err)
			}
		clauses:
			for _, alts := range rels {
				for _, alt := range alts {
					if (skip != nil && skip(alt)) || have[alt] {
						continue clauses
					}
				}
				return fmt.Errorf("OCI lock %s (%s): %s depends on %s, which is not pinned: rerun with --update-lock", lockName, arch, f.Pin.Name, strings.Join(alts, " | "))
			}
		}
	}
	return nil
}
