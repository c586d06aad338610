package cli

import "github.com/spf13/cobra"

func newBazelCmd(a *App) *cobra.Command {
	return stub("bazel", "Generate Bazel repository rules for a published release", "  pypyctl bazel --index public/versions.json --release pypy3.9-v7.3.11 --out third_party/pypy")
}
