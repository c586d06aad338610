package translator

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/pypyctl/pypyctl/platforms"
)

// gb is the unit of the matrix's min_memory_gb and of --min-disk: decimal,
// because MemTotal of a "6 GB" machine is a little under 6 GiB.
const gb = 1000 * 1000 * 1000

// cDep is one C library the translation or the cffi modules after it
// compile against.
type cDep struct {
	Name      string // as users know it
	PkgConfig string // pkg-config module, "" when Debian ships no .pc
	Header    string // header that proves the -dev package is there
	Deb       string // Debian package with the headers
}

// cDeps are the libraries of PyPy's build: libffi, zlib, bz2, expat and
// ncurses for the translation itself, the rest for its cffi modules.
func cDeps() []cDep {
	return []cDep{
		{"libffi", "libffi", "ffi.h", "libffi-dev"},
		{"zlib", "zlib", "zlib.h", "zlib1g-dev"},
		{"bz2", "", "bzlib.h", "libbz2-dev"},
		{"expat", "expat", "expat.h", "libexpat1-dev"},
		{"openssl", "openssl", "openssl/ssl.h", "libssl-dev"},
		{"sqlite3", "sqlite3", "sqlite3.h", "libsqlite3-dev"},
		{"ncursesw", "ncursesw", "ncursesw/curses.h", "libncurses-dev"},
		{"gdbm", "", "gdbm.h", "libgdbm-dev"},
		{"lzma", "liblzma", "lzma.h", "liblzma-dev"},
		{"tk", "tk", "tcl8.6/tk.h", "tk-dev"},
	}
}

// Preflight finds every reason the plan would fail on this machine before
// anything is fetched or run. All findings are returned together.
func Preflight(ctx context.Context, p *Plan, t *platforms.Target, req Request) []Problem {
	m := req.Machine
	probs := []Problem{}
	sameOS := t.OS == m.OS
	if !sameOS {
		probs = append(probs, Problem{Check: "platform",
			Message: fmt.Sprintf("target %s is %s/%s but this machine is %s/%s", t.Name, t.OS, t.Arch, m.OS, m.Arch),
			Fix:     fmt.Sprintf("translate it on a %s builder (the matrix's CI runner for it: %s)", t.OS, t.Runner)})
	}
	image := p.Image != nil
	// Whether the image's programs can run here at all; when not, the
	// host probe inside it failed for that reason alone.
	imageRuns := true
	switch {
	case image:
		if _, err := m.LookPath("bwrap"); err != nil {
			probs = append(probs, Problem{Check: "builder", Message: fmt.Sprintf("builder %s needs bwrap, which is not on PATH", p.Builder),
				Fix: "apt-get install bubblewrap"})
			imageRuns = false
		}
		if sameOS && !nativeArch(t.Arch, m.Arch) {
			if pr, ok := binfmtProblem(t.Arch, m); !ok {
				probs = append(probs, pr)
				imageRuns = false
			}
		}
	case p.Builder == BuilderEmulated:
		if _, err := m.LookPath(p.Wrapper[0]); err != nil {
			probs = append(probs, Problem{Check: "builder",
				Message: fmt.Sprintf("builder emulated needs %s, which is not on PATH", p.Wrapper[0]),
				Fix:     "apt-get install qemu-user-static"})
		}
	case p.Builder == BuilderBwrap:
		if _, err := m.LookPath("bwrap"); err != nil {
			probs = append(probs, Problem{Check: "builder", Message: "builder bwrap needs bwrap, which is not on PATH",
				Fix: "apt-get install bubblewrap"})
		}
		fallthrough
	default:
		if sameOS && !nativeArch(t.Arch, m.Arch) {
			probs = append(probs, Problem{Check: "platform",
				Message: fmt.Sprintf("target %s is %s but this machine is %s", t.Name, t.Arch, m.Arch),
				Fix:     fmt.Sprintf("use --builder image (the target's builder image under qemu-user via binfmt_misc) or a native %s runner (matrix: %s)", t.Arch, t.Runner)})
		}
	}
	if image && !p.Host.Found {
		// An image not made yet is made before the run: only a probe
		// that failed inside a made image that can run is a problem.
		if req.ImageRoot != "" && imageRuns {
			probs = append(probs, Problem{Check: "host-python", Message: p.Host.Problem})
		}
	} else {
		probs = append(probs, hostProblems(ctx, p, t, m)...)
	}
	probs = append(probs, resourceProblems(p, req)...)
	// An image brings its own compiler and -dev libraries.
	if sameOS && t.OS == "linux" && !image {
		probs = append(probs, toolProblems(t, m)...)
		if pr, ok := libraryProblem(ctx, t, m, p.Builder, req.Sysroot); !ok {
			probs = append(probs, pr)
		}
	}
	return probs
}

// nativeArch says whether code for target runs on machine without
// emulation: the same arch, or 32-bit x86 on x86-64 (multilib).
func nativeArch(target, machine string) bool {
	return target == machine || (target == "386" && machine == "amd64")
}

// archOf maps an interpreter's platform.machine() and pointer size to the
// GOARCH it runs as; a 32-bit interpreter on an x86-64 kernel reports
// x86_64.
func archOf(machine string, bits int) string {
	switch strings.ToLower(machine) {
	case "x86_64", "amd64":
		if bits == 32 {
			return "386"
		}
		return "amd64"
	case "i386", "i486", "i586", "i686", "x86":
		return "386"
	case "aarch64", "arm64":
		return "arm64"
	case "s390x":
		return "s390x"
	case "ppc64le":
		return "ppc64le"
	case "riscv64":
		return "riscv64"
	}
	return strings.ToLower(machine)
}

func hostProblems(ctx context.Context, p *Plan, t *platforms.Target, m *Machine) []Problem {
	h := p.Host
	if !h.Found {
		msg := h.Problem
		if len(h.Tried) > 0 {
			msg += " (" + strings.Join(h.Tried, "; ") + ")"
		}
		fix := hostInstallAdvice(ctx, m, t.Platform)
		if strings.Contains(msg, "import cffi failed") {
			// A CPython 2.7 is there; cffi is all it lacks.
			fix = "install cffi into that Python 2.7 (python2.7 -m pip install cffi), or: " + fix
		}
		return []Problem{{Check: "host-python", Message: msg, Fix: fix}}
	}
	if got := archOf(h.Machine, h.Bits); got != t.Arch {
		return []Problem{{Check: "host-python",
			Message: fmt.Sprintf("%s runs as %s (%s, %d-bit) but target %s needs one that runs as %s: RPython translates for its host interpreter's CPU and word size", h.Path, got, h.Machine, h.Bits, t.Name, t.Arch),
			Fix:     fmt.Sprintf("pass --host-python with a PyPy2.7 for %s (pypy.org: pypy2.7-v7.3.20-%s)", t.Arch, t.Platform)}}
	}
	return nil
}

func resourceProblems(p *Plan, req Request) []Problem {
	m := req.Machine
	var probs []Problem
	// MinMemoryGB 0 means no check: the machine's size is not even read,
	// so --min-memory 0 works where memory cannot be measured.
	if p.MinMemoryGB <= 0 {
		// nothing to check
	} else if mem, err := m.MemTotal(); err != nil {
		probs = append(probs, Problem{Check: "memory", Message: fmt.Sprintf("cannot tell how much memory this machine has: %v", err),
			Fix: fmt.Sprintf("make sure it has %d GB and pass --min-memory 0 to skip the check", p.MinMemoryGB)})
	} else if mem < uint64(p.MinMemoryGB)*gb {
		probs = append(probs, Problem{Check: "memory",
			Message: fmt.Sprintf("this machine has %.1f GB of memory; translating %s needs %d GB", float64(mem)/gb, p.Target, p.MinMemoryGB),
			Fix:     fmt.Sprintf("use a bigger machine, or pass --min-memory %d to try anyway (RPython may be killed by the OOM killer)", mem/gb)})
	}
	where := req.WorkRoot
	if where == "" {
		where = "."
	}
	if free, err := m.DiskFree(where); err != nil {
		probs = append(probs, Problem{Check: "disk", Message: fmt.Sprintf("cannot tell free space at %s: %v", where, err)})
	} else if free < uint64(p.MinDiskGB)*gb {
		probs = append(probs, Problem{Check: "disk",
			Message: fmt.Sprintf("%.1f GB free at %s; a translation needs about %d GB (C sources, objects, binaries)", float64(free)/gb, where, p.MinDiskGB),
			Fix:     "free space there, move the cache (PYPYCTL_HOME or XDG_CACHE_HOME), or lower the floor with --min-disk"})
	}
	return probs
}

func toolProblems(t *platforms.Target, m *Machine) []Problem {
	cc := "gcc" // RPython's posix default (rpython/translator/platform/posix.py)
	if f := strings.Fields(t.Translation.CC); len(f) > 0 {
		cc = f[0]
	}
	var missing, debs []string
	for _, tool := range []struct{ name, deb string }{{cc, "gcc"}, {"make", "make"}, {"pkg-config", "pkg-config"}} {
		if _, err := m.LookPath(tool.name); err != nil {
			missing = append(missing, tool.name)
			debs = append(debs, tool.deb)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return []Problem{{Check: "tools", Message: "missing build tools: " + strings.Join(missing, ", "),
		Fix: "apt-get install " + strings.Join(debs, " ")}}
}

// libraryProblem checks each C dependency through pkg-config, falling back
// to its header, in the target's multiarch directories when the target is
// not this machine's arch (or under the emulated builder's sysroot).
func libraryProblem(ctx context.Context, t *platforms.Target, m *Machine, builder, sysroot string) (Problem, bool) {
	root := "/"
	if builder == BuilderEmulated && sysroot != "" {
		root = sysroot
	}
	foreign := t.Arch != m.Arch
	libdir := ""
	if foreign || root != "/" {
		libdir = path.Join(root, "usr/lib", t.Triplet, "pkgconfig") + ":" + path.Join(root, "usr/share/pkgconfig")
	}
	incs := []string{path.Join(root, "usr/include"), path.Join(root, "usr/local/include")}
	if t.Triplet != "" {
		incs = append(incs, path.Join(root, "usr/include", t.Triplet))
	}
	suffix := ""
	if foreign && t.DebianArch != "" {
		suffix = ":" + t.DebianArch
	}
	var missing, debs []string
	for _, d := range cDeps() {
		if d.PkgConfig != "" && m.PkgConfig(ctx, d.PkgConfig, libdir) {
			continue
		}
		found := false
		for _, inc := range incs {
			if m.FileExists(path.Join(inc, d.Header)) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("%s (%s)", d.Name, d.Header))
			debs = append(debs, d.Deb+suffix)
		}
	}
	if len(missing) == 0 {
		return Problem{}, true
	}
	return Problem{Check: "libraries", Message: "missing C libraries: " + strings.Join(missing, ", "),
		Fix: "apt-get install " + strings.Join(debs, " ")}, false
}

// PreflightError reports every preflight problem at once.
type PreflightError struct {
	Release, Target string
	Problems        []Problem
}

func (e *PreflightError) Error() string {
	var b strings.Builder
	n := len(e.Problems)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "cannot translate %s for %s: %d preflight problem%s", e.Release, e.Target, n, plural)
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  - %s: %s", p.Check, p.Message)
		if p.Fix != "" {
			fmt.Fprintf(&b, "\n    fix: %s", p.Fix)
		}
	}
	return b.String()
}

// binfmtProblem checks that the kernel runs the target's binaries through
// qemu-user by itself: inside a foreign-arch image RPython starts gcc,
// make and the built VM as ordinary programs. The fix is the exact
// commands for the state found.
func binfmtProblem(arch string, m *Machine) (Problem, bool) {
	q, ok := qemuArch(arch)
	if !ok {
		return Problem{Check: "builder", Message: fmt.Sprintf("no qemu-user emulation known for %s", arch)}, false
	}
	state := BinfmtUnmounted
	if m.Binfmt != nil {
		state = m.Binfmt(q)
	}
	if state == BinfmtReady {
		return Problem{}, true
	}
	return Problem{Check: "builder",
		Message: fmt.Sprintf("a builder image for %s on this %s machine needs the kernel to run %s binaries through qemu-user (binfmt_misc entry qemu-%s with the F flag): %s",
			arch, m.Arch, q, q, state.describe(q)),
		Fix: binfmtFix(state, q, m.FileExists(path.Join(binfmtConfDir, "qemu-"+q+".conf")))}, false
}
