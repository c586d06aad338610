package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/pypyctl/pypyctl/install"
	"github.com/pypyctl/pypyctl/install/catalogue"
	"github.com/pypyctl/pypyctl/publish/index"
)

func newCompletionCmd(a *App) *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print a shell completion script",
		Long: `Print a completion script for the shell. It completes commands, flags,
targets and releases of the matrix (--target, --targets, --release),
archive formats (--formats), installed versions (uninstall, which, run)
and the versions install can fetch (install, pin).`,
		Example: `  source <(pypyctl completion bash)
  pypyctl completion zsh > "${fpath[1]}/_pypyctl"
  pypyctl completion fish > ~/.config/fish/completions/pypyctl.fish
  pypyctl completion powershell | Out-String | Invoke-Expression`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"bash", "zsh", "fish", "powershell"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root := cmd.Root()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(a.Stdout, true)
			case "zsh":
				return root.GenZshCompletion(a.Stdout)
			case "fish":
				return root.GenFishCompletion(a.Stdout, true)
			case "powershell":
				return root.GenPowerShellCompletionWithDesc(a.Stdout)
			}
			return Usagef("unknown shell %q: want bash, zsh, fish or powershell", args[0])
		},
	}
}

// addCompletions wires value completion into every command of the tree
// by flag name, so a new command with --target completes targets too.
func addCompletions(a *App, root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, fn := range map[string]cobra.CompletionFunc{
			"target":  a.completeTargets(false),
			"targets": a.completeTargets(true),
			"release": a.completeReleases,
			"formats": completeFormats,
		} {
			if c.Flags().Lookup(name) != nil && c.Flags().Lookup(name).Value.Type() != "bool" {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
		switch c.Name() {
		case "install", "pin":
			c.ValidArgsFunction = a.completeAvailable
		case "uninstall", "which", "run":
			c.ValidArgsFunction = a.completeInstalled
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// listPrefix completes the last element of a comma-separated list.
func listPrefix(toComplete string) (done, last string) {
	if i := strings.LastIndex(toComplete, ","); i >= 0 {
		return toComplete[:i+1], toComplete[i+1:]
	}
	return "", toComplete
}

func filterPrefix(done, last string, all []string) []string {
	var out []string
	for _, s := range all {
		if strings.HasPrefix(s, last) {
			out = append(out, done+s)
		}
	}
	return out
}

func (a *App) completeTargets(list bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		m, err := a.LoadMatrix()
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, t := range m.Targets {
			names = append(names, t.Name)
		}
		done, last := "", toComplete
		dir := cobra.ShellCompDirectiveNoFileComp
		if list {
			done, last = listPrefix(toComplete)
			dir |= cobra.ShellCompDirectiveNoSpace
		}
		return filterPrefix(done, last, names), dir
	}
}

func (a *App) completeReleases(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	m, err := a.LoadMatrix()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	for _, r := range m.Releases {
		names = append(names, r.Name)
	}
	return filterPrefix("", toComplete, names), cobra.ShellCompDirectiveNoFileComp
}

func completeFormats(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	done, last := listPrefix(toComplete)
	return filterPrefix(done, last, index.Formats()), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeInstalled offers installed versions by name and Python version.
func (a *App) completeInstalled(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	_, l, err := a.layout()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	all, err := install.ListInstalled(l)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var names []string
	seen := map[string]bool{}
	for _, in := range all {
		for _, n := range []string{majorMinor(in.PythonVersion), in.Name} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return filterPrefix("", toComplete, names), cobra.ShellCompDirectiveNoFileComp
}

// completeAvailable offers what install can fetch for this machine from
// the built-in catalogue (no network while completing): Python X.Y and
// X.Y@PyPy versions, newest first, plus latest.
func (a *App) completeAvailable(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ix, err := catalogue.Upstream()
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	names := []string{"latest"}
	seen := map[string]bool{}
	for _, v := range ix {
		xy := majorMinor(v.PythonVersion)
		for _, n := range []string{xy, xy + "@" + v.PyPyVersion} {
			if !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return filterPrefix("", toComplete, names), cobra.ShellCompDirectiveNoFileComp
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}
