// Package smoke runs a built tree's own interpreter to prove the tree
// works: the stdlib's native modules import, the interpreter reports the
// tags the metadata claims, and (on the host architecture) a cffi API-mode
// module compiles and imports. Foreign architectures run under qemu-user
// with a sysroot made from Debian packages.
package smoke

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/pypyctl/pypyctl/vm"
)

// StageVersion changes whenever the Report Run gives for the same tree
// would change, so stored smoke reports of older versions stop matching.
const StageVersion = 1

// Options says what to check and how to run the interpreter.
type Options struct {
	Tree     string       // the release tree (…/pypy3.9-v7.3.11-linux64)
	Meta     *vm.Metadata // what the tree must report
	Emulator []string     // command prefix for foreign arches, e.g. qemu-aarch64-static -L SYSROOT
	WorkDir  string       // scratch space for the cffi check; a temp dir when empty
}

// Report is what the interpreter said about itself.
type Report struct {
	Implementation string `json:"implementation"`
	PyPyVersion    string `json:"pypy_version"`
	PythonVersion  string `json:"python_version"`
	SOABI          string `json:"soabi"`
	ExtSuffix      string `json:"ext_suffix"`
	OpenSSL        string `json:"openssl"`
	SQLite         string `json:"sqlite"`
	Machine        string `json:"machine"`
	CFFIModule     bool   `json:"cffi_module"` // the API-mode module compiled and ran
	Emulated       bool   `json:"emulated"`
}

const probe = `
import json, platform, sys, sysconfig
import ssl, sqlite3, lzma, ctypes, cffi, hashlib
hashlib.sha3_256(b"pypyctl").hexdigest()
print(json.dumps({
    "implementation": sys.implementation.name,
    "pypy_version": "%d.%d.%d" % sys.pypy_version_info[:3],
    "python_version": platform.python_version(),
    "soabi": sysconfig.get_config_var("SOABI"),
    "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
    "openssl": ssl.OPENSSL_VERSION,
    "sqlite": sqlite3.sqlite_version,
    "machine": platform.machine(),
}))
`

// probe27 is probe for a 2.7 tree: no lzma, no sha3, no
// sys.implementation, and the suffix is sysconfig's SO.
const probe27 = `
import json, platform, sys, sysconfig
import ssl, sqlite3, ctypes, cffi, hashlib
print(json.dumps({
    "implementation": platform.python_implementation().lower(),
    "pypy_version": "%d.%d.%d" % sys.pypy_version_info[:3],
    "python_version": platform.python_version(),
    "soabi": sysconfig.get_config_var("SOABI"),
    "ext_suffix": sysconfig.get_config_var("SO"),
    "openssl": ssl.OPENSSL_VERSION,
    "sqlite": sqlite3.sqlite_version,
    "machine": platform.machine(),
}))
`

// cffiProbe builds an API-mode extension with the tree's headers and the
// host C compiler, then imports it.
const cffiProbe = `
import sys
from cffi import FFI
ffi = FFI()
ffi.cdef("int pypyctl_add(int, int);")
ffi.set_source("_pypyctl_smoke", "static int pypyctl_add(int a, int b) { return a + b; }")
ffi.compile(tmpdir=sys.argv[1])
sys.path.insert(0, sys.argv[1])
import _pypyctl_smoke
assert _pypyctl_smoke.lib.pypyctl_add(2, 40) == 42
print("cffi-ok")
`

// Run executes the checks on a copy of the tree in a scratch directory:
// PyPy writes bytecode caches for its start-up modules whatever the flags,
// and the tree under test is a store entry that must not change. The copy
// also proves once more that the tree runs from wherever it is put.
// An error carries the interpreter's own output.
func Run(ctx context.Context, o Options) (*Report, error) {
	scratch, err := os.MkdirTemp("", "pypyctl-smoke-tree-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	copied := filepath.Join(scratch, filepath.Base(o.Tree))
	if out, err := exec.CommandContext(ctx, "cp", "-a", o.Tree, copied).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("smoke test: copy tree: %v: %s", err, out)
	}
	o.Tree = copied
	interp, script := filepath.Join(o.Tree, "bin", "pypy3"), probe
	if o.Meta.PythonVersion != "" && strings.HasPrefix(o.Meta.PythonVersion, "2.") {
		interp, script = filepath.Join(o.Tree, "bin", "pypy"), probe27
	}
	out, err := run(ctx, o, interp, "-c", script)
	if err != nil {
		return nil, err
	}
	var rep Report
	if err := json.Unmarshal(lastLine(out), &rep); err != nil {
		return nil, fmt.Errorf("smoke test: unreadable interpreter output %q: %w", out, err)
	}
	rep.Emulated = len(o.Emulator) > 0
	var bad []string
	check := func(what, got, want string) {
		if want != "" && got != want {
			bad = append(bad, fmt.Sprintf("%s is %q, metadata says %q", what, got, want))
		}
	}
	check("implementation", rep.Implementation, "pypy")
	check("PyPy version", rep.PyPyVersion, o.Meta.PyPyVersion)
	check("Python version", rep.PythonVersion, o.Meta.PythonVersion)
	check("SOABI", rep.SOABI, o.Meta.SOABI)
	check("EXT_SUFFIX", rep.ExtSuffix, o.Meta.ExtSuffix)
	if len(bad) > 0 {
		return &rep, fmt.Errorf("smoke test of %s: %s", o.Tree, strings.Join(bad, "; "))
	}
	if !rep.Emulated && o.Meta.Arch == runtime.GOARCH {
		work := o.WorkDir
		if work == "" {
			if work, err = os.MkdirTemp("", "pypyctl-smoke-"); err != nil {
				return &rep, err
			}
			defer os.RemoveAll(work)
		}
		if _, err := run(ctx, o, interp, "-c", cffiProbe, work); err != nil {
			return &rep, err
		}
		rep.CFFIModule = true
	}
	return &rep, nil
}

func run(ctx context.Context, o Options, interp string, args ...string) ([]byte, error) {
	argv := slices.Concat(o.Emulator, []string{interp}, args)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A clean, fixed environment: the tree must not lean on the caller's.
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C.UTF-8", "HOME=" + os.TempDir(), "PYTHONDONTWRITEBYTECODE=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("smoke test of %s failed (%v):\n%s%s", o.Tree, err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

func lastLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		return b[i+1:]
	}
	return b
}
