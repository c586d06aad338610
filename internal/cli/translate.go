package cli

import "github.com/spf13/cobra"

func newTranslateCmd(a *App) *cobra.Command {
	return stub("translate", "Translate the PyPy VM with RPython for one target", "  pypyctl translate --target linux-amd64 --release pypy3.11-v7.3.20 --dry-run --json")
}
