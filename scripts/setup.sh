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

# The arm64 builder image runs on amd64 through qemu-user: RPython starts
# gcc, make and the program it built as ordinary aarch64 executables inside
# the image's sandbox, so the kernel must hand every aarch64 exec to qemu by
# itself (binfmt_misc), with the F flag (the interpreter is opened now, so
# the image need not contain it). qemu-user-static ships the entry as
# systemd's binfmt.d file (flags OPF); without systemd nothing registers it,
# so this does what systemd-binfmt would. On a machine that refuses
# (an unprivileged container) only that image's tests need it: warn.
binfmt=/proc/sys/fs/binfmt_misc
register_binfmt() {
  local arch=$1 conf=/usr/lib/binfmt.d/qemu-$1.conf entry=$binfmt/qemu-$1
  if [ -f "$entry" ] && head -1 "$entry" | grep -qx enabled && grep -q '^flags:.*F' "$entry"; then
    return 0
  fi
  [ -f "$conf" ] || { echo "setup: $conf is missing (qemu-user-static)" >&2; return 1; }
  [ -e "$binfmt/register" ] || as_root mount -t binfmt_misc binfmt_misc "$binfmt" || return 1
  # An entry without F (or disabled) is replaced.
  if [ -e "$entry" ]; then as_root sh -c "echo -1 > $entry" || return 1; fi
  as_root sh -c "cat $conf > $binfmt/register" || return 1
  echo "setup: registered qemu-$arch in binfmt_misc (flags: $(sed -n 's/^flags: //p' "$entry"))" >&2
}
register_binfmt aarch64 ||
  echo "setup: warning: could not register qemu-aarch64 with binfmt_misc; the arm64 builder-image translation (PYPYCTL_TEST_ARM64_IMAGE=1) needs it" >&2

echo "setup: ok" >&2
