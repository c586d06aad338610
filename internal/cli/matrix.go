package cli

import "github.com/spf13/cobra"

func newMatrixCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "matrix", Short: "Validate and inspect the platform matrix"}
	c.AddCommand(
		stub("validate", "Check the matrix; report every problem as file:line:col", "  pypyctl matrix validate --matrix platforms/matrix.yaml"),
		stub("list", "List releases × targets", "  pypyctl matrix list --json"),
		stub("ci", "Print the CI job matrix for a release", "  pypyctl matrix ci --release pypy3.11-v7.3.20 --format github-actions"),
	)
	return c
}
