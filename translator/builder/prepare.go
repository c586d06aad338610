package builder

import (
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/store"
)

// Config says where an image's lock, packages and root come from.
type Config struct {
	LockPath string // "" for the embedded lock
	// Mirror is the Debian mirror; "" means $PYPYCTL_DEBIAN_MIRROR (via
	// Getenv), else the host's apt sources.
	Mirror string
	Getenv func(string) string
	// Cache is pypyctl's cache dir: the suite's apt state goes under
	// apt/, verified .debs under Downloads.
	Cache, Downloads string
	Store            *store.Local
	Logger           *slog.Logger // nil: log nothing
}

// Open selects an image of the lock for a Debian architecture and says
// how to make it: a private apt for its suite (updated only when a
// package is missing), the .deb cache and the store.
func Open(name, debArch string, c Config) (*Image, EnsureOptions, error) {
	l, err := c.lock()
	if err != nil {
		return nil, EnsureOptions{}, err
	}
	img, err := l.Select(name, debArch)
	if err != nil {
		return nil, EnsureOptions{}, err
	}
	sa, err := c.SuiteApt(img.Suite, []string{debArch})
	if err != nil {
		return nil, EnsureOptions{}, err
	}
	return img, EnsureOptions{
		Store: c.Store, Archive: &LazyArchive{Apt: sa}, DebCache: filepath.Join(c.Downloads, "debian"),
		LockName: l.Name(), Logger: c.Logger,
	}, nil
}

func (c Config) lock() (*Lock, error) {
	if c.LockPath == "" {
		return DefaultLock()
	}
	return LoadLock(c.LockPath)
}

// SuiteApt is a private apt for one suite under the cache dir.
func (c Config) SuiteApt(suite string, arches []string) (*SuiteApt, error) {
	mirror := c.Mirror
	if mirror == "" && c.Getenv != nil {
		mirror = c.Getenv(MirrorEnv)
	}
	var mirrorErr error
	if mirror == "" {
		// Only a missing package needs the mirror: an image in the store
		// is used on machines without apt sources too.
		mirror, mirrorErr = HostMirror("/etc/apt")
	}
	key := strings.Join(append([]string{suite}, arches...), "-")
	return &SuiteApt{Dir: filepath.Join(c.Cache, "apt", key), Suite: suite, Mirror: mirror, Arches: arches, mirrorErr: mirrorErr}, nil
}
