package cli

import "github.com/spf13/cobra"

func newPackageCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "package", Short: "Distro and container outputs from built trees"}
	c.AddCommand(newPackageDebCmd(a), newPackageAptCmd(a), newPackageBrewCmd(a), newPackageOCICmd(a))
	return c
}
