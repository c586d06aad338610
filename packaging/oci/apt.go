package oci

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
)

// Candidate is the version of a package the archive would install, with
// the relations the resolver follows.
type Candidate struct {
	platforms.DebPackage
	Depends    string // the Depends field as written
	PreDepends string // the Pre-Depends field as written
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
		for _, p := range parseParagraphs(out) {
			c := Candidate{
				DebPackage: platforms.DebPackage{Name: p["Package"], Version: p["Version"], Arch: p["Architecture"], SHA256: p["SHA256"]},
				Depends:    p["Depends"], PreDepends: p["Pre-Depends"],
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

// parseParagraphs reads deb822 paragraphs (apt-cache show output, control
// files); continuation lines are joined with newlines.
func parseParagraphs(b []byte) []map[string]string {
	var out []map[string]string
	cur := map[string]string{}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = map[string]string{}
			}
			last = ""
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			cur[last] += "\n" + line
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.TrimSpace(k)
		cur[last] = strings.TrimSpace(v)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// relations splits a Depends-style field into clauses of alternative
// package names; version constraints and :any qualifiers are dropped,
// since one suite's candidates satisfy each other.
func relations(field string) [][]string {
	var out [][]string
	for _, clause := range strings.Split(field, ",") {
		var alts []string
		for _, alt := range strings.Split(clause, "|") {
			alt = strings.TrimSpace(alt)
			if i := strings.IndexAny(alt, " (["); i >= 0 {
				alt = alt[:i]
			}
			alt, _, _ = strings.Cut(alt, ":")
			if alt != "" {
				alts = append(alts, alt)
			}
		}
		if len(alts) > 0 {
			out = append(out, alts)
		}
	}
	return out
}

// sortedKeys returns a set's members in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
