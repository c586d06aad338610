package smoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pypyctl/pypyctl/internal/debrepo"
	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/vm/debian"
)

// Qemu maps Debian architectures to qemu-user binaries.
var qemu = map[string]string{
	"arm64": "qemu-aarch64-static",
	"s390x": "qemu-s390x-static",
	"i386":  "qemu-i386-static",
	"amd64": "qemu-x86_64-static",
}

// Emulator returns the command prefix that runs debArch binaries with a
// sysroot, or an error naming the package to install.
func Emulator(debArch, sysroot string) ([]string, error) {
	bin, ok := qemu[debArch]
	if !ok {
		return nil, fmt.Errorf("no qemu-user emulator known for %s", debArch)
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%s not found: install qemu-user-static to run %s trees", bin, debArch)
	}
	return []string{p, "-L", sysroot}, nil
}

// EmulatorFor returns the command prefix that runs a VM of debArch on
// this host: qemu-user with a sysroot of the VM's runtime Debian
// dependencies (its vm.Metadata.RuntimeDepends), made once under
// cacheDir by EnsureSysroot.
func EmulatorFor(ctx context.Context, cacheDir, debArch string, runtimeDepends []string, log *slog.Logger) ([]string, error) {
	pkgs, err := debrepo.PackageNames(runtimeDepends)
	if err != nil {
		return nil, err
	}
	sysroot, err := EnsureSysroot(ctx, cacheDir, debArch, pkgs, log)
	if err != nil {
		return nil, err
	}
	return Emulator(debArch, sysroot)
}

// EnsureSysroot returns a directory holding the named packages of debArch
// unpacked, made once with `apt-get download` and kept under cacheDir. It
// is a test environment for emulation, not an input to any artifact. A nil
// log logs nothing.
func EnsureSysroot(ctx context.Context, cacheDir, debArch string, pkgs []string, log *slog.Logger) (string, error) {
	sum := sha256.Sum256([]byte(debArch + "\n" + strings.Join(pkgs, "\n")))
	dir := filepath.Join(cacheDir, "sysroots", debArch+"-"+hex.EncodeToString(sum[:6]))
	lock, err := fsutil.Acquire(ctx, dir+".lock", nil)
	if err != nil {
		return "", err
	}
	defer lock.Release()
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	dl := filepath.Join(tmp, ".debs")
	if err := os.MkdirAll(dl, 0o755); err != nil {
		return "", err
	}
	logging.OrDiscard(log).Info("making sysroot for emulation", "arch", debArch, "packages", len(pkgs))
	args := []string{"download"}
	for _, p := range pkgs {
		args = append(args, p+":"+debArch)
	}
	cmd := exec.CommandContext(ctx, "apt-get", args...)
	cmd.Dir = dl
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("sysroot for %s: apt-get download failed (is the architecture enabled? dpkg --add-architecture %s && apt-get update): %v: %s", debArch, debArch, err, strings.TrimSpace(out.String()))
	}
	debs, _ := filepath.Glob(filepath.Join(dl, "*.deb"))
	sort.Strings(debs)
	for _, p := range debs {
		d, err := debian.Open(p)
		if err != nil {
			return "", err
		}
		if err := d.ExtractAll(tmp); err != nil {
			return "", fmt.Errorf("sysroot: %w", err)
		}
	}
	if err := os.RemoveAll(dl); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("sysroot: %w", err)
	}
	return dir, nil
}
