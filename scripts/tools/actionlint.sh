#!/bin/sh
# Builds actionlint (the GitHub Actions workflow linter the ci package's
# tests run over the generated workflows; not packaged for Debian) once
# from the Go module proxy and prints the binary's path. v1.7.12's go.mod
# says go 1.25.0, which go1.26 builds.
exec "$(dirname "$0")/gotool.sh" actionlint github.com/rhysd/actionlint/cmd/actionlint "${ACTIONLINT_VERSION:-v1.7.12}"
