package cli

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
)

func newTrustListCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Short:   "List the keys installs require signatures from",
		Example: "  pypyctl trust list\n  pypyctl trust list --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, l, err := a.layout()
			if err != nil {
				return err
			}
			keys, err := install.ListTrustedKeys(l)
			if err != nil {
				return err
			}
			return a.RenderResult(keys, func(w io.Writer) {
				if len(keys) == 0 {
					fmt.Fprintln(w, "no key is trusted: installs check sha256 only (add one with `pypyctl trust add PUB`)")
					return
				}
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tSHA256")
				for _, k := range keys {
					fmt.Fprintf(tw, "%s\t%s\n", k.Name, k.SHA256)
				}
				tw.Flush()
			})
		},
	}
}

func newTrustRemoveCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:     "remove NAME",
		Short:   "Stop trusting a key",
		Long:    "Remove a trusted key, named as `pypyctl trust list` shows it (or a unique prefix of its name or digest). With no key left, installs no longer require signatures.",
		Example: "  pypyctl trust remove pypyctl-0123456789ab",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, l, err := a.layout()
			if err != nil {
				return err
			}
			k, err := install.RemoveTrustedKey(l, args[0])
			if err != nil {
				return err
			}
			left, _ := install.ListTrustedKeys(l)
			return a.Render(map[string]any{"removed": k, "left": len(left)}, func(w io.Writer) {
				fmt.Fprintf(w, "removed %s\n", k.Name)
				if len(left) == 0 {
					fmt.Fprintln(w, "no key is trusted any more: installs check sha256 only")
				}
			})
		},
		ValidArgsFunction: func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			_, l, err := a.layout()
			if err != nil || len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			keys, _ := install.ListTrustedKeys(l)
			var names []string
			for _, k := range keys {
				names = append(names, k.Name)
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
	}
}
