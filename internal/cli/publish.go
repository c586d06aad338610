package cli

import "github.com/spf13/cobra"

func newPublishCmd(a *App) *cobra.Command {
	return stub("publish DIST --to DEST", "Publish built artifacts and update versions.json", "  pypyctl publish dist --to public/ --base-url https://downloads.example.org/pypy")
}

func newServeCmd(a *App) *cobra.Command {
	return stub("serve DIR", "Serve a published directory over HTTP", "  pypyctl serve public/ --addr 127.0.0.1:8080")
}
