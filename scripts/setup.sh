#!/usr/bin/env bash
# Installs the Debian packages pypyctl's build and tests use, on a fresh
# Debian/Ubuntu machine. Idempotent: packages already present are skipped.
set -euo pipefail

need=(
  # C libraries the archive compressors bind (bzip2, xz, zstd reference encoders)
  libbz2-dev liblzma-dev libzstd-dev pkg-config gcc
  # reference CLIs that read our archives back in tests and benchmarks
  bzip2 xz-utils zstd zip unzip faketime bc
  # git (lint lists files with it; translator and release tests make repos), python3 (probes)
  git python3
  # emulated arm64: qemu-user and the arm64 packages for its sysroot
  qemu-user-static
  # arm64 wheels: the cross compiler and the arm64 -dev library the test project links
  gcc-aarch64-linux-gnu libsqlite3-dev:arm64
  # sandboxes, ELF tools, signing and packaging clients the tests drive
  bubblewrap patchelf openssl gnupg sq dpkg-dev lintian debootstrap python3-jsonschema
  # registry, image and formula clients
  docker-registry skopeo umoci ruby
  # -dev libraries for the cffi stdlib modules (rebuild) and translation preflight
  libffi-dev libssl-dev libsqlite3-dev libncurses-dev libgdbm-dev libexpat1-dev zlib1g-dev tk-dev
  # objcopy and strip for build --strip (the post-translation strip stage)
  binutils
  # Bazel 4.2.3 (runs offline) for the WORKSPACE toolchain test
  bazel-bootstrap
)

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# arm64 packages (the Debian PyPy and the emulation sysroot) need the
# architecture enabled in dpkg and its package lists fetched.
arm64_enabled=1
dpkg --print-foreign-architectures | grep -qx arm64 || arm64_enabled=0

if [ ${#missing[@]} -gt 0 ] || [ $arm64_enabled = 0 ] || ! apt-cache show pypy3:arm64 >/dev/null 2>&1; then
  [ $arm64_enabled = 1 ] || as_root dpkg --add-architecture arm64
  as_root apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi
echo "setup: ok" >&2
