package wheels

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/pypyctl/pypyctl/internal/archive"
	"github.com/pypyctl/pypyctl/internal/logging"
)

// BuildOptions configures Build.
type BuildOptions struct {
	// Tree is the assembled PyPy tree (its bin/pypy3 builds the wheel).
	Tree string
	// Arch is the tree's machine (x86_64, aarch64). Another arch than the
	// host's runs the tree's PyPy under Emulator and compiles with CrossCC.
	Arch string
	// Emulator is the qemu-user command prefix with its sysroot
	// (smoke.Emulator); CrossCC the C cross compiler for Arch
	// (CrossCompiler). Both are needed for a foreign Arch only.
	Emulator []string
	CrossCC  string
	Src      string // a source dir or an sdist (.tar.gz)
	OutDir   string
	Epoch    int64        // SOURCE_DATE_EPOCH
	Logger   *slog.Logger // nil: log nothing
}

// BuildResult is a built wheel and the interpreter facts it was built for.
type BuildResult struct {
	Wheel     string `json:"wheel"`
	ExtSuffix string `json:"ext_suffix"`
	SOABI     string `json:"soabi"`
}

// Arch is a Go architecture (a matrix target's arch) in wheel-tag
// spelling: x86_64, aarch64, i686.
func Arch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return goarch
}

// hostArch is the host's machine in wheel-tag spelling.
func hostArch() string { return Arch(runtime.GOARCH) }

// Build builds SRC into a wheel with the tree's PyPy: a throwaway venv
// made offline by ensurepip (pip, setuptools and wheel from the tree's
// pinned wheels), then `pip wheel --no-deps --no-build-isolation
// --no-index` with SOURCE_DATE_EPOCH set, then the wheel rewritten
// reproducibly into OutDir.
func Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	foreign := o.Arch != "" && o.Arch != hostArch()
	if foreign {
		if len(o.Emulator) == 0 {
			return nil, fmt.Errorf("building %s wheels on a %s host runs the tree under qemu-user: no emulator given", o.Arch, hostArch())
		}
		if o.CrossCC == "" {
			return nil, fmt.Errorf("no C cross compiler known for %s", o.Arch)
		}
		if _, err := exec.LookPath(o.CrossCC); err != nil {
			return nil, fmt.Errorf("%s not found: install gcc-%s-linux-gnu (and the -dev:%s packages the project links) to build %s wheels", o.CrossCC, o.Arch, debArch(o.Arch), o.Arch)
		}
	}
	py := filepath.Join(o.Tree, "bin", "pypy3")
	if _, err := os.Stat(py); err != nil {
		return nil, fmt.Errorf("tree %s: no bin/pypy3: %w", o.Tree, err)
	}
	log := logging.OrDiscard(o.Logger)
	tmp, err := os.MkdirTemp("", "pypyctl-wheel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if err := stageSource(ctx, o.Src, src); err != nil {
		return nil, err
	}
	venv := filepath.Join(tmp, "venv")
	// The temp dir's random name would land in the objects' debug info;
	// mapping it to a fixed prefix keeps two builds byte-identical.
	env := append(os.Environ(),
		"SOURCE_DATE_EPOCH="+strconv.FormatInt(o.Epoch, 10),
		"PIP_NO_INDEX=1", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PYTHONDONTWRITEBYTECODE=1",
		"CFLAGS=-ffile-prefix-map="+tmp+"=/build -fdebug-prefix-map="+tmp+"=/build",
		"LC_ALL=C")
	if foreign {
		// distutils takes the compiler and linker from the environment.
		env = append(env, "CC="+o.CrossCC, "LDSHARED="+o.CrossCC+" -shared")
	}
	runIn := func(dir string, argv ...string) (string, error) {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Dir, cmd.Env = dir, env
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			// %v, not %w: the CLI passes a wrapped *exec.ExitError's status
			// through silently (for `pypyctl run`), which would hide this.
			return "", fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out.String())
		}
		return out.String(), nil
	}
	// Build from a private copy of the tree: the tree may be a store
	// entry, and anything that writes into it (bytecode, a pip install
	// into the base) would damage the entry for every other reader.
	// cp -a keeps the bin/ symlinks, which the interpreter needs.
	priv := filepath.Join(tmp, "pypy")
	if out, err := exec.CommandContext(ctx, "cp", "-a", o.Tree, priv).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("copy tree %s: %v\n%s", o.Tree, err, out)
	}
	py = filepath.Join(priv, "bin", "pypy3")
	if foreign {
		if py, err = emulatedPython(tmp, py, o.Emulator); err != nil {
			return nil, err
		}
	}
	log.Info("making a venv", "python", py)
	if _, err := runIn(tmp, py, "-m", "venv", venv); err != nil {
		return nil, err
	}
	vpy := filepath.Join(venv, "bin", "python")
	facts, err := runIn(tmp, vpy, "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX')); print(sysconfig.get_config_var('SOABI'))")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(facts)
	if len(f) != 2 {
		return nil, fmt.Errorf("interpreter facts: got %q", facts)
	}
	res := &BuildResult{ExtSuffix: f[0], SOABI: f[1]}
	// setup.py's cffi_modules need bdist_wheel in the venv: setuptools
	// has its own since 70.1 (3.11's trees bundle 79.0.1); an older one
	// needs the wheel package, which the tree's ensurepip installs when
	// pinned, else it is installed from the tree's bundled wheel.
	_, noWheel := runIn(tmp, vpy, "-c", "import wheel")
	if noWheel != nil {
		_, noWheel = runIn(tmp, vpy, "-c", "import setuptools.command.bdist_wheel")
	}
	if noWheel != nil {
		bundled, _ := filepath.Glob(filepath.Join(o.Tree, "lib", "pypy*", "ensurepip", "_bundled", "wheel-*.whl"))
		if len(bundled) == 0 {
			return nil, errors.New("the venv has no `wheel` package and the tree bundles none")
		}
		if _, err := runIn(tmp, vpy, "-m", "pip", "install", "--no-index", bundled[0]); err != nil {
			return nil, err
		}
	}
	dist := filepath.Join(tmp, "dist")
	log.Info("pip wheel", "src", o.Src)
	if _, err := runIn(src, vpy, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, "."); err != nil {
		return nil, err
	}
	built, _ := filepath.Glob(filepath.Join(dist, "*.whl"))
	if len(built) != 1 {
		return nil, fmt.Errorf("pip wheel made %d wheels, want 1", len(built))
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return nil, err
	}
	res.Wheel = filepath.Join(o.OutDir, filepath.Base(built[0]))
	if err := Normalize(built[0], res.Wheel, o.Epoch); err != nil {
		return nil, err
	}
	// The wheel must be the interpreter's: its extension modules carry the
	// EXT_SUFFIX of the PyPy that built them, and check ties the tags to it.
	rep, err := Check(res.Wheel)
	if err != nil {
		return nil, err
	}
	for _, e := range rep.ELFs {
		if extSuffix.MatchString(e.Path) && !strings.HasSuffix(e.Path, res.ExtSuffix) {
			rep.Problems = append(rep.Problems, fmt.Sprintf("%s: not the interpreter's EXT_SUFFIX %s", e.Path, res.ExtSuffix))
		}
	}
	if !rep.OK() {
		os.Remove(res.Wheel)
		return nil, fmt.Errorf("built wheel %s fails its check: %s", filepath.Base(res.Wheel), strings.Join(rep.Problems, "; "))
	}
	return res, nil
}

// emulatedPython writes a script that runs the foreign interpreter under
// qemu-user with argv[0] set to the script itself (qemu's -0): PyPy then
// reports the script as sys.executable, so the venv made from it, and
// every child process pip and setuptools start through sys.executable,
// run emulated too, with no binfmt_misc registration on the host.
func emulatedPython(dir, py string, emulator []string) (string, error) {
	real, err := filepath.EvalSymlinks(py)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec")
	for _, a := range emulator {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString(` -0 "$0" ` + shellQuote(real) + ` "$@"` + "\n")
	p := filepath.Join(dir, "pypy3-emulated")
	return p, os.WriteFile(p, []byte(b.String()), 0o755)
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// CrossCompiler is the Debian cross compiler for a wheel arch ("" if none).
func CrossCompiler(arch string) string {
	switch arch {
	case "aarch64":
		return "aarch64-linux-gnu-gcc"
	case "x86_64":
		return "x86_64-linux-gnu-gcc"
	}
	return ""
}

func debArch(arch string) string {
	switch arch {
	case "aarch64":
		return "arm64"
	case "x86_64":
		return "amd64"
	}
	return arch
}

// stageSource copies a source dir, or unpacks an sdist, into dst: the
// build writes build/ and .egg-info into its source, which must not touch
// the user's tree.
func stageSource(ctx context.Context, src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	if st.IsDir() {
		return os.CopyFS(dst, os.DirFS(src))
	}
	if !strings.HasSuffix(src, ".tar.gz") {
		return fmt.Errorf("%s: want a source directory or a .tar.gz sdist", src)
	}
	// archive.Extract refuses entries that would escape dst; the sdist's
	// name-version/ top directory is dropped.
	return archive.Extract(ctx, src, dst, archive.ExtractOptions{StripComponents: 1})
}
