package release

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

// Nightly names a nightly build the way PyPy's buildbots do:
// pypy-c-jit-<N>-<hash12>-<platform>, N being 1 + the commit count of the
// built revision (`git rev-list --count`, as DESIGN.md §3 states it), hash12
// the first 12 hex digits of its id.
type Nightly struct {
	N    int    `json:"n"`
	Hash string `json:"hash"` // 12 hex digits
}

// nightlyDirRE matches a published nightly's release directory.
var nightlyDirRE = regexp.MustCompile(`^pypy-c-jit-([0-9]+)-([0-9a-f]{12})$`)

// Name is the nightly's release name and the prefix of its files:
// pypy-c-jit-107123-0123456789ab.
func (n Nightly) Name() string { return fmt.Sprintf("pypy-c-jit-%d-%s", n.N, n.Hash) }

// Base is the archive base (and top directory) for a platform suffix
// such as linux64: pypy-c-jit-107123-0123456789ab-linux64.
func (n Nightly) Base(platform string) string { return n.Name() + "-" + platform }

// LatestBase is the alias upstream keeps pointing at the newest nightly.
func LatestBase(platform string) string { return "pypy-c-jit-latest-" + platform }

// ParseNightlyName parses a release name made by Name.
func ParseNightlyName(s string) (Nightly, bool) {
	m := nightlyDirRE.FindStringSubmatch(s)
	if m == nil {
		return Nightly{}, false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n < 1 {
		return Nightly{}, false
	}
	return Nightly{N: n, Hash: m[2]}, true
}

// NightlyFromGit names the nightly of rev (HEAD when empty) in the git
// work tree or repository at dir. It runs git itself: the count and the
// id are git's, and no Go library reads every repository format as git does.
func NightlyFromGit(ctx context.Context, dir, rev string) (Nightly, error) {
	if rev == "" {
		rev = "HEAD"
	}
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
		out, err := cmd.Output()
		if err != nil {
			msg := err.Error()
			if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
				msg = strings.TrimSpace(string(ee.Stderr))
			}
			return "", fmt.Errorf("git %s in %s: %s", strings.Join(args, " "), dir, msg)
		}
		return strings.TrimSpace(string(out)), nil
	}
	count, err := run("rev-list", "--count", rev)
	if err != nil {
		return Nightly{}, err
	}
	id, err := run("rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return Nightly{}, err
	}
	c, err := strconv.Atoi(count)
	if err != nil {
		return Nightly{}, fmt.Errorf("git rev-list --count %s: %q is not a number", rev, count)
	}
	if len(id) < 12 {
		return Nightly{}, fmt.Errorf("git rev-parse %s: %q is not a commit id", rev, id)
	}
	return Nightly{N: c + 1, Hash: id[:12]}, nil
}
