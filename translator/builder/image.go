package builder

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
)

// stageVersion changes when the same pins would give another root.
const stageVersion = 2 // 2: ld.so.cache (ldconfig run in the image)

// MountWork is where a translation's scratch directory appears inside an
// image. A fixed path keeps the generated C sources (which name their
// directory) the same whatever the host's cache path is.
const MountWork = "/build"

// Image is one builder image for one architecture, ready to key and use.
type Image struct {
	Name     string                 `json:"name"`
	Suite    string                 `json:"suite"`
	Arch     string                 `json:"arch"` // Debian architecture
	Packages []platforms.DebPackage `json:"packages"`
	Links    map[string]string      `json:"links,omitempty"`
	// Key is the image's digest: the store key of its root file system.
	Key string `json:"key"`
}

// Select picks the pins of one architecture and computes the key. An
// image the lock has no pins for says how to make them.
func (l *Lock) Select(name, debArch string) (*Image, error) {
	s, err := l.Image(name)
	if err != nil {
		return nil, err
	}
	pkgs := s.Packages[debArch]
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("builder image %s has no %s packages pinned in %s: run `pypyctl translate image lock --image %s --arch %s --lock FILE`", name, debArch, l.Name(), name, debArch)
	}
	img := &Image{Name: s.Name, Suite: s.Suite, Arch: debArch, Packages: pkgs, Links: s.Links}
	k, err := store.NewKey("builder-image", stageVersion, img)
	if err != nil {
		return nil, err
	}
	img.Key = string(k)
	return img, nil
}

// Short is the key's short form, for messages and plans.
func (img *Image) Short() string { return store.Key(img.Key).Short() }

// Package returns the pinned version of a package ("" when absent).
func (img *Image) Package(name string) string {
	for _, p := range img.Packages {
		if p.Name == name {
			return p.Version
		}
	}
	return ""
}

// skipForBuilder leaves out what only maintainer scripts use: they never
// run in an image made without dpkg.
func skipForBuilder(name string) bool {
	switch name {
	case "debconf", "debconf-2.0", "cdebconf", "dpkg", "install-info":
		return true
	}
	return false
}

// Resolve re-resolves one image's closure for arch with apt and records
// the pins in the lock (the caller saves it).
func (l *Lock) Resolve(ctx context.Context, a debrepo.Archive, name, debArch string) error {
	s, err := l.Image(name)
	if err != nil {
		return err
	}
	roots := map[string]string{}
	for _, r := range s.Roots {
		roots[r] = "root of builder image " + name
	}
	pkgs, err := debrepo.Resolve(ctx, a, debArch, roots, skipForBuilder)
	if err != nil {
		return fmt.Errorf("resolve builder image %s (%s): %w", name, debArch, err)
	}
	for _, p := range pkgs {
		if p.SHA256 == "" {
			return fmt.Errorf("apt gives no SHA256 for %s %s", p.Name, p.Version)
		}
	}
	if s.Packages == nil {
		s.Packages = map[string][]platforms.DebPackage{}
	}
	s.Packages[debArch] = pkgs
	return nil
}

// EnsureOptions say where an image's inputs come from and go.
type EnsureOptions struct {
	Store    *store.Local
	Archive  debrepo.Archive // downloads missing .debs
	DebCache string          // verified .debs, by file name
	LockName string
	Logger   *slog.Logger // nil: log nothing
}

func (o EnsureOptions) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

// Ensure returns the image's root file system, making it when the store
// does not have it: every pinned .deb is fetched (sha256-checked before
// use), the closure is checked, and the packages are unpacked in name
// order, then the links and the files dpkg's scripts would have made.
func (img *Image) Ensure(ctx context.Context, o EnsureOptions) (string, bool, error) {
	res, err := o.Store.Ensure(ctx, store.Key(img.Key), func(ctx context.Context, dir string) error {
		o.log().Info("making builder image", "image", img.Name, "arch", img.Arch, "packages", len(img.Packages), "key", img.Short())
		debs, err := debrepo.Fetch(ctx, o.Archive, o.DebCache, img.Packages, o.LockName, o.Logger)
		if err != nil {
			return err
		}
		if err := debrepo.CheckClosure(debs, o.LockName, img.Arch, skipForBuilder); err != nil {
			return err
		}
		root := filepath.Join(dir, "rootfs")
		if err := os.Mkdir(root, 0o755); err != nil {
			return err
		}
		for _, d := range debs {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := d.Deb.ExtractAll(root); err != nil {
				return fmt.Errorf("unpack %s: %w", d.Pin.FileName(), err)
			}
		}
		if err := img.finish(root); err != nil {
			return err
		}
		if err := ldconfig(ctx, root); err != nil {
			return err
		}
		b, err := json.MarshalIndent(img, "", "  ")
		if err != nil {
			return err
		}
		return fsutil.WriteFileAtomic(filepath.Join(dir, "image.json"), append(b, '\n'), 0o644)
	})
	if err != nil {
		return "", false, fmt.Errorf("builder image %s (%s): %w", img.Name, img.Arch, err)
	}
	return filepath.Join(res.Dir, "rootfs"), res.Hit, nil
}

// finish adds what maintainer scripts would have made and what a sandbox
// needs: alternatives links, users, mount points.
func (img *Image) finish(root string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, p := range sortedKeys(img.Links) {
		if err := r.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		if err := r.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := r.Symlink(img.Links[p], p); err != nil {
			return fmt.Errorf("link %s: %w", p, err)
		}
	}
	files := map[string]string{
		"etc/passwd":        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		"etc/group":         "root:x:0:\nnogroup:x:65534:\n",
		"etc/nsswitch.conf": "passwd: files\ngroup: files\nhosts: files\n",
		"etc/hosts":         "127.0.0.1 localhost\n",
	}
	for _, p := range sortedKeys(files) {
		if err := r.MkdirAll(path.Dir(p), 0o755); err != nil {
			return err
		}
		if err := r.WriteFile(p, []byte(files[p]), 0o644); err != nil {
			return err
		}
		if err := r.Chmod(p, 0o644); err != nil {
			return err
		}
	}
	for _, d := range []string{"dev", "proc", "sys", "tmp", "root", strings.TrimPrefix(MountWork, "/"), "run"} {
		if err := r.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := r.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// ldconfig runs the image's own ldconfig in it, as libc-bin's trigger
// does on a Debian system: it writes /etc/ld.so.cache (and the soname
// links). Without the cache ctypes.util.find_library('c') finds nothing
// in the image and RPython bakes the linker script "libc.so" into the VM
// as its libc name, which then loads only where libc6-dev is installed.
// A foreign-arch image needs qemu-user registered with binfmt_misc.
func ldconfig(ctx context.Context, root string) error {
	argv := []string{"bwrap", "--bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--unshare-all", "--die-with-parent", "--", "/sbin/ldconfig"}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ldconfig in the image: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(root, "etc", "ld.so.cache")); err != nil {
		return fmt.Errorf("ldconfig in the image wrote no ld.so.cache: %w", err)
	}
	return nil
}

// Sandbox is the bwrap argv prefix that runs a command with root as the
// whole file system: read-only, a fresh /dev, /proc and /tmp, work
// mounted writable at MountWork, every namespace unshared (no network),
// and the
// sandbox gone with its parent. extra are more bwrap options (binds).
func Sandbox(root, work, chdir string, extra ...string) []string {
	argv := []string{"bwrap", "--ro-bind", root, "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"}
	if work != "" {
		argv = append(argv, "--bind", work, MountWork)
	}
	argv = append(argv, extra...)
	argv = append(argv, "--unshare-all", "--die-with-parent")
	if chdir != "" {
		argv = append(argv, "--chdir", chdir)
	}
	return argv
}
