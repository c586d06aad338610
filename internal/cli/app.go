// Package cli is pypyctl's command layer: each command parses flags, calls
// one library function and renders its result as text or, with --json, as
// one JSON document on stdout. Logs and progress go to stderr.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/pypyctl/pypyctl/store"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/internal/dirs"
	"github.com/pypyctl/pypyctl/platforms"
	"github.com/pypyctl/pypyctl/store/ocistore"
)

// App carries what every command shares: streams, global flags and the
// environment. There is no package-level state; tests build their own App.
type App struct {
	Stdout, Stderr io.Writer
	Stdin          io.Reader
	Getenv         func(string) string

	JSON    bool
	Verbose bool
	Quiet   bool
	Matrix  string // --matrix or PYPYCTL_MATRIX; empty means embedded
	Offline bool   // install, list --available: --offline

	// Logger is the run's one logger (log.go): the commands pass it to
	// every library call that logs; Logf and Debugf write through it.
	Logger *slog.Logger
	logMu  sync.Mutex
	bar    *progress // the progress line a log line clears first
}

// flagHint is a command annotation added to its flag errors (run: put
// interpreter arguments after --).
const flagHint = "flag-hint"

// usageError marks errors that exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Usagef returns a bad-usage error (exit status 2).
func Usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// ErrNotImplemented is returned by commands whose issue has not landed.
var ErrNotImplemented = errors.New("not implemented yet")

// LoadMatrix reads the matrix named by --matrix / PYPYCTL_MATRIX, or the
// embedded one, and validates it.
func (a *App) LoadMatrix() (*platforms.Matrix, error) {
	path := a.Matrix
	if path == "" {
		path = a.Getenv("PYPYCTL_MATRIX")
	}
	m, err := platforms.Load(path)
	if err != nil {
		return nil, err
	}
	if probs := platforms.Validate(m); len(probs) > 0 {
		return nil, fmt.Errorf("matrix %s is invalid (%d problems; run `pypyctl matrix validate`): %s", m.Path, len(probs), probs[0])
	}
	return m, nil
}

// Dirs resolves data/cache/config directories from the environment.
func (a *App) Dirs() (dirs.Dirs, error) { return dirs.Resolve(a.Getenv) }

// Logf writes a log line to stderr unless --quiet or --json.
func (a *App) Logf(format string, args ...any) {
	a.Logger.Info(fmt.Sprintf(format, args...))
}

// Debugf writes a log line to stderr with --verbose (and neither --quiet
// nor --json).
func (a *App) Debugf(format string, args ...any) {
	a.Logger.Debug(fmt.Sprintf(format, args...))
}

// Render prints v as indented JSON with --json, else calls text.
func (a *App) Render(v any, text func(w io.Writer)) error {
	if a.JSON {
		enc := json.NewEncoder(a.Stdout)
		enc.SetIndent("", "  ")
		// Fix messages hold shell commands (&&, >): keep them readable.
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	if text != nil && !a.Quiet {
		text(a.Stdout)
	}
	return nil
}

// RenderResult is Render for commands whose text is the result itself
// (which, list, version): -q keeps it and drops only the chatter.
func (a *App) RenderResult(v any, text func(w io.Writer)) error {
	if a.JSON || text == nil {
		return a.Render(v, text)
	}
	text(a.Stdout)
	return nil
}

// Main runs pypyctl with args and returns the process exit status:
// 0 success, 1 failure, 2 bad usage.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &App{Stdout: stdout, Stderr: stderr, Stdin: stdin, Getenv: getenv}
	a.Logger = newLogger(a)
	root := NewRoot(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetIn(stdin)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	// `pypyctl run` passes the interpreter's own exit status through.
	var ec interface{ ExitCode() int }
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	fmt.Fprintf(stderr, "pypyctl: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// OSMain is Main wired to the process.
func OSMain(ctx context.Context) int {
	return Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
}

// wrapUsage turns cobra's flag and argument errors into usage errors.
func wrapUsage(cmd *cobra.Command) {
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		if hint := c.Annotations[flagHint]; hint != "" {
			return usageError{fmt.Errorf("%w; %s", err, hint)}
		}
		return usageError{err}
	})
	// A group (matrix, trust, shims, …) run with an unknown subcommand or
	// none is bad usage, not a help screen that exits 0.
	if cmd.HasSubCommands() && cmd.Run == nil && cmd.RunE == nil {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = func(c *cobra.Command, args []string) error {
			if !c.HasParent() && len(args) == 0 {
				return c.Help()
			}
			var names []string
			for _, sub := range c.Commands() {
				if sub.IsAvailableCommand() {
					names = append(names, sub.Name())
				}
			}
			if len(args) == 0 {
				return Usagef("%s needs a subcommand: %s", c.CommandPath(), strings.Join(names, ", "))
			}
			if sug := c.SuggestionsFor(args[0]); len(sug) > 0 {
				return Usagef("unknown command %q for %q; did you mean %s?", args[0], c.CommandPath(), strings.Join(sug, " or "))
			}
			return Usagef("unknown command %q for %q; want one of: %s", args[0], c.CommandPath(), strings.Join(names, ", "))
		}
	}
	if cmd.Args != nil {
		args := cmd.Args
		cmd.Args = func(c *cobra.Command, a []string) error {
			if err := args(c, a); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, c := range cmd.Commands() {
		wrapUsage(c)
	}
}

// OpenStore returns the content-addressed store: flag is --store, a
// directory (empty means the cache dir's store/) or oci://REGISTRY/REPO, a
// registry shared by builders and layered over the local cache store.
// Damaged-entry warnings and registry pulls/pushes go to stderr.
// PYPYCTL_STORE_INSECURE=1 allows plain HTTP to a non-loopback registry.
func (a *App) OpenStore(flag string) (store.Store, dirs.Dirs, error) {
	if !ocistore.IsRef(flag) {
		return a.OpenLocalStore(flag)
	}
	local, d, err := a.OpenLocalStore("")
	if err != nil {
		return nil, d, err
	}
	st, err := ocistore.New(flag, local, ocistore.Options{
		Insecure: a.Getenv("PYPYCTL_STORE_INSECURE") == "1",
		Logger:   a.Logger,
	})
	if err != nil {
		return nil, d, Usagef("--store: %w", err)
	}
	return st, d, nil
}

// openStoreOut is OpenStore and --out made absolute: the start of the
// commands that write one target's files.
func (a *App) openStoreOut(storeFlag, out string) (store.Store, dirs.Dirs, string, error) {
	st, d, err := a.OpenStore(storeFlag)
	if err != nil {
		return nil, d, "", err
	}
	abs, err := filepath.Abs(out)
	return st, d, abs, err
}

// OpenLocalStore is OpenStore for commands that need a directory store
// (translation keeps its work next to its entries).
func (a *App) OpenLocalStore(flag string) (*store.Local, dirs.Dirs, error) {
	d, err := a.Dirs()
	if err != nil {
		return nil, d, err
	}
	st := store.NewLocal(d.Store())
	if flag != "" {
		if strings.Contains(flag, "://") {
			return nil, d, Usagef("--store %s: this command needs a local directory store", flag)
		}
		st = store.NewLocal(flag)
	}
	st.Warn = func(s string) { fmt.Fprintln(a.Stderr, "warning:", s) }
	return st, d, nil
}
