package cli

import "github.com/spf13/cobra"

func newReleaseCmd(a *App) *cobra.Command {
	return stub("release", "Build, sign and publish a whole release or a nightly", "  pypyctl release --version 7.3.20 --to public/\n  pypyctl release --nightly")
}
