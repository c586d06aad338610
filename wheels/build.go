package wheels

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// BuildOptions configures Build.
type BuildOptions struct {
	// Tree is the assembled PyPy tree (its bin/pypy3 builds the wheel).
	Tree string
	// Arch is the tree's machine (x86_64, aarch64); only the host's is
	// built here, since compiling for another arch needs a cross compiler.
	Arch   string
	Src    string // a source dir or an sdist (.tar.gz)
	OutDir string
	Epoch  int64 // SOURCE_DATE_EPOCH
	Log    func(string)
}

// BuildResult is a built wheel and the interpreter facts it was built for.
type BuildResult struct {
	Wheel     string `json:"wheel"`
	ExtSuffix string `json:"ext_suffix"`
	SOABI     string `json:"soabi"`
}

// hostArch is the host's machine in wheel-tag spelling.
func hostArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	}
	return runtime.GOARCH
}

// Build builds SRC into a wheel with the tree's PyPy: a throwaway venv
// made offline by ensurepip (pip, setuptools and wheel from the tree's
// pinned wheels), then `pip wheel --no-deps --no-build-isolation
// --no-index` with SOURCE_DATE_EPOCH set, then the wheel rewritten
// reproducibly into OutDir.
func Build(ctx context.Context, o BuildOptions) (*BuildResult, error) {
	if o.Arch != "" && o.Arch != hostArch() {
		return nil, fmt.Errorf("building %s wheels on a %s host needs a cross compiler, which wheels build does not drive yet", o.Arch, hostArch())
	}
	py := filepath.Join(o.Tree, "bin", "pypy3")
	if _, err := os.Stat(py); err != nil {
		return nil, fmt.Errorf("tree %s: no bin/pypy3: %w", o.Tree, err)
	}
	log := o.Log
	if log == nil {
		log = func(string) {}
	}
	tmp, err := os.MkdirTemp("", "pypyctl-wheel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "src")
	if err := stageSource(o.Src, src); err != nil {
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
	log("venv: " + py + " -m venv")
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
	// setup.py's cffi_modules need the wheel package in the venv; the
	// tree's ensurepip installs it when pinned, else it is installed from
	// the tree's bundled wheel.
	if _, err := runIn(tmp, vpy, "-c", "import wheel"); err != nil {
		bundled, _ := filepath.Glob(filepath.Join(o.Tree, "lib", "pypy*", "ensurepip", "_bundled", "wheel-*.whl"))
		if len(bundled) == 0 {
			return nil, errors.New("the venv has no `wheel` package and the tree bundles none")
		}
		if _, err := runIn(tmp, vpy, "-m", "pip", "install", "--no-index", bundled[0]); err != nil {
			return nil, err
		}
	}
	dist := filepath.Join(tmp, "dist")
	log("pip wheel " + o.Src)
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

// stageSource copies a source dir, or unpacks an sdist, into dst: the
// build writes build/ and .egg-info into its source, which must not touch
// the user's tree.
func stageSource(src, dst string) error {
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
	return unpackSdist(src, dst)
}

// unpackSdist unpacks an sdist's single top directory into dst.
func unpackSdist(path, dst string) error {
	fh, err := os.Open(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		return fmt.Errorf("sdist %s: %w", path, err)
	}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sdist %s: %w", path, err)
		}
		// Drop the name-version/ top directory.
		_, rel, ok := strings.Cut(h.Name, "/")
		if !ok || rel == "" {
			continue
		}
		if !filepath.IsLocal(rel) {
			return fmt.Errorf("sdist %s: member %q escapes the tree", path, h.Name)
		}
		p := filepath.Join(dst, rel)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("sdist %s: %s: %w", path, h.Name, err)
			}
		}
	}
}
