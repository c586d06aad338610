package builder

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/platforms"
)

// MirrorEnv names the Debian mirror builder images come from. Without it
// the first Debian mirror of the host's own apt sources is used, so a
// machine that can install packages can also make images.
const MirrorEnv = "PYPYCTL_DEBIAN_MIRROR"

// DefaultKeyring is the Debian archive keyring apt checks suites with.
const DefaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// SuiteApt is an apt of its own for one suite: its sources, lists and
// cache live under Dir, so resolving a bullseye image on a bookworm host
// changes nothing of the host's apt.
type SuiteApt struct {
	Dir     string   // state root, e.g. <cache>/apt/bullseye
	Suite   string   // bullseye
	Mirror  string   // http://…/debian
	Keyring string   // default DefaultKeyring
	Arches  []string // Debian architectures to fetch lists for

	mirrorErr error // why no mirror was found, said when one is needed
}

// HostMirror reads the first Debian mirror URI from the host's apt sources
// (deb822 .sources files and one-line sources.list).
func HostMirror(etcApt string) (string, error) {
	var files []string
	if m, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*.sources")); m != nil {
		files = append(files, m...)
	}
	files = append(files, filepath.Join(etcApt, "sources.list"))
	if m, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*.list")); m != nil {
		files = append(files, m...)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if u := firstDebianURI(b); u != "" {
			return u, nil
		}
	}
	return "", fmt.Errorf("no Debian mirror in %s: set %s=http://MIRROR/debian", etcApt, MirrorEnv)
}

// firstDebianURI finds a URI ending in /debian in a sources file of
// either format ("URIs: …" or "deb [opts] URI suite …").
func firstDebianURI(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		var fields []string
		switch {
		case strings.HasPrefix(line, "URIs:"):
			fields = strings.Fields(strings.TrimPrefix(line, "URIs:"))
		case strings.HasPrefix(line, "deb "):
			rest := strings.TrimPrefix(line, "deb ")
			if strings.HasPrefix(rest, "[") {
				if _, after, ok := strings.Cut(rest, "]"); ok {
					rest = after
				}
			}
			fields = strings.Fields(rest)[:min(1, len(strings.Fields(rest)))]
		}
		for _, f := range fields {
			if u, err := url.Parse(f); err == nil && (u.Scheme == "http" || u.Scheme == "https" || u.Scheme == "file") &&
				strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/debian") {
				return strings.TrimSuffix(f, "/")
			}
		}
	}
	return ""
}

func (a *SuiteApt) configPath() string { return filepath.Join(a.Dir, "apt.conf") }

// write lays out the private apt tree and its configuration.
func (a *SuiteApt) write() error {
	if a.Mirror == "" && a.mirrorErr != nil {
		return a.mirrorErr
	}
	if a.Keyring == "" {
		a.Keyring = DefaultKeyring
	}
	u, err := url.Parse(a.Mirror)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") || strings.ContainsAny(a.Mirror, " \n\"") {
		return fmt.Errorf("Debian mirror %q: want an http(s) or file URL (%s)", a.Mirror, MirrorEnv)
	}
	for _, d := range []string{"state/lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return fmt.Errorf("apt dir: %w", err)
		}
	}
	src := fmt.Sprintf("deb [signed-by=%s] %s %s main\n", a.Keyring, a.Mirror, a.Suite)
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list"), []byte(src), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(a.Dir, "state", "status"), nil, 0o644); err != nil {
		return err
	}
	var arches []string
	for _, x := range a.Arches {
		arches = append(arches, fmt.Sprintf("%q;", x))
	}
	conf := fmt.Sprintf(`Dir::Etc::SourceList "%[1]s/sources.list";
Dir::Etc::SourceParts "%[1]s/sources.list.d";
Dir::Etc::Preferences "%[1]s/preferences";
Dir::Etc::PreferencesParts "%[1]s/preferences.d";
Dir::State "%[1]s/state";
Dir::State::status "%[1]s/state/status";
Dir::Cache "%[1]s/cache";
APT::Architecture %[2]q;
APT::Architectures { %[3]s };
Acquire::Languages "none";
APT::Sandbox::User "root";
`, a.Dir, a.Arches[0], strings.Join(arches, " "))
	return os.WriteFile(a.configPath(), []byte(conf), 0o644)
}

// Update writes the configuration and fetches the suite's package lists.
func (a *SuiteApt) Update(ctx context.Context) error {
	if len(a.Arches) == 0 {
		return fmt.Errorf("apt for %s: no architectures", a.Suite)
	}
	if err := a.write(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "apt-get", "-q", "update")
	cmd.Env = append(os.Environ(), "APT_CONFIG="+a.configPath(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("apt-get update for %s from %s: %w: %s", a.Suite, a.Mirror, err, lastLines(out.String(), 3))
	}
	// apt-get update exits 0 when a source fails ("W: Failed to fetch");
	// an empty list dir means nothing usable arrived.
	lists, _ := filepath.Glob(filepath.Join(a.Dir, "state", "lists", "*_Packages*"))
	if len(lists) == 0 {
		return fmt.Errorf("apt-get update for %s from %s fetched no package lists: %s", a.Suite, a.Mirror, lastLines(out.String(), 3))
	}
	return nil
}

// Archive is the debrepo view of this apt: show and download go through
// its configuration.
func (a *SuiteApt) Archive() debrepo.Apt {
	return debrepo.Apt{Env: []string{"APT_CONFIG=" + a.configPath(), "LC_ALL=C"}}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// LazyArchive updates the suite's lists only when something is actually
// shown or downloaded: an image already in the store needs no network.
type LazyArchive struct {
	Apt     *SuiteApt
	updated bool
}

func (l *LazyArchive) ensure(ctx context.Context) error {
	if l.updated {
		return nil
	}
	if err := l.Apt.Update(ctx); err != nil {
		return err
	}
	l.updated = true
	return nil
}

// Show implements debrepo.Archive.
func (l *LazyArchive) Show(ctx context.Context, arch string, names []string) (map[string]debrepo.Candidate, error) {
	if err := l.ensure(ctx); err != nil {
		return nil, err
	}
	return l.Apt.Archive().Show(ctx, arch, names)
}

// Download implements debrepo.Archive.
func (l *LazyArchive) Download(ctx context.Context, dir string, pkgs []platforms.DebPackage) error {
	if err := l.ensure(ctx); err != nil {
		return err
	}
	return l.Apt.Archive().Download(ctx, dir, pkgs)
}
