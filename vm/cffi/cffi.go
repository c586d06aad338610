// Package cffi rebuilds a VM's cffi stdlib modules (_ssl, sqlite3, lzma,
// curses, _gdbm, …) on this host, against the system's -dev libraries, by
// running the VM's own pypy_tools/build_cffi_imports.py --rebuild. The
// compiled modules replace the prebuilt ones in the VM tree.
package cffi

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/translator/builder"
	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever the rebuild's output would change.
const StageVersion = 1

// ReportFile is the per-module report written beside vm.json.
const ReportFile = "cffi.json"

//go:embed driver.py
var driver []byte

// Options selects the modules, by build_cffi_imports.py's keys (_ssl,
// sqlite3, lzma, curses, _gdbm, …).
type Options struct {
	Only    []string // empty: every module the tree has a build script for
	Without []string
	Logger  *slog.Logger // nil: log nothing
	// Image, when set, is a builder image's root: the VM runs in it under
	// bwrap, compiling with the image's gcc and -dev libraries (those it
	// was translated against), with no network and the output directory
	// as the only writable one, mounted at /build.
	Image string
	// TestModules also compiles the C-API test modules the stdlib's tests
	// import (_testcapi, _ctypes_test, _testmultiphase), as upstream's
	// package.py does, when the tree has their C sources.
	TestModules bool
}

// Report says what was rebuilt.
type Report struct {
	Built   []Module  `json:"built"`
	Skipped []Skip    `json:"skipped"`
	Failed  []Failure `json:"failed"`
}

// Module is one rebuilt module.
type Module struct {
	Key    string `json:"key"`
	Script string `json:"script"`
}

// Skip is a module left as it was.
type Skip struct {
	Key string `json:"key"`
	Why string `json:"why"`
}

// Failure is a module that did not build, with the build's output.
type Failure struct {
	Key    string `json:"key"`
	Script string `json:"script"`
	Output string `json:"output"`
}

// FailedError lists every module that failed, each with the tail of its
// compiler output.
type FailedError struct{ Failed []Failure }

func (e *FailedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cffi rebuild: %d module(s) failed", len(e.Failed))
	for _, f := range e.Failed {
		fmt.Fprintf(&b, "\n--- %s (%s):\n%s", f.Key, f.Script, tail(f.Output, 25))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Rebuild copies the VM in inDir to outDir and rebuilds its cffi modules
// there. Files the build leaves behind (generated .c, .o, caches) are
// removed, so the tree differs from the input only in the modules.
func Rebuild(ctx context.Context, inDir, outDir string, o Options) (*Report, error) {
	meta, err := vm.ReadMetadata(inDir)
	if err != nil {
		return nil, err
	}
	if err := vm.Copy(ctx, inDir, outDir); err != nil {
		return nil, err
	}
	tree := vm.TreeDir(outDir)
	// lib_pypy is the stdlib directory in a 3.x tree, its own in a 2.7 one.
	libPyPy := filepath.Join(tree, "lib", "pypy"+short(meta.PythonVersion))
	if strings.HasPrefix(meta.PythonVersion, "2.") {
		libPyPy = filepath.Join(tree, "lib_pypy")
	}
	tools := filepath.Join(libPyPy, "pypy_tools")
	if _, err := os.Stat(filepath.Join(tools, "build_cffi_imports.py")); err != nil {
		return nil, fmt.Errorf("cffi rebuild: the VM has no pypy_tools/build_cffi_imports.py: %w", err)
	}
	before, err := listFiles(tree)
	if err != nil {
		return nil, err
	}
	// The scratch dir is inside the output, beside the tree, so a
	// sandbox that mounts only the output sees it; it goes at the end.
	work := filepath.Join(outDir, ".cffi-work")
	if err := os.Mkdir(work, 0o755); err != nil {
		return nil, fmt.Errorf("cffi rebuild: %w", err)
	}
	defer os.RemoveAll(work)
	// The script finds the pure-Python modules and build scripts in
	// <basedir>/lib_pypy, as in a source checkout. The link is relative so
	// it holds inside the sandbox too.
	link, err := filepath.Rel(work, libPyPy)
	if err != nil {
		return nil, fmt.Errorf("cffi rebuild: %w", err)
	}
	if err := os.Symlink(link, filepath.Join(work, "lib_pypy")); err != nil {
		return nil, fmt.Errorf("cffi rebuild: %w", err)
	}
	if err := os.WriteFile(filepath.Join(work, "driver.py"), driver, 0o644); err != nil {
		return nil, fmt.Errorf("cffi rebuild: %w", err)
	}
	// at names a path of the output as the VM sees it.
	at := func(p string) string { return p }
	pathEnv := os.Getenv("PATH")
	if o.Image != "" {
		at = func(p string) string {
			rel, _ := filepath.Rel(outDir, p)
			return builder.MountWork + "/" + filepath.ToSlash(rel)
		}
		pathEnv = "/usr/bin:/bin"
	}
	exe := filepath.Join(tree, meta.Interpreter)
	reportPath := filepath.Join(work, "report.json")
	argv := []string{at(exe), at(filepath.Join(work, "driver.py")), at(tools), at(work), at(exe),
		strings.Join(o.Only, ","), strings.Join(o.Without, ","), at(reportPath), strconv.FormatBool(o.TestModules)}
	if o.Image != "" {
		argv = append(append(builder.Sandbox(o.Image, outDir, builder.MountWork), "--"), argv...)
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = buildEnv(pathEnv, at(outDir), at(work))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	msg := "cffi       running build_cffi_imports.py --rebuild on this host"
	if o.Image != "" {
		msg = "cffi       running build_cffi_imports.py --rebuild in the builder image"
	}
	logging.OrDiscard(o.Logger).Info(msg)
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("cffi rebuild: build_cffi_imports.py: %w\n%s", err, tail(out.String(), 40))
	}
	b, err := os.ReadFile(reportPath)
	if err != nil {
		return nil, fmt.Errorf("cffi rebuild: no report from the driver: %w\n%s", err, tail(out.String(), 40))
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		return nil, fmt.Errorf("cffi rebuild: driver report: %w", err)
	}
	if len(rep.Failed) > 0 {
		return &rep, &FailedError{Failed: rep.Failed}
	}
	if err := removeLeftovers(tree, before); err != nil {
		return nil, err
	}
	rep.normalise()
	b, err = json.MarshalIndent(&rep, "", "  ")
	if err != nil {
		return nil, err
	}
	return &rep, fsutil.WriteFileAtomic(filepath.Join(outDir, ReportFile), append(b, '\n'), 0o644)
}

func (r *Report) normalise() {
	sort.Slice(r.Built, func(i, j int) bool { return r.Built[i].Key < r.Built[j].Key })
	sort.Slice(r.Skipped, func(i, j int) bool { return r.Skipped[i].Key < r.Skipped[j].Key })
	if r.Built == nil {
		r.Built = []Module{}
	}
	if r.Skipped == nil {
		r.Skipped = []Skip{}
	}
	r.Failed = []Failure{}
}

// buildEnv is a small fixed environment: the compiler sees no flags from
// whoever runs pypyctl, and paths of this run's directories are mapped
// away so the modules' bytes (and build-ids) do not depend on them.
func buildEnv(path, outDir, work string) []string {
	env := []string{
		"PATH=" + path,
		"HOME=" + work,
		"TMPDIR=" + work,
		"LC_ALL=C",
		"PYTHONDONTWRITEBYTECODE=1",
		"SOURCE_DATE_EPOCH=0",
		"CFLAGS=-ffile-prefix-map=" + outDir + "=/pypyctl/vm -ffile-prefix-map=" + work + "=/pypyctl/work",
	}
	return env
}

func short(pythonVersion string) string {
	p := strings.SplitN(pythonVersion, ".", 3)
	if len(p) < 2 {
		return pythonVersion
	}
	return p[0] + "." + p[1]
}

func listFiles(root string) (map[string]bool, error) {
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		seen[p] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cffi rebuild: %w", err)
	}
	return seen, nil
}

// removeLeftovers deletes what the build added to the tree besides
// compiled modules: generated C sources, objects, bytecode caches.
func removeLeftovers(root string, before map[string]bool) error {
	var extra []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if before[p] {
			return nil
		}
		if !d.IsDir() && strings.HasSuffix(p, ".so") {
			return nil
		}
		extra = append(extra, p)
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cffi rebuild: %w", err)
	}
	for _, p := range extra {
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cffi rebuild: %w", err)
		}
	}
	return nil
}

// devPackages are the Debian packages whose headers and libraries the
// modules compile against; their versions go into the stage's key.
var devPackages = []string{
	"gcc", "libc6-dev", "libffi-dev", "libssl-dev", "libsqlite3-dev", "libncurses-dev",
	"libgdbm-dev", "liblzma-dev", "libexpat1-dev", "tk-dev", "tcl-dev",
}

// DriverDigest identifies the driver script, for the stage's key.
func DriverDigest() string {
	sum := sha256.Sum256(driver)
	return hex.EncodeToString(sum[:])
}

// Toolchain names the host's compiler and -dev packages, for the store
// key: a rebuild on a host with other headers is another output.
func Toolchain(ctx context.Context) []string {
	var out []string
	if b, err := exec.CommandContext(ctx, "cc", "--version").Output(); err == nil {
		out = append(out, "cc="+strings.SplitN(string(b), "\n", 2)[0])
	}
	args := append([]string{"-W", "-f", "${Package}=${Version}\\n"}, devPackages...)
	b, _ := exec.CommandContext(ctx, "dpkg-query", args...).Output() // absent packages are just not listed
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}
