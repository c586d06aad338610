package cli

import (
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// BuildInfo is pypyctl's own version, read from the binary's build info.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Modified  bool   `json:"modified"`
	GoVersion string `json:"go_version"`
}

// ReadBuildInfo reports the module version and VCS stamp of this binary.
func ReadBuildInfo() BuildInfo {
	bi := BuildInfo{Version: "(devel)", Commit: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return bi
	}
	bi.GoVersion = info.GoVersion
	if v := info.Main.Version; v != "" {
		bi.Version = v
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			bi.Commit = s.Value
		case "vcs.modified":
			bi.Modified = s.Value == "true"
		}
	}
	return bi
}

// builderID names this pypyctl (version+commit) in SBOMs, provenance and
// the store's release records.
func builderID() string {
	bi := ReadBuildInfo()
	return bi.Version + "+" + bi.Commit
}

func newVersionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print pypyctl's version, commit and Go version",
		Example: "  pypyctl version\n  pypyctl version --json",
		Args:    cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			bi := ReadBuildInfo()
			return a.RenderResult(bi, func(w io.Writer) {
				dirty := ""
				if bi.Modified {
					dirty = " (modified)"
				}
				fmt.Fprintf(w, "pypyctl %s\ncommit %s%s\n%s\n", bi.Version, bi.Commit, dirty, bi.GoVersion)
			})
		},
	}
}

// versionLine is what --version prints after "pypyctl ".
func versionLine(bi BuildInfo) string {
	dirty := ""
	if bi.Modified {
		dirty = ", modified"
	}
	return fmt.Sprintf("%s (commit %s%s, %s)", bi.Version, bi.Commit, dirty, bi.GoVersion)
}
