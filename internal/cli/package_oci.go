package cli

import "github.com/spf13/cobra"

func newPackageOCICmd(a *App) *cobra.Command {
	return stub("oci", "Build a multi-arch OCI image without a Docker daemon", "  pypyctl package oci --release pypy3.9-v7.3.11 --layout oci/")
}
