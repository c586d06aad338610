package translator

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// Machine is what planning and preflight learn about the computer they run
// on. LocalMachine reads the real one; tests replace single fields so plans
// and preflight results do not depend on the machine running the tests.
type Machine struct {
	OS, Arch string // GOOS / GOARCH spelling
	CPUs     int
	// Getenv is the caller's environment: PATH for lookups and the values
	// of --pass-env variables. Nothing else of it reaches the translation.
	Getenv func(string) string
	// MemTotal returns the physical memory in bytes.
	MemTotal func() (uint64, error)
	// DiskFree returns the bytes available at path (or its nearest
	// existing parent).
	DiskFree func(path string) (uint64, error)
	// LookPath finds an executable on Getenv("PATH"); a name with a slash
	// is checked as it is.
	LookPath func(name string) (string, error)
	// Run runs a helper program (the host-interpreter probe) with exactly
	// env and returns its stdout.
	Run func(ctx context.Context, env []string, argv ...string) ([]byte, error)
	// PkgConfig reports whether pkg-config knows module; libdir, when not
	// empty, replaces pkg-config's search path (foreign-arch libraries).
	PkgConfig func(ctx context.Context, module, libdir string) bool
	// FileExists reports whether a file exists (header checks).
	FileExists func(path string) bool
	// AptCandidates asks apt which of pkgs it could install and at which
	// version ("" when it has none). nil when apt is not available.
	AptCandidates func(ctx context.Context, pkgs ...string) map[string]string
	// Binfmt reports how the kernel runs binaries of a qemu arch
	// ("aarch64"): through qemu-user with the F flag (BinfmtReady), or
	// what is missing for that (binfmt_misc).
	Binfmt func(qemuArch string) Binfmt
}

// LocalMachine describes the running computer, with getenv as the
// environment pypyctl was started with.
func LocalMachine(getenv func(string) string) *Machine {
	m := &Machine{
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
		Getenv:     getenv,
		MemTotal:   memTotal,
		DiskFree:   diskFree,
		FileExists: func(p string) bool { _, err := os.Stat(p); return err == nil },
	}
	m.LookPath = func(name string) (string, error) { return lookPath(name, getenv("PATH")) }
	m.Binfmt = func(arch string) Binfmt { return readBinfmt(binfmtDir, arch) }
	m.Run = func(ctx context.Context, env []string, argv ...string) ([]byte, error) {
		// Resolve through the caller's PATH, not this process's.
		if len(argv) > 0 && !strings.Contains(argv[0], "/") {
			p, err := m.LookPath(argv[0])
			if err != nil {
				return nil, err
			}
			argv = append([]string{p}, argv[1:]...)
		}
		return runHelper(ctx, env, argv...)
	}
	m.PkgConfig = func(ctx context.Context, module, libdir string) bool {
		pc, err := m.LookPath("pkg-config")
		if err != nil {
			return false
		}
		env := []string{"PATH=" + getenv("PATH"), "LC_ALL=C"}
		if libdir != "" {
			env = append(env, "PKG_CONFIG_LIBDIR="+libdir)
		}
		_, err = runHelper(ctx, env, pc, "--exists", module)
		return err == nil
	}
	m.AptCandidates = func(ctx context.Context, pkgs ...string) map[string]string {
		apt, err := m.LookPath("apt-cache")
		if err != nil {
			return nil
		}
		// apt-cache exits 0 and prints nothing for packages it never heard of.
		out, _ := runHelper(ctx, []string{"PATH=" + getenv("PATH"), "LC_ALL=C"}, append([]string{apt, "policy"}, pkgs...)...)
		return parseAptPolicy(out, pkgs)
	}
	return m
}

// parseAptPolicy reads `apt-cache policy` output: "name:" lines followed by
// an indented "Candidate: VERSION" ("(none)" when nothing installable).
func parseAptPolicy(out []byte, pkgs []string) map[string]string {
	res := make(map[string]string, len(pkgs))
	for _, p := range pkgs {
		res[p] = ""
	}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") && strings.HasSuffix(line, ":") {
			cur = strings.TrimSuffix(line, ":")
			continue
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Candidate:"); ok && cur != "" {
			v = strings.TrimSpace(v)
			if _, asked := res[cur]; asked && v != "(none)" {
				res[cur] = v
			}
		}
	}
	return res
}

func runHelper(ctx context.Context, env []string, argv ...string) ([]byte, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command")
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := oneLine(stderr.String(), 2); msg != "" {
			return out, fmt.Errorf("%s: %w: %s", filepath.Base(argv[0]), err, msg)
		}
		return out, fmt.Errorf("%s: %w", filepath.Base(argv[0]), err)
	}
	return out, nil
}

// lookPath is exec.LookPath against an explicit PATH, so a caller's
// environment (not the process's) decides what is found.
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		if isExecutable(name) {
			return filepath.Abs(name)
		}
		return "", fmt.Errorf("%s is not an executable file", name)
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if isExecutable(p) {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s: %w", name, exec.ErrNotFound)
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o111 != 0
}

// parseMemTotal reads the "MemTotal: N kB" line of /proc/meminfo.
func parseMemTotal(b []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			n, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse MemTotal %q: %w", f[1], err)
			}
			if len(f) >= 3 && f[2] != "kB" {
				return 0, fmt.Errorf("MemTotal in unexpected unit %q", f[2])
			}
			return n * 1024, nil
		}
	}
	return 0, errors.New("no MemTotal line in /proc/meminfo")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// oneLine squeezes the first n non-empty lines of a program's stderr into
// one line, so a problem report stays one finding per line.
func oneLine(s string, n int) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			parts = append(parts, l)
			if len(parts) == n {
				break
			}
		}
	}
	return strings.Join(parts, " / ")
}
