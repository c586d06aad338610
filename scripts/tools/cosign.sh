#!/bin/sh
# Builds cosign (the second signature implementation the tests verify
# with) once from the Go module proxy and prints the binary's path.
exec "$(dirname "$0")/gotool.sh" cosign github.com/sigstore/cosign/v2/cmd/cosign "${COSIGN_VERSION:-v2.6.5}"
