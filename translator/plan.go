package translator

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator/builder"
)

// Builders run the same command in different surroundings.
const (
	BuilderHost     = "host"     // in place, on this machine
	BuilderBwrap    = "bwrap"    // under bubblewrap: read-only /, only the work dir writable, no network
	BuilderEmulated = "emulated" // a foreign-arch host interpreter under qemu-user
	// BuilderImage runs in a pinned builder image (translator/builder):
	// "image" for the default image, "image:NAME" for another.
	BuilderImage = "image"
	// DefaultImage is the builder image "image" means: Debian bullseye
	// with PyPy 2.7 as host and gcc 10.
	DefaultImage = "pypy2-bullseye"
)

const (
	// planStageVersion changes when the same plan would give other bytes.
	planStageVersion = 2 // 2: build date from SOURCE_DATE_EPOCH, revision from the pin
	// DefaultTimeout is what PyPy's own buildbots allow a translation.
	DefaultTimeout = 2 * time.Hour
	// DefaultMinDiskGB covers the C sources, objects and binaries of a
	// 64-bit JIT translation with room to spare.
	DefaultMinDiskGB = 10
	// WorkVar stands for the per-run scratch directory in plans: the plan
	// (and so its key) must not depend on temp paths.
	WorkVar = "$WORK"
	// ImageVar stands for the builder image's root file system, whose
	// place depends on the store's path.
	ImageVar = "$IMAGE"
	// imageHost is the host interpreter inside a builder image.
	imageHost = "/usr/bin/pypy"
	// goalDir is where RPython is run from, relative to the source root.
	goalDir = "pypy/goal"
)

// Request is what a translation is asked to do.
type Request struct {
	Release *platforms.Release
	Target  *platforms.Target
	// Builder overrides the target's builder (host, bwrap, emulated).
	Builder string
	// HostPython is --host-python; empty means look on PATH.
	HostPython string
	// SourceDir is --source: a local checkout instead of the release's.
	SourceDir string
	// PassEnv names extra variables to let through from the caller's
	// environment; their values become part of the key.
	PassEnv []string
	// MinMemoryGB overrides the target's min_memory_gb when > 0; a
	// negative value turns the memory check off (--min-memory 0). MinDiskGB
	// is the free-space floor at WorkRoot.
	MinMemoryGB, MinDiskGB int
	Timeout                time.Duration
	// Sysroot is qemu-user's -L for the emulated builder.
	Sysroot string
	// WorkRoot is where per-run scratch directories go (disk check).
	WorkRoot string
	Machine  *Machine
	Sources  *Sources
	// Image is the builder image of an image builder (its pins and key);
	// ImageRoot its root file system when already made (the host is
	// probed inside it then).
	Image     *builder.Image
	ImageRoot string
	// RPythonTarget translates another RPython target of the same source
	// (a path from the source root, e.g.
	// rpython/translator/goal/targetnopstandalone.py) instead of
	// targetpypystandalone: a small program proves a builder in seconds.
	RPythonTarget string
}

// EnvVar is one variable of the translation's environment. Values of
// inherited and passed variables are read at run time and never printed.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	From  string `json:"from"` // plan | release | target | inherited | pass-env
}

// Output is one file RPython leaves behind that the VM consists of.
type Output struct {
	Name string `json:"name"` // path in the store entry, e.g. vm/pypy3.11-c
	From string `json:"from"` // path in the source tree, e.g. pypy/goal/pypy3.11-c
	Kind string `json:"kind"` // executable | library | import-library | headers
}

// KindHeaders marks a directory output: the C headers of cpyext.
const KindHeaders = "headers"

// Problem is one preflight finding.
type Problem struct {
	Check   string `json:"check"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// Plan is everything one translation will do. Its Key names the
// translated VM in the store.
type Plan struct {
	Release       string `json:"release"`
	PyPyVersion   string `json:"pypy_version"`
	PythonVersion string `json:"python_version"`
	Target        string `json:"target"`
	OS            string `json:"os"`
	Arch          string `json:"arch"`
	Builder       string `json:"builder"`
	// Image is the builder image (name, Debian arch, key) of an image
	// builder.
	Image  *ImageRef  `json:"image,omitempty"`
	Source SourceInfo `json:"source"`
	Host   HostPython `json:"host"`
	// Dir is where Command runs, relative to the source root.
	Dir     string   `json:"dir"`
	Command []string `json:"command"`
	// Wrapper prefixes Command for the builder (bwrap, qemu-user).
	Wrapper []string `json:"wrapper,omitempty"`
	Env     []EnvVar `json:"env"`
	// Toolchain is what the host builders' compiler and libraries are
	// (gcc version, pkg-config versions): part of the key, so another
	// toolchain's VM is never a hit. An image's key covers its own.
	Toolchain      map[string]string `json:"toolchain,omitempty"`
	Outputs        []Output          `json:"outputs"`
	MinMemoryGB    int               `json:"min_memory_gb"`
	MinDiskGB      int               `json:"min_disk_gb"`
	Timeout        string            `json:"timeout"`
	Key            string            `json:"key"`
	KeyProvisional bool              `json:"key_provisional"`
	Notes          []string          `json:"notes,omitempty"`
	Preflight      []Problem         `json:"preflight"`

	timeout time.Duration
	passEnv map[string]string
	rel     *platforms.Release
	image   *builder.Image
}

// ImageRef names a plan's builder image.
type ImageRef struct {
	Name  string `json:"name"`
	Suite string `json:"suite"`
	Arch  string `json:"arch"` // Debian architecture
	Key   string `json:"key"`
	// Host is the pinned version of the image's host interpreter package.
	Host string `json:"host_package"`
}

// HostMissingCommand stands for the interpreter in a plan without one.
const HostMissingCommand = "<python2.7>"

// NewPlan derives the plan for one release and target: it describes the
// source (digest from the store when fetched before), finds and probes
// the host interpreter, lays out command, environment and outputs, and
// runs the preflight checks into Plan.Preflight. It fails only on bad
// requests; machine problems are preflight findings.
func NewPlan(ctx context.Context, req Request) (*Plan, error) {
	r, t, m := req.Release, req.Target, req.Machine
	if r == nil || t == nil || m == nil {
		return nil, fmt.Errorf("translation plan: release, target and machine are required")
	}
	if _, ok := r.Target(t.Name); !ok {
		names := make([]string, len(r.Targets))
		for i, rt := range r.Targets {
			names[i] = rt.Name
		}
		return nil, fmt.Errorf("release %s does not ship target %s (it ships: %s)", r.Name, t.Name, strings.Join(names, ", "))
	}
	p := &Plan{
		Release: r.Name, PyPyVersion: r.PyPyVersion, PythonVersion: r.PythonVersion,
		Target: t.Name, OS: t.OS, Arch: t.Arch,
		Builder:   firstNonEmpty(req.Builder, t.Builder, BuilderHost),
		Dir:       goalDir,
		image:     req.Image,
		MinDiskGB: req.MinDiskGB,
		timeout:   req.Timeout,
		rel:       r,
	}
	p.MinMemoryGB = t.Translation.MinMemoryGB
	switch {
	case req.MinMemoryGB > 0:
		p.MinMemoryGB = req.MinMemoryGB
	case req.MinMemoryGB < 0:
		p.MinMemoryGB = 0 // no check
	}
	if p.MinDiskGB <= 0 {
		p.MinDiskGB = DefaultMinDiskGB
	}
	if p.timeout <= 0 {
		p.timeout = DefaultTimeout
	}
	p.Timeout = p.timeout.String()

	target := "targetpypystandalone"
	if req.RPythonTarget != "" {
		dir, file, err := rpythonTarget(req.RPythonTarget)
		if err != nil {
			return nil, err
		}
		p.Dir, target = dir, file
	}
	if p.Builder == BuilderImage || strings.HasPrefix(p.Builder, BuilderImage+":") {
		if req.Image == nil {
			return nil, fmt.Errorf("builder %s: no builder image selected", p.Builder)
		}
		p.Builder = BuilderImage + ":" + req.Image.Name
		p.Image = &ImageRef{Name: req.Image.Name, Suite: req.Image.Suite, Arch: req.Image.Arch, Key: req.Image.Key, Host: req.Image.Package("pypy")}
	}
	wrapper, err := builderWrapper(p.Builder, t.Arch, req.Sysroot, p.Dir)
	if err != nil {
		return nil, err
	}
	p.Wrapper = wrapper

	if req.SourceDir != "" {
		if p.Source, err = SourceFromDir(ctx, req.SourceDir); err != nil {
			return nil, err
		}
	} else {
		if p.Source, err = SourceFromRelease(r); err != nil {
			return nil, err
		}
		if err := req.Sources.Lookup(&p.Source); err != nil {
			return nil, err
		}
	}

	if p.Env, p.passEnv, err = planEnv(r, t, req.PassEnv, m.Getenv); err != nil {
		return nil, err
	}
	// The probe gets the --pass-env values the run gets.
	var probeEnv []string
	for _, e := range p.Env {
		if v, ok := p.passEnv[e.Name]; ok {
			probeEnv = append(probeEnv, e.Name+"="+v)
		}
	}
	var probePrefix []string
	switch {
	case p.Image != nil && req.ImageRoot != "":
		probe := append(builder.Sandbox(req.ImageRoot, "", "/"), "--")
		if h, err := ProbeHost(ctx, m, probe, imageHost, probeEnv...); err != nil {
			p.Host = HostPython{Path: imageHost, Problem: fmt.Sprintf("builder image %s: %v", p.Image.Name, err)}
		} else {
			p.Host = h
		}
	case p.Image != nil:
		p.Host = HostPython{Path: imageHost, Problem: fmt.Sprintf("builder image %s (%s, key %s) is not made yet; translate makes it from its pinned packages (host: pypy %s)",
			p.Image.Name, p.Image.Arch, req.Image.Short(), p.Image.Host)}
	default:
		if p.Builder == BuilderEmulated {
			probePrefix = wrapper
		}
		p.Host = FindHost(ctx, m, req.HostPython, probePrefix, probeEnv...)
	}

	jobs := t.Translation.MakeJobs
	if jobs <= 0 {
		jobs = m.CPUs
	}
	host := HostMissingCommand
	if p.Host.Found {
		host = p.Host.Path
	}
	if p.Image != nil {
		host = imageHost
	}
	if req.RPythonTarget != "" {
		p.Command = append([]string{host}, smallTargetArgs(p.Dir, target, t.Translation, jobs)...)
		p.Outputs = []Output{{Name: "vm/" + strings.TrimSuffix(target, ".py") + "-c", From: p.Dir + "/" + strings.TrimSuffix(target, ".py") + "-c", Kind: "executable"}}
	} else {
		p.Command = append([]string{host}, rpythonArgs(t.Translation, jobs)...)
		p.Outputs = expectedOutputs(r, t)
	}
	if p.Image != nil {
		for i := range p.Env {
			if p.Env[i].Name == "PATH" {
				p.Env[i] = EnvVar{Name: "PATH", Value: "/usr/local/bin:/usr/bin:/bin", From: "image"}
			}
		}
	} else if t.OS == m.OS {
		p.Toolchain = hostToolchain(ctx, m, t)
	}
	p.notes(r, t, req.PassEnv, m.Getenv)
	if err := p.computeKey(); err != nil {
		return nil, err
	}
	if p.Source.Digest == "" {
		p.Notes = append(p.Notes, "key is provisional: the source is not fetched yet; its content digest replaces the pin at run time")
	}
	if !p.Host.Found && p.Image == nil {
		p.Notes = append(p.Notes, "key is provisional: no host interpreter, whose version is part of the key")
	}
	p.Preflight = Preflight(ctx, p, t, req)
	return p, nil
}

// rpythonArgs is the command after the interpreter. Option spellings are
// RPython's own: translate.py takes --batch and --opt (-O);
// rpython/config/translationoption.py defines --gc, --shared (negated as
// --no-shared), --lto and --make-jobs. Options after the target name go
// to targetpypystandalone (translate.py stops parsing there).
func rpythonArgs(tr platforms.Translation, jobs int) []string {
	args := []string{"../../rpython/bin/rpython", "--batch"}
	if tr.Opt != "" {
		args = append(args, "--opt="+tr.Opt)
	}
	if tr.GC != "" {
		args = append(args, "--gc="+tr.GC)
	}
	if tr.Shared {
		args = append(args, "--shared")
	} else {
		args = append(args, "--no-shared")
	}
	if tr.LTO {
		args = append(args, "--lto")
	}
	if jobs > 0 {
		args = append(args, "--make-jobs="+strconv.Itoa(jobs))
	}
	args = append(args, tr.RPythonOptions...)
	args = append(args, "targetpypystandalone")
	return append(args, tr.TargetOptions...)
}

// qemuArch maps GOARCH to qemu-user's binary suffix.
func qemuArch(goarch string) (string, bool) {
	a, ok := map[string]string{
		"amd64": "x86_64", "386": "i386", "arm64": "aarch64", "arm": "arm",
		"s390x": "s390x", "ppc64le": "ppc64le", "riscv64": "riscv64",
	}[goarch]
	return a, ok
}

// builderWrapper is the argv prefix a builder puts before the command.
func builderWrapper(b, arch, sysroot, dir string) ([]string, error) {
	switch b {
	case BuilderHost:
		return nil, nil
	case BuilderBwrap:
		// Read-only root, a fresh /dev and /proc, only the scratch dir
		// writable, every namespace (network included) unshared, and the
		// sandbox gone when its parent dies.
		return []string{"bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
			"--bind", WorkVar, WorkVar, "--unshare-all", "--die-with-parent",
			"--chdir", WorkVar + "/src/" + dir, "--"}, nil
	case BuilderEmulated:
		q, ok := qemuArch(arch)
		if !ok {
			return nil, fmt.Errorf("builder emulated: no qemu-user binary known for arch %s", arch)
		}
		w := []string{"qemu-" + q + "-static"}
		if sysroot != "" {
			w = append(w, "-L", sysroot)
		}
		return w, nil
	}
	if strings.HasPrefix(b, BuilderImage+":") {
		// The image is the whole file system; the scratch dir appears at
		// a fixed path, so the generated C does not name the host's.
		return append(builder.Sandbox(ImageVar, WorkVar, builder.MountWork+"/src/"+dir), "--"), nil
	}
	return nil, fmt.Errorf("unknown builder %q (want host, bwrap, emulated or image[:NAME])", b)
}

// expectedOutputs are the files RPython copies into pypy/goal: the
// executable named by targetpypystandalone ("pypy%d.%d-%(backend)s", or
// "pypy-%(backend)s" for 2.7) and, when shared, "lib" + that + the
// platform's shared-library suffix (rpython/translator/platform). On
// Windows a shared build also leaves the GUI launcher (name + "w.exe") and
// the import library ../../libs/pythonXY.lib.
func expectedOutputs(r *platforms.Release, t *platforms.Target) []Output {
	base := "pypy" + r.PythonShort() + "-c"
	if r.Major() == "2" {
		base = "pypy-c"
	}
	out := func(name, kind string) Output {
		return Output{Name: "vm/" + name, From: goalDir + "/" + name, Kind: kind}
	}
	// The C headers of cpyext: RPython writes the generated ones
	// (pypy_decl.h, pypy_macros.h, …) beside the copied ones in the
	// source's include/, which upstream's package.py ships.
	headers := Output{Name: "include", From: "include", Kind: KindHeaders}
	shared := t.Translation.Shared
	switch t.OS {
	case "windows":
		outs := []Output{out(base+".exe", "executable")}
		if shared {
			lib := "libs/python" + r.PythonNoDot() + ".lib"
			outs = append(outs, out(base+"w.exe", "executable"), out("lib"+base+".dll", "library"),
				Output{Name: "vm/" + lib, From: lib, Kind: "import-library"})
		}
		return append(outs, headers)
	case "darwin":
		if shared {
			return []Output{out(base, "executable"), out("lib"+base+".dylib", "library"), headers}
		}
	default:
		if shared {
			return []Output{out(base, "executable"), out("lib"+base+".so", "library"), headers}
		}
	}
	return []Output{out(base, "executable"), headers}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// planEnv is the translation's whole environment: nothing of the caller's
// gets in except PATH and the --pass-env names.
func planEnv(r *platforms.Release, t *platforms.Target, pass []string, getenv func(string) string) ([]EnvVar, map[string]string, error) {
	env := []EnvVar{
		{Name: "PATH", From: "inherited"},
		{Name: "HOME", Value: WorkVar + "/home", From: "plan"},
		{Name: "TMPDIR", Value: WorkVar + "/tmp", From: "plan"},
		{Name: "PYPY_USESSION_DIR", Value: WorkVar + "/usession", From: "plan"},
		// Without it rpython/tool/udir.py asks git/hg for a branch name.
		{Name: "PYPY_USESSION_BASENAME", Value: "pypyctl", From: "plan"},
		{Name: "SOURCE_DATE_EPOCH", Value: strconv.FormatInt(r.SourceDateEpoch, 10), From: "release"},
		{Name: "PYTHONHASHSEED", Value: "0", From: "plan"},
		{Name: "LC_ALL", Value: "C.UTF-8", From: "plan"},
		{Name: "TZ", Value: "UTC", From: "plan"},
	}
	if t.Translation.CC != "" {
		env = append(env, EnvVar{Name: "CC", Value: t.Translation.CC, From: "target"})
	}
	if t.Translation.CFlags != "" {
		env = append(env, EnvVar{Name: "CFLAGS", Value: t.Translation.CFlags, From: "target"})
	}
	values := map[string]string{}
	for _, name := range pass {
		if !envNameRE.MatchString(name) {
			return nil, nil, fmt.Errorf("--pass-env %q is not a variable name", name)
		}
		if slices.ContainsFunc(env, func(e EnvVar) bool { return e.Name == name }) {
			return nil, nil, fmt.Errorf("--pass-env %s: the plan sets %s itself", name, name)
		}
		if _, dup := values[name]; dup {
			continue
		}
		v := getenv(name)
		if v == "" {
			continue // reported in the notes
		}
		values[name] = v
		env = append(env, EnvVar{Name: name, From: "pass-env"})
	}
	return env, values, nil
}

func (p *Plan) notes(r *platforms.Release, t *platforms.Target, pass []string, getenv func(string) string) {
	if r.VM != "" && r.VM != "translate" {
		p.Notes = append(p.Notes, fmt.Sprintf("release %s normally gets its VM by %s import; translating it from source anyway", r.Name, r.VM))
	}
	if p.Builder == BuilderEmulated {
		p.Notes = append(p.Notes, "emulated builder: RPython runs under qemu-user, many times slower than native; expect hours and raise --timeout",
			"emulated builder: programs RPython starts (gcc, make) run natively unless binfmt_misc is registered for qemu; give the target a cross compiler (translation.cc) or register binfmt")
	}
	if t.OS == "windows" && !t.Translation.Shared {
		p.Notes = append(p.Notes, "shared is off for this target: RPython makes a single executable without the VM DLL (upstream's Windows builds are shared and ship libpypyX.Y-c.dll)")
	}
	for _, name := range pass {
		if getenv(name) == "" {
			p.Notes = append(p.Notes, fmt.Sprintf("--pass-env %s: not set in this environment, not passed", name))
		}
	}
}

// keyInputs is everything that decides the translated VM's bytes. Left
// out on purpose: temp paths, the host interpreter's path, PATH, the
// builder and --make-jobs (same result, different place or speed).
type keyInputs struct {
	Release       string            `json:"release"`
	PyPyVersion   string            `json:"pypy_version"`
	PythonVersion string            `json:"python_version"`
	Target        string            `json:"target"`
	OS            string            `json:"os"`
	Arch          string            `json:"arch"`
	Source        any               `json:"source"`
	Host          map[string]any    `json:"host"`
	Args          []string          `json:"args"`
	Env           map[string]string `json:"env"`
	Outputs       []Output          `json:"outputs"`
	// Image is the builder image's key: its compiler, -dev libraries and
	// host interpreter, pinned. Toolchain is the same for host builders.
	Image     string            `json:"image,omitempty"`
	Toolchain map[string]string `json:"toolchain,omitempty"`
	Dir       string            `json:"dir,omitempty"`
}

func (p *Plan) computeKey() error {
	in := keyInputs{
		Release: p.Release, PyPyVersion: p.PyPyVersion, PythonVersion: p.PythonVersion,
		Target: p.Target, OS: p.OS, Arch: p.Arch, Outputs: p.Outputs,
		Env: map[string]string{}, Toolchain: p.Toolchain,
	}
	if p.Image != nil {
		in.Image = p.Image.Key
	}
	if p.Dir != goalDir {
		in.Dir = p.Dir
	}
	if p.Source.Digest != "" {
		in.Source = p.Source.Digest
	} else {
		in.Source = p.Source.pin()
	}
	// An image's key already names its host interpreter, pinned.
	if p.Host.Found && p.Image == nil {
		in.Host = map[string]any{"implementation": p.Host.Implementation, "version": p.Host.Version,
			"pypy_version": p.Host.PyPyVersion, "cffi": p.Host.CFFI, "bits": p.Host.Bits}
	}
	for _, a := range p.Command[1:] {
		if !strings.HasPrefix(a, "--make-jobs=") {
			in.Args = append(in.Args, a)
		}
	}
	for _, e := range p.Env {
		switch e.From {
		case "inherited", "image":
		case "pass-env":
			in.Env[e.Name] = p.passEnv[e.Name]
		default:
			in.Env[e.Name] = e.Value
		}
	}
	k, err := store.NewKey("translate", planStageVersion, in)
	if err != nil {
		return err
	}
	p.Key = string(k)
	p.KeyProvisional = p.Source.Digest == "" || (!p.Host.Found && p.Image == nil)
	return nil
}

// Ready says whether the plan can run: host found, no preflight problem.
func (p *Plan) Ready() bool { return p.Host.Found && len(p.Preflight) == 0 }

// rpythonTarget splits --rpython-target into the directory RPython runs
// in and the target file, refusing paths that leave the source tree.
func rpythonTarget(rel string) (dir, file string, err error) {
	clean := path.Clean(rel)
	if clean != rel || path.IsAbs(clean) || strings.HasPrefix(clean, "../") || clean == ".." ||
		!strings.HasSuffix(clean, ".py") || !strings.HasPrefix(path.Base(clean), "target") || strings.ContainsAny(clean, " \n\\") {
		return "", "", fmt.Errorf("--rpython-target %q: want a target*.py file inside the source tree, e.g. rpython/translator/goal/targetnopstandalone.py", rel)
	}
	return path.Dir(clean), path.Base(clean), nil
}

// smallTargetArgs is the command for a target other than PyPy's: the
// same RPython, the target's GC and make jobs, without PyPy's JIT and
// shared-library options (a small program has no JIT driver).
func smallTargetArgs(dir, target string, tr platforms.Translation, jobs int) []string {
	up := strings.Repeat("../", strings.Count(dir, "/")+1)
	args := []string{up + "rpython/bin/rpython", "--batch"}
	if tr.GC != "" {
		args = append(args, "--gc="+tr.GC)
	}
	if jobs > 0 {
		args = append(args, "--make-jobs="+strconv.Itoa(jobs))
	}
	return append(args, target)
}

// hostToolchain reads what a host or bwrap build compiles with: the C
// compiler's version and each C library's pkg-config version. They go
// into the key, so a machine with another toolchain never gets this
// machine's VM from a shared store. Unreadable values are recorded as
// such (and so still differ from a real version).
func hostToolchain(ctx context.Context, m *Machine, t *platforms.Target) map[string]string {
	tc := map[string]string{}
	if m.Run == nil {
		return tc
	}
	cc := "gcc"
	if f := strings.Fields(t.Translation.CC); len(f) > 0 {
		cc = f[0]
	}
	env := []string{"PATH=" + m.Getenv("PATH"), "LC_ALL=C"}
	if out, err := m.Run(ctx, env, cc, "-dumpfullversion", "-dumpversion"); err == nil {
		tc["cc"] = cc + " " + strings.TrimSpace(string(out))
	} else {
		tc["cc"] = cc + " unknown"
	}
	for _, d := range cDeps() {
		if d.PkgConfig == "" {
			continue
		}
		if out, err := m.Run(ctx, env, "pkg-config", "--modversion", d.PkgConfig); err == nil {
			tc[d.PkgConfig] = strings.TrimSpace(string(out))
		}
	}
	return tc
}
