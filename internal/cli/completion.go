package cli

import (
	"github.com/spf13/cobra"
)

func newCompletionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print a shell completion script",
		Example: `  source <(pypyctl completion bash)
  pypyctl completion zsh > "${fpath[1]}/_pypyctl"
  pypyctl completion fish > ~/.config/fish/completions/pypyctl.fish`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.Stdout)
			case "fish":
				return root.GenFishCompletion(a.Stdout, true)
			}
			return Usagef("unknown shell %q: want bash, zsh or fish", args[0])
		},
	}
}
