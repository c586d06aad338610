package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
)

// newTrustAddCmd is `pypyctl trust add PUB`: installs require signatures
// from trusted keys once there is one.
func newTrustAddCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "add PUB",
		Short: "Trust a public key for installs",
		Long: `Copy the PEM public key PUB into <data>/trusted-keys. From then on every
` + "`pypyctl install`" + ` requires <archive>.sig beside the archive, verified by a
trusted key, before extracting it.`,
		Example: "  pypyctl trust add keys/pypyctl.pub",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := a.layout()
			if err != nil {
				return err
			}
			path, err := install.AddTrustedKey(l, args[0])
			if err != nil {
				return err
			}
			return a.Render(map[string]string{"key": path}, func(w io.Writer) {
				fmt.Fprintf(w, "trusted %s (installs now require signatures)\n", path)
			})
		},
	}
}
