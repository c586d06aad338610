package cli

import "github.com/spf13/cobra"

func newWheelsCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "wheels", Short: "Build, check and repair cffi wheels for PyPy"}
	c.AddCommand(
		stub("build SRC", "Build a wheel with the built PyPy", "  pypyctl wheels build ./myproject --release pypy3.9-v7.3.11"),
		stub("check WHEEL...", "Check tags, RECORD and manylinux policy", "  pypyctl wheels check dist/*.whl --json"),
		stub("repair WHEEL", "Vendor libraries and retag to manylinux", "  pypyctl wheels repair dist/foo-1.0-pp39-pypy39_pp73-linux_x86_64.whl"),
	)
	return c
}
