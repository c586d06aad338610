// Command pypyctl builds, releases and installs PyPy reproducibly.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/pypyctl/pypyctl/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.OSMain(ctx)
	stop()
	os.Exit(code)
}
