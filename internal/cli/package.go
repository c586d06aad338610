package cli

import "github.com/spf13/cobra"

func newPackageCmd(a *App) *cobra.Command {
	c := &cobra.Command{Use: "package", Short: "Distro and container outputs from built trees"}
	c.AddCommand(
		stub("deb", "Build a .deb of a target", "  pypyctl package deb --target linux-amd64"),
		stub("apt", "Build or extend a signed apt repository", "  pypyctl package apt --from dist --to repo --suite stable --key keys/apt.asc"),
		stub("brew", "Write a Homebrew tap with a formula for a release", "  pypyctl package brew --release pypy3.11-v7.3.20 --to tap/"),
		stub("oci", "Build a multi-arch OCI image without a Docker daemon", "  pypyctl package oci --release pypy3.9-v7.3.11 --layout oci/"),
	)
	return c
}
