#!/bin/sh
# Builds actionlint (the GitHub Actions workflow linter the ci package's
# tests run over the generated workflows) once from the Go module proxy
# and prints the binary's path. It is not packaged for Debian; the binary
# is cached under the project cache and never committed. v1.7.12's go.mod
# says go 1.25.0, which go1.26 builds.
set -eu
version="${ACTIONLINT_VERSION:-v1.7.12}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pypyctl-tools"
bin="$cache/bin/actionlint"
stamp="$cache/bin/actionlint.version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache/bin"
# Build outside any module so the project's go.mod never sees actionlint's dependencies.
cd "$cache"
GOFLAGS=-mod=mod GOBIN="$cache/bin" go install "github.com/rhysd/actionlint/cmd/actionlint@$version" >&2
echo "$version" >"$stamp"
echo "$bin"
