package cli

import "github.com/spf13/cobra"

func newReleaseCmd(a *App) *cobra.Command {
	return stub("release", "Build, sign and publish a whole release or a nightly", "  pypyctl release --version 7.3.20 --to public/\n  pypyctl release --nightly")
}

func newCICmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "ci", Short: "Generate CI workflows from the matrix"}
	c.AddCommand(stub("github", "Write a GitHub Actions workflow", "  pypyctl ci github --release pypy3.11-v7.3.20 > .github/workflows/release.yml"))
	return c
}
