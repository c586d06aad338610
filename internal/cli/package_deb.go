package cli

import "github.com/spf13/cobra"

func newPackageDebCmd(a *App) *cobra.Command {
	return stub("deb", "Build a .deb of a target", "  pypyctl package deb --target linux-amd64")
}

func newPackageAptCmd(a *App) *cobra.Command {
	return stub("apt", "Build or extend a signed apt repository", "  pypyctl package apt --from dist --to repo --suite stable --key keys/apt.asc")
}

func newPackageBrewCmd(a *App) *cobra.Command {
	return stub("brew", "Write a Homebrew tap with a formula for a release", "  pypyctl package brew --release pypy3.11-v7.3.20 --to tap/")
}
