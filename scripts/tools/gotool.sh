#!/bin/sh
# gotool.sh NAME PACKAGE VERSION: builds a test tool once from the Go
# module proxy into the project's tool cache and prints the binary's path.
# Builds take minutes of CPU, so a binary of the same version is reused;
# nothing built here is ever committed.
set -eu
name="$1" pkg="$2" version="$3"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pypyctl-tools"
bin="$cache/bin/$name"
stamp="$cache/bin/$name.version"
if [ -x "$bin" ] && [ "$(cat "$stamp" 2>/dev/null || true)" = "$version" ]; then
	echo "$bin"
	exit 0
fi
mkdir -p "$cache/bin"
# Build outside any module so the project's go.mod never sees the tool's dependencies.
cd "$cache"
GOFLAGS=-mod=mod GOBIN="$cache/bin" go install "$pkg@$version" >&2
echo "$version" >"$stamp"
echo "$bin"
