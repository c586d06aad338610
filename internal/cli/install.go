package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
	"github.com/pypyctl/pypyctl/internal/dirs"
)

// installer builds the version manager for this App, logging through it
// and drawing progress on a terminal.
func (a *App) installer(d dirs.Dirs, p *progress) *install.Installer {
	return &install.Installer{
		Offline:  a.Offline || a.Getenv("PYPYCTL_OFFLINE") == "1",
		Dirs:     d,
		Logger:   a.Logger,
		Progress: p.update,
	}
}

// sources puts the indexes and upstream's catalogue in search order
// (see install.ResolveSources).
func (a *App) sources(d dirs.Dirs, fl install.SourceFlags) (install.Sources, error) {
	cfg, err := install.LoadConfig(d.Config)
	if err != nil {
		return nil, err
	}
	srcs, err := install.ResolveSources(fl, a.Getenv, cfg)
	if err != nil {
		return nil, Usagef("%v", err)
	}
	for i, s := range srcs {
		a.Debugf("source %d: %s (set by %s)", i+1, s, s.From)
	}
	return srcs, nil
}

// addSourceFlags adds the flags that choose where versions come from.
func addSourceFlags(a *App, c *cobra.Command, fl *install.SourceFlags) {
	c.Flags().StringArrayVar(&fl.Indexes, "index", nil, "a pypyctl index (versions.json URL, path or directory), searched before upstream; repeatable (default: $"+install.IndexEnv+", config.yaml)")
	c.Flags().StringVar(&fl.Mirror, "mirror", "", "download upstream archives from this URL instead of upstream's (default: $"+install.MirrorEnv+", config.yaml mirror)")
	c.Flags().StringVar(&fl.Catalogue, "catalogue", "", "use this catalogue file (versions.json format with sha256) instead of the built-in upstream one (default: $"+install.CatalogueEnv+")")
	c.Flags().BoolVar(&fl.NoUpstream, "no-upstream", false, "search only the indexes, not upstream's releases")
	c.Flags().BoolVar(&a.Offline, "offline", false, "use no network: local indexes, the built-in catalogue, the download cache and installed versions only (also $PYPYCTL_OFFLINE=1)")
}

func parseRequest(s string) (install.Request, error) {
	r, err := install.ParseRequest(s)
	if err != nil {
		return r, Usagef("%v", err)
	}
	return r, nil
}

// installRequest is install's REQUEST, or without one the pinned request.
func (a *App) installRequest(args []string) (install.Request, dirs.Dirs, error) {
	if len(args) == 1 {
		return a.requestDirs(args[0])
	}
	d, err := a.Dirs()
	if err != nil {
		return install.Request{}, d, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return install.Request{}, d, err
	}
	req, from, notes, ok, err := install.PinnedRequest(d.Config, cwd)
	for _, n := range notes {
		a.Logf("note: %s", n)
	}
	if err != nil {
		return req, d, err
	}
	if !ok {
		return req, d, Usagef("say which PyPy to install (e.g. pypyctl install 3.11), or pin one with `pypyctl pin 3.11`: no .python-version here or globally names a PyPy")
	}
	a.Logf("installing %s (pinned in %s)", req.Raw, from)
	return req, d, nil
}

// requestDirs parses a version request and resolves pypyctl's directories,
// the start of every command that acts on one version.
func (a *App) requestDirs(arg string) (install.Request, dirs.Dirs, error) {
	req, err := parseRequest(arg)
	if err != nil {
		return req, dirs.Dirs{}, err
	}
	d, err := a.Dirs()
	return req, d, err
}

// refreshShims keeps installed shims in step with installed versions.
func (a *App) refreshShims(d dirs.Dirs) {
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if err := install.RefreshShims(install.Layout{Data: d.Data}, exe); err != nil {
		fmt.Fprintln(a.Stderr, "warning: refreshing shims:", err)
	}
}

// layout resolves pypyctl's directories and where versions and shims
// are installed in them.
func (a *App) layout() (dirs.Dirs, install.Layout, error) {
	d, err := a.Dirs()
	return d, install.Layout{Data: d.Data}, err
}

func newInstallCmd(a *App) *cobra.Command {
	var fl install.SourceFlags
	var dryRun, force bool
	var maxDownload int64
	c := &cobra.Command{
		Use:   "install [REQUEST]",
		Short: "Install a PyPy from the index",
		Long: `Install the newest stable PyPy matching REQUEST for this machine. REQUEST is a Python version (3.11, pypy3.11, 3.9.16),
a Python and PyPy version (3.11@7.3.20, pypy3.9-7.3.11), latest, nightly
(3.11@nightly), or an archive file name. Pre-releases and nightlies are
only installed when named. Without REQUEST, the PyPy the nearest
.python-version (then the global pin) names is installed.

Versions come from sources searched in order, the first match winning:
the pypyctl indexes given with --index (else $PYPYCTL_INDEX, else "index:"
in <config>/config.yaml), then upstream's releases from the catalogue built
into pypyctl (pypy.org's versions.json joined with its published sha256
sums). An index may be an http(s):// or file:// URL, a versions.json path
or a directory holding one. --mirror ($PYPYCTL_PYPY_MIRROR, "mirror:")
downloads upstream's archives from another server; --catalogue replaces
the built-in catalogue; --no-upstream searches only the indexes.

The archive is downloaded into the cache (resumed if interrupted, retried
with backoff), checked against the sha256 in the index or catalogue (or the
SHA256SUMS beside the archive) and, once a key is trusted with ` + "`pypyctl trust add`" + `,
against <archive>.sig — all before extraction. It is extracted into a temp
dir that is renamed into <data>/versions/<name> under a lock, so a killed
install leaves nothing half-done. An installed version that satisfies the
request is reused (no index is read); --force reinstalls.`,
		Example: `  pypyctl install 3.11
  pypyctl install 3.11 --mirror https://mirror.example.org/pypy
  pypyctl install 3.9@7.3.11 --index ./public/versions.json
  pypyctl install latest --index http://127.0.0.1:8080/ --dry-run --json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, d, err := a.installRequest(args)
			if err != nil {
				return err
			}
			srcs, err := a.sources(d, fl)
			if err != nil {
				return err
			}
			start := time.Now()
			p := a.progress()
			in := a.installer(d, p)
			in.MaxDownload = maxDownload
			res, err := in.Install(cmd.Context(), req, install.Options{Sources: srcs, DryRun: dryRun, Force: force})
			p.clear()
			if err != nil {
				return err
			}
			if res.Status == install.StatusInstalled {
				a.refreshShims(d)
			}
			return a.Render(res, func(w io.Writer) {
				switch res.Status {
				case install.StatusWouldInstall:
					fmt.Fprintf(w, "would install %s (PyPy %s, Python %s)\n  source %s (set by %s)\n  download %s\n", res.Name, res.PyPyVersion, res.PythonVersion, res.Source, res.SourceFrom, res.URL)
					if res.SHA256 != "" {
						fmt.Fprintf(w, "  sha256 %s\n", res.SHA256)
					}
					fmt.Fprintf(w, "  into %s\n", res.Dir)
				case install.StatusAlreadyInstalled:
					fmt.Fprintf(w, "%s (PyPy %s, Python %s) is already installed in %s\n", res.Name, res.PyPyVersion, res.PythonVersion, res.Dir)
				default:
					fmt.Fprintf(w, "installed %s (PyPy %s, Python %s) in %s [%s]\n", res.Name, res.PyPyVersion, res.PythonVersion, res.Dir, elapsed(start))
					fmt.Fprintf(w, "  source %s (set by %s)\n  sha256 %s (from %s)\n  signature %s\n", res.Source, res.SourceFrom, res.SHA256, res.ChecksumFrom, res.Signature)
					if res.Executable != "" {
						fmt.Fprintf(w, "  interpreter %s\n", res.Executable)
					}
				}
			})
		},
	}
	addSourceFlags(a, c, &fl)
	c.Flags().BoolVar(&dryRun, "dry-run", false, "resolve the request and say what would be installed")
	c.Flags().BoolVar(&force, "force", false, "reinstall even if a matching version is installed")
	c.Flags().Int64Var(&maxDownload, "max-download", install.DefaultMaxDownload, "largest archive, in bytes, to download when the index gives no size")
	return c
}

func newListCmd(a *App) *cobra.Command {
	var available bool
	var fl install.SourceFlags
	c := &cobra.Command{
		Use:   "list",
		Short: "List installed (or available) PyPys",
		Example: `  pypyctl list
  pypyctl list --available --index ./public --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, l, err := a.layout()
			if err != nil {
				return err
			}
			if available {
				srcs, err := a.sources(d, fl)
				if err != nil {
					return err
				}
				p := a.progress()
				av, err := a.installer(d, p).Available(cmd.Context(), install.Options{Sources: srcs})
				if err != nil {
					return err
				}
				if av == nil {
					av = []install.Available{}
				}
				if !a.JSON && !a.Quiet {
					fmt.Fprintln(a.Stderr, "sources, searched in order (the first match wins):")
					for i, s := range srcs {
						fmt.Fprintf(a.Stderr, "  %d. %s (set by %s)\n", i+1, s, s.From)
					}
				}
				return a.RenderResult(av, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "PYTHON\tPYPY\tKIND\tARCHIVE\tSOURCE\tINSTALLED")
					for _, v := range av {
						kind := "stable"
						if !v.Stable {
							kind = "pre-release"
							if v.PyPyVersion == "nightly" {
								kind = "nightly"
							}
						} else if v.Latest {
							kind = "stable, latest"
						}
						if !v.Installable {
							kind += ", not installable (no published sha256)"
						}
						inst := ""
						if v.Installed {
							inst = "yes"
						}
						src := fmt.Sprint(v.SourceNumber)
						if v.Shadowed {
							src += " (shadowed)"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.PythonVersion, v.PyPyVersion, kind, v.Filename, src, inst)
					}
					tw.Flush()
				})
			}
			all, err := install.ListInstalled(l)
			if err != nil {
				return err
			}
			if all == nil {
				all = []install.Installed{}
			}
			return a.RenderResult(all, func(w io.Writer) {
				if len(all) == 0 {
					fmt.Fprintln(w, "no PyPy installed (try `pypyctl install 3.11` or `pypyctl list --available`)")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPYTHON\tPYPY\tINTERPRETER")
				for _, in := range all {
					exe := in.Executable
					if exe == "" {
						exe = "(missing)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", in.Name, in.PythonVersion, in.PyPyVersion, exe)
				}
				tw.Flush()
			})
		},
	}
	c.Flags().BoolVar(&available, "available", false, "list what the sources offer for this machine, and which source wins")
	addSourceFlags(a, c, &fl)
	return c
}

func newUninstallCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "uninstall REQUEST",
		Short:   "Remove an installed PyPy",
		Long:    "Remove the installed PyPy REQUEST names. A request matching several installed versions is refused; name one (see `pypyctl list`).",
		Example: "  pypyctl uninstall 3.9\n  pypyctl uninstall pypy3.9-v7.3.11-linux64",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, d, err := a.requestDirs(args[0])
			if err != nil {
				return err
			}
			in, err := install.Uninstall(cmd.Context(), install.Layout{Data: d.Data}, req)
			if err != nil {
				return err
			}
			a.refreshShims(d)
			return a.Render(in, func(w io.Writer) { fmt.Fprintf(w, "removed %s (%s)\n", in.Name, in.Dir) })
		},
	}
}

func newPinCmd(a *App) *cobra.Command {
	var global bool
	c := &cobra.Command{
		Use:   "pin REQUEST",
		Short: "Write .python-version for this directory",
		Long: `Write REQUEST to ./.python-version (or, with --global, to the global default
in <config>/.python-version), spelled so uv and pyenv read it too: "pypy3.11"
for a Python version, pyenv's "pypy3.9-7.3.11" when a PyPy version is named.
` + "`pypyctl run`, `which`" + ` and the shims use the nearest .python-version up the tree,
then the global default.`,
		Example: "  pypyctl pin 3.11\n  pypyctl pin 3.9@7.3.11\n  pypyctl pin --global 3.11",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, d, err := a.requestDirs(args[0])
			if err != nil {
				return err
			}
			path := filepath.Join(".", install.VersionFileName)
			if global {
				path = install.GlobalVersionFile(d.Config)
			}
			if path, err = filepath.Abs(path); err != nil {
				return err
			}
			line, err := install.WriteVersionFile(path, req)
			if err != nil {
				return err
			}
			if _, err := install.FindInstalled(install.Layout{Data: d.Data}, req); err != nil {
				a.Logf("note: %v", err)
			}
			out := map[string]string{"file": path, "pin": line}
			return a.Render(out, func(w io.Writer) { fmt.Fprintf(w, "pinned %s in %s\n", line, path) })
		},
	}
	c.Flags().BoolVar(&global, "global", false, "set the global default instead of ./.python-version")
	return c
}

func newWhichCmd(a *App) *cobra.Command {
	var shim string
	c := &cobra.Command{
		Use:   "which [REQUEST]",
		Short: "Print the interpreter a request resolves to",
		Long: `Print the path of the installed interpreter REQUEST resolves to; without
REQUEST, the one the nearest .python-version (then the global default, then
the newest installed) selects.`,
		Example: "  pypyctl which\n  pypyctl which 3.11\n  pypyctl which --json",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, l, err := a.layout()
			if err != nil {
				return err
			}
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			if shim != "" {
				exe, err := install.ShimTarget(l, d.Config, cwd, shim)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.Stdout, exe)
				return nil
			}
			sel, err := a.selectInstalled(d, cwd, args)
			if err != nil {
				return err
			}
			if a.Verbose {
				a.explainSelection(sel)
			}
			return a.RenderResult(sel, func(w io.Writer) { fmt.Fprintln(w, sel.Executable) })
		},
	}
	c.Flags().StringVar(&shim, "shim", "", "resolve for the shim of this name (used by the shims)")
	c.Flags().MarkHidden("shim")
	return c
}

func (a *App) selectInstalled(d dirs.Dirs, cwd string, args []string) (install.Selection, error) {
	var req *install.Request
	if len(args) > 0 {
		r, err := parseRequest(args[0])
		if err != nil {
			return install.Selection{}, err
		}
		req = &r
	}
	sel, err := install.Select(install.Layout{Data: d.Data}, d.Config, cwd, req)
	if err != nil {
		return sel, err
	}
	for _, n := range sel.Notes {
		a.Logf("note: %s", n)
	}
	if sel.Executable == "" {
		return sel, fmt.Errorf("%s has no interpreter; reinstall it with `pypyctl install --force %s`", sel.Dir, sel.Name)
	}
	return sel, nil
}

// explainSelection says on stderr which source selected the interpreter
// and where it was installed from (which -v).
func (a *App) explainSelection(sel install.Selection) {
	why := map[string]string{
		"request": "the request on the command line",
		"global":  "the global pin (pypyctl pin --global)",
		"newest":  "nothing pinned: the newest installed PyPy",
	}[sel.Source]
	if why == "" {
		why = sel.Source
	}
	if sel.Request != "" {
		why += " asking for " + sel.Request
	}
	fmt.Fprintf(a.Stderr, "selected %s (PyPy %s, Python %s) by %s\n", sel.Name, sel.PyPyVersion, sel.PythonVersion, why)
	if r := sel.Receipt; r != nil {
		fmt.Fprintf(a.Stderr, "installed from %s\n  archive %s\n  sha256 %s\n", r.Index, r.URL, r.SHA256)
	}
}

// exitError carries a child's exit status.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("interpreter exited with status %d", e.code) }

// ExitCode is the status pypyctl should exit with.
func (e exitError) ExitCode() int { return e.code }

func newRunCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "run [REQUEST] -- ARGS...",
		Short: "Run an installed PyPy",
		Long: `Run the installed PyPy REQUEST resolves to (default: the nearest
.python-version, then the global default, then the newest installed) with
ARGS. Arguments after -- go to the interpreter untouched.`,
		Example:     "  pypyctl run 3.9 -- -c 'import sys; print(sys.version)'\n  pypyctl run -- -m venv .venv",
		Annotations: map[string]string{flagHint: "interpreter arguments go after --, e.g. pypyctl run 3.11 -- -c 'print(1)'"},
		RunE: func(cmd *cobra.Command, args []string) error {
			reqArgs, pyArgs := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				reqArgs, pyArgs = args[:dash], args[dash:]
			}
			if len(reqArgs) > 1 {
				return Usagef("run takes at most one REQUEST before --, got %q; put interpreter arguments after --", reqArgs)
			}
			d, err := a.Dirs()
			if err != nil {
				return err
			}
			cwd, err := os.Getwd()
			if err != nil {
				return err
			}
			sel, err := a.selectInstalled(d, cwd, reqArgs)
			if err != nil {
				return err
			}
			a.Debugf("running %s (%s, selected by %s)", sel.Executable, sel.Name, sel.Source)
			return a.exec(cmd, sel.Executable, pyArgs)
		},
	}
}

// exec runs the interpreter. When pypyctl's own standard streams are the
// process's, it replaces the process (exact exit status and signals, no
// extra process); otherwise (tests, embedding) it runs a child.
func (a *App) exec(cmd *cobra.Command, exe string, args []string) error {
	if a.Stdin == os.Stdin && a.Stdout == os.Stdout && a.Stderr == os.Stderr {
		argv := append([]string{exe}, args...)
		err := syscall.Exec(exe, argv, os.Environ())
		return fmt.Errorf("exec %s: %w", exe, err)
	}
	c := exec.CommandContext(cmd.Context(), exe, args...)
	c.Stdin, c.Stdout, c.Stderr = a.Stdin, a.Stdout, a.Stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return exitError{code: ee.ExitCode()}
	}
	return err
}

func newShimsCmd(a *App) *cobra.Command {
	c := &cobra.Command{
		Use:   "shims",
		Short: "Manage pypy/pypy3 shims on PATH",
		Long: `Shims are small sh scripts in <data>/shims named pypy, pypy3 and pypyX.Y
(one per installed Python version). Each asks pypyctl which interpreter the
current directory selects (.python-version, then the global default, then
the newest installed) and execs it. Put the directory first on PATH.`,
	}
	installCmd := &cobra.Command{
		Use:     "install",
		Short:   "Write shims into the data dir",
		Example: "  pypyctl shims install\n  eval \"$(pypyctl shims install -q --json | jq -r .path_line)\"",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, l, err := a.layout()
			if err != nil {
				return err
			}
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			names, err := install.WriteShims(l, exe)
			if err != nil {
				return err
			}
			out := map[string]any{"dir": l.Shims(), "shims": names, "path_line": install.PathLine(l)}
			return a.Render(out, func(w io.Writer) {
				fmt.Fprintf(w, "wrote %d shims into %s\nadd this line to your shell profile:\n  %s\n", len(names), l.Shims(), install.PathLine(l))
			})
		},
	}
	remove := &cobra.Command{
		Use:     "remove",
		Short:   "Remove the shims",
		Example: "  pypyctl shims remove",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, l, err := a.layout()
			if err != nil {
				return err
			}
			names, err := install.RemoveShims(l)
			if err != nil {
				return err
			}
			if names == nil {
				names = []string{}
			}
			return a.Render(map[string]any{"dir": l.Shims(), "removed": names}, func(w io.Writer) {
				fmt.Fprintf(w, "removed %d shims from %s (remove it from PATH too)\n", len(names), l.Shims())
			})
		},
	}
	c.AddCommand(installCmd, remove)
	return c
}

// elapsed is a duration for humans: 850ms, 12.3s, 2m05s.
func elapsed(start time.Time) string {
	d := time.Since(start)
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
