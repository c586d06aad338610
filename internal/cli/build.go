package cli

import "github.com/spf13/cobra"

func newBuildCmd(a *App) *cobra.Command {
	return stub("build", "Build a target: VM → assembled tree → archives", "  pypyctl build --target linux-amd64\n  pypyctl build --target linux-arm64 --formats tar.bz2,tar.zst")
}
