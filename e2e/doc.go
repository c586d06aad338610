// Package e2e holds end-to-end tests that drive the pypyctl binary against
// real inputs (Debian's PyPy packages), real tools (GNU tar, qemu-user,
// sha256sum) and real servers on 127.0.0.1. They run with
// `go test -tags integration ./e2e` (make integration), after
// scripts/setup.sh has installed the tools.
package e2e
