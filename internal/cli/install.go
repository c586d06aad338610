package cli

import "github.com/spf13/cobra"

func newInstallCmd(a *App) *cobra.Command {
	return stub("install REQUEST", "Install a PyPy from the index", "  pypyctl install 3.11\n  pypyctl install 3.9@7.3.11 --index ./public/versions.json")
}
func newListCmd(a *App) *cobra.Command {
	return stub("list", "List installed (or available) PyPys", "  pypyctl list\n  pypyctl list --available --json")
}
func newUninstallCmd(a *App) *cobra.Command {
	return stub("uninstall REQUEST", "Remove an installed PyPy", "  pypyctl uninstall 3.9")
}
func newPinCmd(a *App) *cobra.Command {
	return stub("pin REQUEST", "Write .python-version for this directory", "  pypyctl pin 3.11")
}
func newWhichCmd(a *App) *cobra.Command {
	return stub("which [REQUEST]", "Print the interpreter a request resolves to", "  pypyctl which 3.11")
}
func newRunCmd(a *App) *cobra.Command {
	return stub("run [REQUEST] -- ARGS...", "Run an installed PyPy", "  pypyctl run 3.9 -- -c 'import sys; print(sys.version)'")
}
func newShimsCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "shims", Short: "Manage pypy/pypy3 shims on PATH"}
	c.AddCommand(
		stub("install", "Write shims into the data dir", "  pypyctl shims install"),
		stub("remove", "Remove the shims", "  pypyctl shims remove"),
	)
	return c
}
