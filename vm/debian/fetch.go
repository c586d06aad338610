package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
)

// Fetcher gets pinned .debs into a cache directory with `apt-get download`
// and checks every file against its pin before anyone reads it.
type Fetcher struct {
	CacheDir string       // where verified .debs are kept by file name
	AptGet   string       // apt-get binary; "apt-get" when empty
	Logger   *slog.Logger // progress; nil logs nothing
	Env      []string     // extra environment for apt-get (tests)
}

// Fetch returns the paths of the verified packages, in the given order.
func (f *Fetcher) Fetch(ctx context.Context, pkgs []platforms.DebPackage) ([]string, error) {
	paths := make([]string, len(pkgs))
	for i, p := range pkgs {
		path, err := f.fetchOne(ctx, p)
		if err != nil {
			return nil, err
		}
		paths[i] = path
	}
	return paths, nil
}

func (f *Fetcher) log() *slog.Logger { return logging.OrDiscard(f.Logger) }

func (f *Fetcher) fetchOne(ctx context.Context, p platforms.DebPackage) (string, error) {
	dst := filepath.Join(f.CacheDir, p.FileName())
	if _, err := os.Stat(dst); err == nil {
		err := fsutil.VerifySHA256(dst, p.SHA256)
		if err == nil {
			return dst, nil
		}
		// A damaged cache entry is not an input problem: fetch it again.
		f.log().Info("cached .deb does not match its pin; downloading it again", "file", p.FileName(), "err", err)
		if err := os.Remove(dst); err != nil {
			return "", fmt.Errorf("remove damaged %s: %w", dst, err)
		}
	}
	if err := os.MkdirAll(f.CacheDir, 0o755); err != nil {
		return "", fmt.Errorf("debian cache: %w", err)
	}
	tmp, err := os.MkdirTemp(f.CacheDir, ".download-")
	if err != nil {
		return "", fmt.Errorf("debian cache: %w", err)
	}
	defer os.RemoveAll(tmp)

	spec := p.Name
	if p.Arch != "all" {
		spec += ":" + p.Arch
	}
	spec += "=" + p.Version
	f.log().Info("downloading", "package", spec)
	apt := f.AptGet
	if apt == "" {
		apt = "apt-get"
	}
	cmd := exec.CommandContext(ctx, apt, "download", spec)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), f.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("fetch %s: %s not found: pypyctl imports Debian's PyPy with apt-get (install apt, or put %s into %s yourself)", spec, apt, p.FileName(), f.CacheDir)
		}
		msg := strings.TrimSpace(out.String())
		hint := ""
		if strings.Contains(msg, "Unable to locate") || strings.Contains(msg, "Can't find a source") || strings.Contains(msg, "has no installation candidate") {
			hint = fmt.Sprintf(" (is the %s architecture enabled? run: dpkg --add-architecture %s && apt-get update; is version %s still in the archive?)", p.Arch, p.Arch, p.Version)
		}
		return "", fmt.Errorf("apt-get download %s failed%s: %v: %s", spec, hint, err, lastLines(msg, 3))
	}
	got, err := filepath.Glob(filepath.Join(tmp, "*.deb"))
	if err != nil || len(got) != 1 {
		return "", fmt.Errorf("apt-get download %s: expected one .deb, found %d", spec, len(got))
	}
	if err := fsutil.VerifySHA256(got[0], p.SHA256); err != nil {
		var dm *fsutil.DigestMismatchError
		if errors.As(err, &dm) {
			return "", fmt.Errorf("pinned package %s does not match the matrix: expected sha256 %s, got %s (file not used)", p.FileName(), dm.Expected, dm.Actual)
		}
		return "", err
	}
	if err := os.Rename(got[0], dst); err != nil {
		return "", fmt.Errorf("debian cache: %w", err)
	}
	return dst, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
