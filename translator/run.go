package translator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/internal/logging"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator/builder"
)

// Options say where a translation keeps its things and who hears about it.
type Options struct {
	Store   *store.Local // translated VMs
	Sources *Sources     // fetched sources
	Machine *Machine     // PATH lookups for the builder's binaries
	// WorkRoot holds per-run scratch directories (default: work/ beside
	// the store); LogDir keeps the logs of failed runs (default: logs/
	// beside the store).
	WorkRoot, LogDir string
	// KillGrace is the time between SIGTERM and SIGKILL on cancel.
	KillGrace time.Duration
	// KeepWork leaves the scratch directory (C sources) for debugging.
	KeepWork bool
	// OnPhase hears about each phase as it starts (n counts from 1).
	OnPhase func(p Phase, n int)
	// OnPercent hears a phase's progress where RPython prints one (the
	// rtyper's block count), in steps of ten percent.
	OnPercent func(phase string, pct int)
	// Output, when set, gets RPython's raw output as it comes.
	Output io.Writer
	// Logger gets progress (fetching, where the work is); nil logs
	// nothing.
	Logger *slog.Logger
	// Now is the clock for timings (default time.Now).
	Now func() time.Time
	// ImageRoot is the builder image's root file system, for plans of
	// an image builder (builder.Image.Ensure makes it).
	ImageRoot string
}

// OutputFile is one stored VM file.
type OutputFile struct {
	Name   string `json:"name"` // vm/pypy3.11-c
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Report is the result of Translate.
type Report struct {
	Plan *Plan `json:"plan"`
	// Hit is true when the store already had the VM: nothing ran.
	Hit     bool         `json:"hit"`
	Key     string       `json:"key"`
	Dir     string       `json:"dir"` // the store entry's content directory
	Outputs []OutputFile `json:"outputs"`
	Log     string       `json:"log"`
	// Phases are this run's (or, on a hit, the stored run's) timings.
	Phases  []Phase `json:"phases"`
	Seconds float64 `json:"seconds"` // wall time of the translation that made the entry
}

// storedTimings is phases.json in a VM entry.
type storedTimings struct {
	Phases  []Phase `json:"phases"`
	Seconds float64 `json:"seconds"`
}

// RunError is a translation that started and failed; its log is kept.
type RunError struct {
	Release, Target string
	Phase           string // the last phase RPython reached
	Log             string // where the full log was kept
	Tail            []string
	Err             error
}

func (e *RunError) Error() string {
	var b strings.Builder
	// One line says what failed, where, and where the log is; the
	// output's last lines follow for context.
	fmt.Fprintf(&b, "translation of %s for %s failed", e.Release, e.Target)
	if e.Phase != "" {
		fmt.Fprintf(&b, " in phase %s", e.Phase)
	}
	if e.Log != "" {
		fmt.Fprintf(&b, " (log: %s)", e.Log)
	}
	fmt.Fprintf(&b, ": %v", e.Err)
	if len(e.Tail) > 0 {
		b.WriteString("\nlast lines:")
		for _, l := range e.Tail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.Err }

// Translate runs the plan unless the store already holds its VM. It fails
// fast with a *PreflightError when the plan is not ready, and with a
// *RunError (log kept under LogDir, nothing stored) when RPython fails,
// is cancelled or times out.
func Translate(ctx context.Context, p *Plan, o Options) (*Report, error) {
	if !p.Ready() {
		return nil, &PreflightError{Release: p.Release, Target: p.Target, Problems: p.Preflight}
	}
	if o.Store == nil || o.Machine == nil {
		return nil, errors.New("translate: a store and a machine are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.KillGrace <= 0 {
		o.KillGrace = DefaultKillGrace
	}
	if o.WorkRoot == "" {
		o.WorkRoot = filepath.Join(filepath.Dir(o.Store.Root), "work")
	}
	if o.LogDir == "" {
		o.LogDir = filepath.Join(filepath.Dir(o.Store.Root), "logs")
	}
	// A known source digest gives the final key: a hit fetches nothing.
	if p.Source.Digest != "" {
		if rep, ok, err := lookupVM(o.Store, p); err != nil || ok {
			return rep, err
		}
	}
	srcDir, files, err := o.Sources.Fetch(ctx, &p.Source)
	if err != nil {
		return nil, err
	}
	if err := p.computeKey(); err != nil {
		return nil, err
	}
	if p.rel != nil {
		if err := CheckSourceTree(srcDir, p.rel); err != nil {
			return nil, err
		}
	}
	timeout := p.timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var timings storedTimings
	res, err := o.Store.Ensure(ctx, store.Key(p.Key), func(ctx context.Context, content string) error {
		t, err := runTranslation(ctx, p, o, srcDir, files, content)
		timings = t
		return err
	})
	if err != nil {
		return nil, err
	}
	if res.Hit {
		rep, _, err := lookupVM(o.Store, p)
		return rep, err
	}
	return report(p, res.Dir, false, timings)
}

func lookupVM(s *store.Local, p *Plan) (*Report, bool, error) {
	dir, ok, err := s.Lookup(store.Key(p.Key))
	if err != nil || !ok {
		return nil, false, err
	}
	var t storedTimings
	b, err := os.ReadFile(filepath.Join(dir, "phases.json"))
	if err != nil {
		return nil, false, fmt.Errorf("stored translation %s: %w", store.Key(p.Key).Short(), err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, false, fmt.Errorf("stored translation %s: %w", store.Key(p.Key).Short(), err)
	}
	rep, err := report(p, dir, true, t)
	return rep, err == nil, err
}

func report(p *Plan, dir string, hit bool, t storedTimings) (*Report, error) {
	rep := &Report{Plan: p, Hit: hit, Key: p.Key, Dir: dir, Log: filepath.Join(dir, "translate.log"),
		Phases: t.Phases, Seconds: t.Seconds}
	for _, out := range p.Outputs {
		path := filepath.Join(dir, filepath.FromSlash(out.Name))
		sum, size, err := fsutil.SHA256File(path)
		if out.Kind == KindHeaders {
			sum, size, err = dirDigest(path)
		}
		if err != nil {
			return nil, fmt.Errorf("stored translation %s: %w", store.Key(p.Key).Short(), err)
		}
		rep.Outputs = append(rep.Outputs, OutputFile{Name: out.Name, Path: path, Size: size, SHA256: sum})
	}
	return rep, nil
}

// runTranslation does one run in a fresh scratch directory and fills the
// store entry's content directory.
func runTranslation(ctx context.Context, p *Plan, o Options, srcDir string, files []string, content string) (storedTimings, error) {
	if err := os.MkdirAll(o.WorkRoot, 0o755); err != nil {
		return storedTimings{}, fmt.Errorf("work dir: %w", err)
	}
	work, err := os.MkdirTemp(o.WorkRoot, store.Key(p.Key).Short()+"-")
	if err != nil {
		return storedTimings{}, fmt.Errorf("work dir: %w", err)
	}
	if o.KeepWork {
		o.log().Info("work directory kept", "dir", work)
	} else {
		defer os.RemoveAll(work)
	}
	for _, d := range []string{"home", "tmp", "usession"} {
		if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
			return storedTimings{}, fmt.Errorf("work dir: %w", err)
		}
	}
	// RPython writes next to its sources (pypy/goal, .pyc files), so it
	// gets its own copy and the stored source stays untouched.
	src := filepath.Join(work, "src")
	o.log().Info("copying source files", "files", len(files), "to", src)
	if err := copyFiles(ctx, srcDir, files, src); err != nil {
		return storedTimings{}, err
	}
	if err := pinVersionInputs(p, work, src); err != nil {
		return storedTimings{}, err
	}
	argv, err := p.argv(work, o.ImageRoot, o.Machine)
	if err != nil {
		return storedTimings{}, err
	}
	// Inside an image the scratch dir is mounted at a fixed path.
	inWork := work
	if p.Image != nil {
		inWork = builder.MountWork
	}

	logPath := filepath.Join(work, "translate.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return storedTimings{}, fmt.Errorf("translation log: %w", err)
	}
	var sink io.Writer = lf
	if o.Output != nil {
		sink = io.MultiWriter(lf, o.Output)
	}
	pl := newPhaseLog(sink, o.Now, o.OnPhase)
	pl.onPercent = o.OnPercent
	fmt.Fprintf(pl, "# pypyctl: %s for %s, key %s\n# pypyctl: in %s\n# pypyctl: %s\n",
		p.Release, p.Target, p.Key, filepath.Join(src, p.Dir), strings.Join(argv, " "))
	start := o.Now()
	stopSampling := sampleGroup(pl)
	runErr := runGroup(ctx, argv, filepath.Join(src, filepath.FromSlash(p.Dir)), p.runEnv(inWork, o.Machine.Getenv), pl, o.KillGrace)
	stopSampling()
	phases := pl.finish()
	t := storedTimings{Phases: phases, Seconds: roundSeconds(o.Now().Sub(start))}
	if runErr == nil {
		runErr = collectOutputs(ctx, p, src, content)
	}
	if runErr != nil {
		if errors.Is(runErr, context.DeadlineExceeded) {
			runErr = fmt.Errorf("timed out after %s: %w", p.Timeout, runErr)
		}
		fmt.Fprintf(lf, "# pypyctl: failed: %v\n", runErr)
		lf.Close()
		e := &RunError{Release: p.Release, Target: p.Target, Tail: pl.lastLines(), Err: runErr}
		if len(phases) > 0 {
			e.Phase = phases[len(phases)-1].Name
		}
		kept, err := keepLog(logPath, o.LogDir, p, o.Now())
		if err != nil {
			return t, fmt.Errorf("%w (and the log could not be kept: %v)", e, err)
		}
		e.Log = kept
		return t, e
	}
	if err := lf.Close(); err != nil {
		return t, fmt.Errorf("translation log: %w", err)
	}
	if err := copyFile(logPath, filepath.Join(content, "translate.log"), 0o644); err != nil {
		return t, err
	}
	if err := writeJSON(filepath.Join(content, "plan.json"), p); err != nil {
		return t, err
	}
	return t, writeJSON(filepath.Join(content, "phases.json"), t)
}

// argv is the command with the builder's wrapper, $WORK filled in and the
// wrapper's program found on PATH.
func (p *Plan) argv(work, imageRoot string, m *Machine) ([]string, error) {
	var argv []string
	for _, a := range p.Wrapper {
		if strings.Contains(a, ImageVar) && imageRoot == "" {
			return nil, fmt.Errorf("builder %s: the builder image is not made (no root file system given)", p.Builder)
		}
		a = strings.ReplaceAll(a, ImageVar, imageRoot)
		argv = append(argv, strings.ReplaceAll(a, WorkVar, work))
	}
	argv = append(argv, p.Command...)
	if len(p.Wrapper) > 0 {
		bin, err := m.LookPath(argv[0])
		if err != nil {
			return nil, fmt.Errorf("builder %s: %w", p.Builder, err)
		}
		argv[0] = bin
	}
	return argv, nil
}

// runEnv is the translation's complete environment.
func (p *Plan) runEnv(work string, getenv func(string) string) []string {
	env := make([]string, 0, len(p.Env))
	for _, e := range p.Env {
		var v string
		switch e.From {
		case "inherited":
			v = getenv(e.Name)
			if e.Name == "PATH" && v == "" {
				v = "/usr/local/bin:/usr/bin:/bin"
			}
		case "pass-env":
			v = p.passEnv[e.Name]
		default:
			v = strings.ReplaceAll(e.Value, WorkVar, work)
		}
		env = append(env, e.Name+"="+v)
	}
	return env
}

func collectOutputs(ctx context.Context, p *Plan, src, content string) error {
	for _, out := range p.Outputs {
		from := filepath.Join(src, filepath.FromSlash(out.From))
		mode := os.FileMode(0o644)
		if out.Kind == "executable" {
			mode = 0o755
		}
		copyOut := func() error { return copyFile(from, filepath.Join(content, filepath.FromSlash(out.Name)), mode) }
		if out.Kind == KindHeaders {
			copyOut = func() error { return copyDir(ctx, from, filepath.Join(content, filepath.FromSlash(out.Name))) }
		}
		if err := copyOut(); err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("RPython exited 0 but did not produce %s", out.From)
			}
			return err
		}
	}
	return nil
}

func keepLog(logPath, dir string, p *Plan, now time.Time) (string, error) {
	name := fmt.Sprintf("translate-%s-%s-%s-%s.log", p.Release, p.Target, store.Key(p.Key).Short(), now.UTC().Format("20060102T150405Z"))
	dst := filepath.Join(dir, name)
	if err := copyFile(logPath, dst, 0o644); err != nil {
		return "", err
	}
	return dst, nil
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", filepath.Base(path), err)
	}
	return fsutil.WriteFileAtomic(path, append(b, '\n'), 0o644)
}

func (o Options) log() *slog.Logger { return logging.OrDiscard(o.Logger) }

// sampleGroup feeds the translation's memory and CPU use to the phase
// log once a second until the returned function is called.
func sampleGroup(pl *phaseLog) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if g, ok := childGroupSample(); ok {
					pl.observe(g)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}

// hostCustomize makes the host interpreter's time.gmtime() without an
// argument return SOURCE_DATE_EPOCH: pypy/module/sys/version.py bakes
// gmtime() into sys.version as the build date, which would otherwise be
// the wall clock of the translation. It is a usercustomize module in the
// work dir's HOME (the plan's), for PyPy 2.7 and CPython 2.7 hosts alike.
const hostCustomize = `import os, time
_sde = os.environ.get("SOURCE_DATE_EPOCH")
if _sde:
    _gmtime = time.gmtime
    def gmtime(secs=None):
        if secs is None:
            secs = int(_sde)
        return _gmtime(secs)
    time.gmtime = gmtime
`

// pinVersionInputs fixes what RPython would read from the machine for
// the VM's version string: the build date (hostCustomize) and, for a
// pinned git release, the revision, from .hg_archival.txt as in the
// release's -src archive (the work copy has no .git).
func pinVersionInputs(p *Plan, work, src string) error {
	for _, impl := range []string{"pypy2.7", "python2.7"} {
		dir := filepath.Join(work, "home", ".local", "lib", impl, "site-packages")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "usercustomize.py"), []byte(hostCustomize), 0o644); err != nil {
			return fmt.Errorf("work dir: %w", err)
		}
	}
	s := p.Source
	if s.Kind != SourceGit || s.Tag == "" || s.Head == "" {
		return nil
	}
	if _, err := os.Stat(filepath.Join(src, ".hg_archival.txt")); err == nil {
		return nil
	}
	r := &platforms.Release{PyPyVersion: p.PyPyVersion, PythonVersion: p.PythonVersion,
		Source: platforms.Source{Git: &platforms.GitSource{Tag: s.Tag}}}
	text, err := ArchivalFile(r, s.Head)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(src, ".hg_archival.txt"), []byte(text), 0o644)
}
