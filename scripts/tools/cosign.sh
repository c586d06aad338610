#!/bin/sh
# Builds cosign once from the Go module proxy and prints the binary's path.
# The build takes minutes of CPU, so the binary is cached and reused.
set -eu
version="${COSIGN_VERSION:-v2.6.5}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pypyctl-tools"
bin="$cache/bin/cosign"
stamp="$cache/bin/cosign.version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache/bin"
# Build outside any module so the project's go.mod never sees cosign's dependencies.
cd "$cache"
GOFLAGS=-mod=mod GOBIN="$cache/bin" go install "github.com/sigstore/cosign/v2/cmd/cosign@$version" >&2
echo "$version" >"$stamp"
echo "$bin"
