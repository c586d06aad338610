package cli

import (
	"fmt"

	"github.com/spf13/cobra"
)

// NewRoot builds the whole command tree for one App.
func NewRoot(a *App) *cobra.Command {
	root := &cobra.Command{
		Use:   "pypyctl",
		Short: "Build, release and install PyPy reproducibly",
		Long: `pypyctl builds PyPy from one declarative platform matrix: it translates
(or imports) the VM per target, assembles upstream's relocatable layout,
packs byte-reproducible archives, signs and indexes them, and installs
them as a version manager.`,
		Example: `  pypyctl matrix list
  pypyctl build --target linux-amd64
  pypyctl release --nightly
  pypyctl install 3.11`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(ReadBuildInfo()),
	}
	root.SetVersionTemplate("pypyctl {{.Version}}\n")
	pf := root.PersistentFlags()
	pf.BoolVar(&a.JSON, "json", false, "print a machine-readable result on stdout (logs stay on stderr)")
	pf.BoolVarP(&a.Verbose, "verbose", "v", false, "log more detail to stderr")
	pf.BoolVarP(&a.Quiet, "quiet", "q", false, "print only errors")
	pf.StringVar(&a.Matrix, "matrix", "", "platform matrix file (default: $PYPYCTL_MATRIX, else the embedded matrix)")

	root.AddCommand(
		newMatrixCmd(a),
		newTranslateCmd(a), newSourceCmd(a),
		newBuildCmd(a),
		newSignCmd(a), newVerifyCmd(a), newKeysCmd(a), newTrustCmd(a),
		newPublishCmd(a), newServeCmd(a),
		newPackageCmd(a),
		newReleaseCmd(a), newCICmd(a),
		newWheelsCmd(a),
		newInstallCmd(a), newListCmd(a), newUninstallCmd(a), newPinCmd(a), newWhichCmd(a), newRunCmd(a), newShimsCmd(a),
		newBazelCmd(a),
		newCacheCmd(a), newStoreCmd(a),
		newDoctorCmd(a), newVersionCmd(a), newCompletionCmd(a),
	)
	wrapUsage(root)
	addCompletions(a, root)
	return root
}

// stub is a command whose issue has not landed: it says so and exits 1.
func stub(use, short, example string) *cobra.Command {
	return &cobra.Command{
		Use:     use,
		Short:   short + " (not implemented yet)",
		Example: example,
		RunE: func(c *cobra.Command, _ []string) error {
			return fmt.Errorf("%s: %w", c.CommandPath(), ErrNotImplemented)
		},
	}
}
