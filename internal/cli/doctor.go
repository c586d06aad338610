package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
	"github.com/pypyctl/pypyctl/internal/dirs"
)

// tool is an external program some stage uses, with the Debian package
// that provides it.
type tool struct {
	Name, Package, UsedBy string
}

var doctorTools = []tool{
	{"apt-get", "apt", "Debian VM import (apt-get download)"},
	{"qemu-aarch64-static", "qemu-user-static", "arm64 smoke tests and emulated builders"},
	{"bwrap", "bubblewrap", "bwrap builder, sandboxed checks"},
	{"patchelf", "patchelf", "portable bundling"},
	{"cc", "gcc", "cffi modules, wheels"},
	{"pkg-config", "pkg-config", "translation preflight"},
}

type toolStatus struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Found   bool   `json:"found"`
	Package string `json:"package"`
	UsedBy  string `json:"used_by"`
}

// Check statuses: a failed required check makes doctor exit 1.
const (
	checkOK      = "ok"
	checkFail    = "FAIL"
	checkWarn    = "warn"
	checkMissing = "missing"
)

// doctorCheck is one line of the report.
type doctorCheck struct {
	Name     string `json:"name"`
	Status   string `json:"status"`
	Detail   string `json:"detail"`
	Required bool   `json:"required"`
}

type doctorReport struct {
	OK     bool          `json:"ok"`
	Data   string        `json:"data_dir"`
	Cache  string        `json:"cache_dir"`
	Config string        `json:"config_dir"`
	Checks []doctorCheck `json:"checks"`
	Tools  []toolStatus  `json:"tools"`
}

func newDoctorCmd(a *App) *cobra.Command {
	var fl install.SourceFlags
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check directories, config, sources, shims and tools",
		Long: `Check what pypyctl needs: writable data, cache and config directories, a
config.yaml that parses, every install source readable (the indexes and
the upstream catalogue, with the same flags and settings install uses),
the shims directory on PATH, a translation host (PyPy 2.7 or CPython 2.7)
and the external tools some stages use. Exits 1 when a required check
fails (directories, config, sources); the rest are reported only.`,
		Example: "  pypyctl doctor\n  pypyctl doctor --index http://127.0.0.1:8080/ --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			d, err := a.Dirs()
			if err != nil {
				return err
			}
			rep := doctorReport{OK: true, Data: d.Data, Cache: d.Cache, Config: d.Config}
			add := func(c doctorCheck) {
				rep.Checks = append(rep.Checks, c)
				if c.Required && c.Status == checkFail {
					rep.OK = false
				}
			}
			for _, dir := range []struct{ name, path string }{{"data dir", d.Data}, {"cache dir", d.Cache}, {"config dir", d.Config}} {
				if err := writable(dir.path); err != nil {
					add(doctorCheck{dir.name, checkFail, err.Error(), true})
				} else {
					add(doctorCheck{dir.name, checkOK, dir.path + " is writable", true})
				}
			}
			cfg, err := install.LoadConfig(d.Config)
			if err != nil {
				add(doctorCheck{"config", checkFail, err.Error(), true})
			} else {
				add(doctorCheck{"config", checkOK, install.ConfigFile(d.Config), true})
				a.doctorSources(cmd.Context(), d, fl, cfg, add)
			}
			add(shimsCheck(d, a.Getenv("PATH")))
			add(translationHostCheck(a.Getenv))
			for _, t := range doctorTools {
				p, err := exec.LookPath(t.Name)
				rep.Tools = append(rep.Tools, toolStatus{Name: t.Name, Path: p, Found: err == nil, Package: t.Package, UsedBy: t.UsedBy})
			}
			if err := a.Render(rep, func(w io.Writer) { renderDoctor(w, rep) }); err != nil {
				return err
			}
			for _, c := range rep.Checks {
				if c.Required && c.Status == checkFail {
					return fmt.Errorf("doctor: %s: %s", c.Name, c.Detail)
				}
			}
			return nil
		},
	}
	addSourceFlags(a, c, &fl)
	return c
}

func (a *App) doctorSources(ctx context.Context, d dirs.Dirs, fl install.SourceFlags, cfg install.Config, add func(doctorCheck)) {
	srcs, err := install.ResolveSources(fl, a.Getenv, cfg)
	if err != nil {
		add(doctorCheck{"sources", checkFail, err.Error(), true})
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	in := a.installer(d, a.progress())
	for i, st := range in.CheckSources(ctx, srcs) {
		name := fmt.Sprintf("source %d", i+1)
		if st.OK {
			add(doctorCheck{name, checkOK, fmt.Sprintf("%s (set by %s): %d releases", st.Source, st.Source.From, st.Releases), true})
		} else {
			add(doctorCheck{name, checkFail, st.Error, true})
		}
	}
}

// writable creates dir if needed and proves a file can be written in it.
func writable(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return fmt.Errorf("%s is not writable: %w", dir, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func shimsCheck(d dirs.Dirs, path string) doctorCheck {
	shims := install.Layout{Data: d.Data}.Shims()
	if _, err := os.Stat(shims); err != nil {
		return doctorCheck{"shims", checkWarn, "not installed (`pypyctl shims install` puts pypy, pypy3, pypyX.Y on PATH)", false}
	}
	for _, p := range filepath.SplitList(path) {
		if filepath.Clean(p) == filepath.Clean(shims) {
			return doctorCheck{"shims", checkOK, shims + " is on PATH", false}
		}
	}
	return doctorCheck{"shims", checkWarn, shims + " is not on PATH: add " + install.PathLine(install.Layout{Data: d.Data}) + " to your shell profile", false}
}

// translationHostCheck looks for an interpreter RPython runs on; only
// `translate` and `build` from source need one.
func translationHostCheck(getenv func(string) string) doctorCheck {
	for _, name := range []string{"pypy", "pypy2.7", "python2.7", "python2"} {
		// pyenv's shims refuse 2.7 unless it is selected: not a usable host.
		if p, err := exec.LookPath(name); err == nil && !strings.Contains(p, "pyenv/shims") {
			return doctorCheck{"translation host", checkOK, p + " (for translate; PyPy 2.7 is fastest)", false}
		}
	}
	for _, root := range []string{getenv("PYENV_ROOT"), filepath.Join(getenv("HOME"), ".pyenv")} {
		if root == "" {
			continue
		}
		p := filepath.Join(root, "versions", "2.7.18", "bin", "python2.7")
		if _, err := os.Stat(p); err == nil {
			return doctorCheck{"translation host", checkOK, p + " (pass it with --host-python)", false}
		}
	}
	return doctorCheck{"translation host", checkMissing, "no PyPy 2.7 or Python 2.7 on PATH: translate needs one (--host-python, or a bullseye root with pypy); installs do not", false}
}

func renderDoctor(w io.Writer, rep doctorReport) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "data\t%s\ncache\t%s\nconfig\t%s\n", rep.Data, rep.Cache, rep.Config)
	tw.Flush()
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range rep.Checks {
		req := ""
		if !c.Required && c.Status != checkOK {
			req = " (optional)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s%s\n", c.Status, c.Name, strings.ReplaceAll(c.Detail, "\t", " "), req)
	}
	for _, s := range rep.Tools {
		if s.Found {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", checkOK, s.Name, s.Path)
		} else {
			fmt.Fprintf(tw, "%s\t%s\tapt-get install %s  (%s; optional)\n", checkMissing, s.Name, s.Package, s.UsedBy)
		}
	}
	tw.Flush()
}
