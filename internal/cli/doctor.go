package cli

import (
	"fmt"
	"io"
	"os/exec"

	"github.com/spf13/cobra"
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

func newDoctorCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "doctor",
		Short:   "Check the external tools and directories pypyctl uses",
		Example: "  pypyctl doctor\n  pypyctl doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			d, err := a.Dirs()
			if err != nil {
				return err
			}
			var st []toolStatus
			for _, t := range doctorTools {
				p, err := exec.LookPath(t.Name)
				st = append(st, toolStatus{Name: t.Name, Path: p, Found: err == nil, Package: t.Package, UsedBy: t.UsedBy})
			}
			out := struct {
				Data   string       `json:"data_dir"`
				Cache  string       `json:"cache_dir"`
				Config string       `json:"config_dir"`
				Tools  []toolStatus `json:"tools"`
			}{d.Data, d.Cache, d.Config, st}
			return a.Render(out, func(w io.Writer) {
				fmt.Fprintf(w, "data:   %s\ncache:  %s\nconfig: %s\n", d.Data, d.Cache, d.Config)
				for _, s := range st {
					if s.Found {
						fmt.Fprintf(w, "ok       %-20s %s\n", s.Name, s.Path)
					} else {
						fmt.Fprintf(w, "missing  %-20s apt-get install %s  (%s)\n", s.Name, s.Package, s.UsedBy)
					}
				}
			})
		},
	}
}
