package cli

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/fsutil"
	"github.com/pypyctl/pypyctl/store"
	"github.com/pypyctl/pypyctl/translator"
	"github.com/pypyctl/pypyctl/translator/builder"
)

type translateFlags struct {
	target, release, hostPython, source, builder, storeDir, sysroot string
	rpythonTarget, builderLock, debianMirror, imageStore, gitMirror string
	passEnv                                                         []string
	minMemory, minDisk                                              int
	timeout                                                         time.Duration
	dryRun, keepWork                                                bool
}

func newTranslateCmd(a *App) *cobra.Command {
	var f translateFlags
	c := &cobra.Command{
		Use:   "translate --target T",
		Short: "Translate the PyPy VM with RPython for one target",
		Long: `Translate PyPy's VM from source with RPython for one target, as PyPy's
release builders do: the release's source (git tag or pinned -src archive,
or --source DIR) is fetched into the store, a Python 2.7 host interpreter
(PyPy2.7 preferred) runs rpython/bin/rpython in pypy/goal with the target's
options in a hermetic environment, and the produced pypyX.Y-c and
libpypyX.Y-c.so are stored under the plan's digest. The same plan again is
a store hit and runs nothing.

Preflight checks run first and report every problem together: no Python
2.7 with cffi, too little RAM or disk, missing C libraries. --dry-run
prints the plan (with the preflight findings) and exits 0 even when the
host interpreter is missing.`,
		Example: `  pypyctl translate --target linux-amd64 --release pypy3.11-v7.3.20 --dry-run --json
  pypyctl translate --target linux-amd64 --release pypy3.11-v7.3.20 --host-python ~/pypy2.7-v7.3.20-linux64/bin/pypy
  pypyctl translate --target linux-amd64 --source ~/src/pypy --builder bwrap`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.target == "" {
				return Usagef("--target is required (e.g. --target linux-amd64; see `pypyctl matrix list`)")
			}
			switch {
			case f.builder == "", f.builder == translator.BuilderHost, f.builder == translator.BuilderBwrap,
				f.builder == translator.BuilderEmulated, f.builder == translator.BuilderImage,
				strings.HasPrefix(f.builder, translator.BuilderImage+":"):
			default:
				return Usagef("--builder %q: want host, bwrap, emulated, image or image:NAME", f.builder)
			}
			if f.hostPython != "" && translator.IsImageBuilder(f.builder) {
				return Usagef("--host-python and --builder %s exclude each other: the image brings its own host", f.builder)
			}
			if f.minMemory < 0 || f.minDisk < 0 {
				return Usagef("--min-memory and --min-disk take a positive number of GB")
			}
			if f.timeout < 0 {
				return Usagef("--timeout must be positive")
			}
			minMemory := f.minMemory
			if minMemory == 0 && cmd.Flags().Changed("min-memory") {
				minMemory = -1 // an explicit 0 turns the check off
			}
			_, r, t, err := a.releaseTarget(f.release, f.target)
			if err != nil {
				return err
			}
			st, d, err := a.OpenLocalStore(f.storeDir)
			if err != nil {
				return err
			}
			mach := translator.LocalMachine(a.Getenv)
			sources := &translator.Sources{Store: st, Downloads: d.Downloads(), Logger: a.Logger,
				GitMirror: a.gitMirror(f.gitMirror)}
			workRoot := filepath.Join(d.Cache, "work")
			ctx := cmd.Context()
			req := translator.Request{
				Release: r, Target: t, Builder: f.builder, HostPython: f.hostPython, SourceDir: f.source,
				PassEnv: f.passEnv, MinMemoryGB: minMemory, MinDiskGB: f.minDisk, Timeout: f.timeout,
				Sysroot: f.sysroot, WorkRoot: workRoot, Machine: mach, Sources: sources,
				RPythonTarget: f.rpythonTarget,
			}
			// A host interpreter named on the command line means a host
			// build, whatever builder the target names.
			if f.hostPython != "" && f.builder == "" && translator.IsImageBuilder(t.Builder) {
				req.Builder = translator.BuilderHost
			}
			if translator.IsImageBuilder(firstNonEmptyStr(req.Builder, t.Builder)) {
				ist := st
				if f.imageStore != "" {
					if ist, _, err = a.OpenLocalStore(f.imageStore); err != nil {
						return err
					}
				}
				cfg, err := a.builderConfig(f.builderLock, f.debianMirror, ist)
				if err != nil {
					return err
				}
				// A dry run only looks: an image already made is probed,
				// none is made.
				made, err := req.UseImage(ctx, cfg, f.dryRun)
				if err != nil {
					return err
				}
				if made {
					a.Logf("builder image %s (%s) made: key %s", req.Image.Name, req.Image.Arch, req.Image.Short())
				}
			}
			plan, err := translator.NewPlan(ctx, req)
			if err != nil {
				return err
			}
			if f.dryRun {
				return a.Render(plan, func(w io.Writer) { printPlan(w, plan) })
			}
			if !plan.Ready() {
				return &translator.PreflightError{Release: plan.Release, Target: plan.Target, Problems: plan.Preflight}
			}
			for _, n := range plan.Notes {
				a.Logf("note: %s", n)
			}
			start := time.Now()
			opts := translator.Options{
				Store: st, Sources: sources, Machine: mach, WorkRoot: workRoot,
				LogDir: filepath.Join(d.Cache, "logs"), KeepWork: f.keepWork,
				Logger: a.Logger, ImageRoot: req.ImageRoot,
				OnPhase: func(ph translator.Phase, n int) {
					// Progress stays on stderr even with --json; only -q silences it.
					if !a.Quiet {
						fmt.Fprintf(a.Stderr, "translate: [%s] phase %d: %s (%s)\n",
							time.Since(start).Round(time.Second), n, ph.Title, ph.Name)
					}
				},
			}
			opts.OnPercent = func(phase string, pct int) {
				if !a.Quiet {
					fmt.Fprintf(a.Stderr, "translate: [%s] %s %d%%\n", time.Since(start).Round(time.Second), phase, pct)
				}
			}
			if a.Verbose {
				opts.Output = a.Stderr
			}
			rep, err := translator.Translate(ctx, plan, opts)
			if err != nil {
				return err
			}
			return a.Render(rep, func(w io.Writer) { printTranslateReport(w, rep) })
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.target, "target", "", "target to translate for (linux-amd64, linux-arm64, …)")
	fl.StringVar(&f.release, "release", "", "release whose source to translate (default: the matrix's default_release)")
	fl.StringVar(&f.hostPython, "host-python", "", "Python 2.7 interpreter with cffi to run RPython (default: pypy, pypy2, pypy2.7, python2.7, python2 on PATH)")
	fl.StringVar(&f.source, "source", "", "translate this local PyPy checkout instead of the release's source")
	fl.StringVar(&f.builder, "builder", "", "host, bwrap (sandboxed: read-only /, no network), emulated (qemu-user), or image[:NAME] (a pinned builder image, default "+translator.DefaultImage+") (default: the target's)")
	fl.StringVar(&f.rpythonTarget, "rpython-target", "", "translate this RPython target of the source instead of PyPy (e.g. rpython/translator/goal/targetnopstandalone.py: proves a builder in a minute)")
	fl.StringVar(&f.imageStore, "image-store", "", "store of builder images (default: the --store of the translation)")
	fl.StringVar(&f.builderLock, "builder-lock", "", "builder-image lock file (default: the one compiled in)")
	fl.StringVar(&f.debianMirror, "debian-mirror", "", "Debian mirror for builder-image packages (default: $"+builder.MirrorEnv+", else the host's apt sources)")
	fl.StringVar(&f.sysroot, "sysroot", "", "emulated builder: root of the foreign-arch libraries (qemu -L)")
	fl.StringArrayVar(&f.passEnv, "pass-env", nil, "also let this variable of your environment through to RPython (repeatable; its value joins the cache key)")
	fl.IntVar(&f.minMemory, "min-memory", 0, "required RAM in GB; 0 skips the check (default: the target's min_memory_gb)")
	fl.IntVar(&f.minDisk, "min-disk", 0, fmt.Sprintf("required free disk at the work dir in GB (default %d)", translator.DefaultMinDiskGB))
	fl.DurationVar(&f.timeout, "timeout", translator.DefaultTimeout, "give up (and kill RPython's process group) after this long")
	fl.StringVar(&f.storeDir, "store", "", "content-addressed store (default: the cache dir's store/)")
	fl.StringVar(&f.gitMirror, "git-mirror", "", "clone the release's git source from this URL instead (default $"+translator.GitMirrorEnv+"); the pinned commit and tree are checked")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and the preflight findings; run nothing")
	fl.BoolVar(&f.keepWork, "keep-work", false, "keep the scratch directory (generated C sources) after the run")
	c.AddCommand(newTranslateImageCmd(a))
	return c
}

func printPlan(w io.Writer, p *translator.Plan) {
	fmt.Fprintf(w, "plan: translate %s for %s (builder %s)\n", p.Release, p.Target, p.Builder)
	fmt.Fprintf(w, "  source   %s\n", p.Source.Describe())
	if p.Host.Found {
		fmt.Fprintf(w, "  host     %s: %s\n", p.Host.Path, p.Host.Describe())
	} else {
		fmt.Fprintf(w, "  host     MISSING: %s\n", p.Host.Problem)
	}
	fmt.Fprintf(w, "  in       <source>/%s\n", p.Dir)
	fmt.Fprintf(w, "  run      %s\n", strings.Join(slices.Concat(p.Wrapper, p.Command), " "))
	var env []string
	for _, e := range p.Env {
		switch e.From {
		case "inherited", "pass-env":
			env = append(env, e.Name+"=("+e.From+")")
		default:
			env = append(env, e.Name+"="+e.Value)
		}
	}
	fmt.Fprintf(w, "  env      %s\n", strings.Join(env, " "))
	for _, o := range p.Outputs {
		fmt.Fprintf(w, "  output   %s -> %s\n", o.From, o.Name)
	}
	fmt.Fprintf(w, "  needs    %d GB RAM, %d GB free disk; timeout %s\n", p.MinMemoryGB, p.MinDiskGB, p.Timeout)
	prov := ""
	if p.KeyProvisional {
		prov = " (provisional)"
	}
	fmt.Fprintf(w, "  key      %s%s\n", p.Key, prov)
	for _, n := range p.Notes {
		fmt.Fprintf(w, "  note     %s\n", n)
	}
	if len(p.Preflight) == 0 {
		fmt.Fprintln(w, "preflight: ok")
		return
	}
	fmt.Fprintf(w, "preflight: %d problem(s); a real run would stop here\n", len(p.Preflight))
	for _, pr := range p.Preflight {
		fmt.Fprintf(w, "  - %s: %s\n", pr.Check, pr.Message)
		if pr.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", pr.Fix)
		}
	}
}

func printTranslateReport(w io.Writer, rep *translator.Report) {
	p := rep.Plan
	if rep.Hit {
		fmt.Fprintf(w, "store hit: %s for %s was already translated (key %s); nothing ran\n", p.Release, p.Target, store.Key(rep.Key).Short())
	} else {
		fmt.Fprintf(w, "translated %s for %s in %s (key %s)\n", p.Release, p.Target,
			time.Duration(rep.Seconds*float64(time.Second)).Round(time.Second), store.Key(rep.Key).Short())
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, o := range rep.Outputs {
		fmt.Fprintf(tw, "  %s\t%s\tsha256:%s\n", o.Name, fsutil.HumanSize(o.Size), o.SHA256)
	}
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ph := range rep.Phases {
		line := fmt.Sprintf("  phase %s\t%.1f s", ph.Name, ph.Seconds)
		if ph.CPUSeconds > 0 {
			line += fmt.Sprintf("\tCPU %.1f s", ph.CPUSeconds)
		}
		if ph.PeakRSSMB > 0 {
			line += fmt.Sprintf("\tpeak RSS %.0f MB", ph.PeakRSSMB)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintf(w, "stored in %s\nlog: %s\n", rep.Dir, rep.Log)
}

// gitMirror is --git-mirror, else $PYPYCTL_GIT_MIRROR, else none.
func (a *App) gitMirror(flag string) string {
	if flag != "" {
		return flag
	}
	return a.Getenv(translator.GitMirrorEnv)
}
