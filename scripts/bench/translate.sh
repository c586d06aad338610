#!/usr/bin/env bash
# Runs one cold `pypyctl translate` and prints what docs/benchmarks.md
# quotes: wall time, CPU time (user + sys of every process of the run,
# RPython and the compilers it starts included) and, from pypyctl's --json
# report, each phase's wall time, RPython's own timing, CPU time and peak RSS.
#
# Usage: scripts/bench/translate.sh [--release R] [--target T] [--store DIR]
#            [--builder B] [--image-store DIR] [--rpython-target FILE] [-- TRANSLATE-ARGS…]
#   --release         default pypy3.11-v7.3.20 (a full translation: 28-75 min on 2 cores)
#   --target          default linux-amd64
#   --store           where the translation goes; must not hold it already (a store
#                     hit runs nothing); default a new directory, kept and printed
#   --builder         passed on (default: the target's, the builder image)
#   --image-store     store of builder images (default: pypyctl's default store);
#                     the image is made there first, outside the measurement
#   --rpython-target  translate this RPython program of the release's source instead
#                     of PyPy (rpython/translator/goal/targetnopstandalone.py of a 2.7
#                     release: a few minutes), to try the script or a builder
#   after --           more `pypyctl translate` flags, e.g. --host-python P --pass-env PYTHONPATH
# The source comes through $PYPYCTL_GIT_MIRROR when set (this project's
# machines: file:///work/shared/pypy/pypy.git). PYPYCTL=path measures an
# existing binary instead of building one.
#
# CPU time is read from a cgroup made for the run (cgroup v2, else v1
# cpuacct; needs root): bwrap's pid namespace reports no rusage of what runs
# inside it, so `time pypyctl …` would count almost nothing. Without a
# writable cgroup the CPU line says so.
set -euo pipefail
cd "$(dirname "$0")/../.."

release=pypy3.11-v7.3.20 target=linux-amd64 store="" builder="" image_store="" rpython_target=""
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --release) release=$2; shift 2 ;;
    --target) target=$2; shift 2 ;;
    --store) store=$2; shift 2 ;;
    --builder) builder=$2; shift 2 ;;
    --image-store) image_store=$2; shift 2 ;;
    --rpython-target) rpython_target=$2; shift 2 ;;
    --) shift; break ;;
    -h|--help) usage ;;
    *) echo "translate.sh: unknown argument $1" >&2; usage ;;
  esac
done
extra=("$@")

work=$(mktemp -d)
trap 'rm -rf "$work"; [ -z "${cg:-}" ] || rmdir "$cg" 2>/dev/null || true' EXIT
pypyctl=${PYPYCTL:-$work/pypyctl}
[ -n "${PYPYCTL:-}" ] || go build -o "$pypyctl" ./cmd/pypyctl
[ -n "$store" ] || store=$(mktemp -d -t pypyctl-bench-store.XXXXXX)

args=(translate --target "$target" --release "$release" --store "$store" --json)
[ -z "$builder" ] || args+=(--builder "$builder")
[ -z "$rpython_target" ] || args+=(--rpython-target "$rpython_target")

# The builder image is a pinned input, not part of the translation: make
# it (or find it) first, so the numbers are the translation's alone.
plan=$("$pypyctl" "${args[@]}" "${extra[@]}" --dry-run)
image_arch=$(jq -r '.image.arch // empty' <<<"$plan")
if [ -n "$image_arch" ]; then
  image_args=(translate image build --arch "$image_arch" --image "$(jq -r .image.name <<<"$plan")" --json)
  [ -z "$image_store" ] || image_args+=(--store "$image_store")
  image=$("$pypyctl" "${image_args[@]}")
  # The root is <store>/<kk>/<key>/content/rootfs.
  image_store=$(jq -r .root <<<"$image" | sed 's|/[^/]*/[^/]*/content/rootfs$||')
  args+=(--image-store "$image_store")
  echo "builder image $(jq -r .image <<<"$image") ($image_arch): key $(jq -r .key <<<"$image" | cut -c1-12), $(jq -r 'if .hit then "already made" else "made now" end' <<<"$image"), in $image_store" >&2
fi

# A cgroup of the run's own, for its CPU time.
cg="" cgv=""
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then cgv=2 cgbase=/sys/fs/cgroup
elif [ -f /sys/fs/cgroup/unified/cgroup.controllers ]; then cgv=2 cgbase=/sys/fs/cgroup/unified
elif [ -f /sys/fs/cgroup/cpuacct/cpuacct.usage ]; then cgv=1 cgbase=/sys/fs/cgroup/cpuacct
fi
if [ -n "$cgv" ] && mkdir "$cgbase/pypyctl-bench-$$" 2>/dev/null; then
  cg=$cgbase/pypyctl-bench-$$
fi
join_cgroup() {
  [ -n "$cg" ] || return 0
  echo "$BASHPID" > "$cg/cgroup.procs"
}
# cpu_seconds prints "total user sys" of the cgroup in seconds.
cpu_seconds() {
  if [ "$cgv" = 2 ]; then
    awk '{v[$1]=$2} END {printf "%.1f %.1f %.1f\n", v["usage_usec"]/1e6, v["user_usec"]/1e6, v["system_usec"]/1e6}' "$cg/cpu.stat"
  else
    hz=$(getconf CLK_TCK)
    awk -v ns="$(cat "$cg/cpuacct.usage")" -v hz="$hz" '{v[$1]=$2} END {printf "%.1f %.1f %.1f\n", ns/1e9, v["user"]/hz, v["system"]/hz}' "$cg/cpuacct.stat"
  fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s.%N)
set +e
( join_cgroup && exec "$pypyctl" "${args[@]}" "${extra[@]}" ) > "$work/report.json" 2> "$work/stderr"
rc=$?
set -e
wall=$(echo "$(date +%s.%N) - $start" | bc)
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
if [ $rc != 0 ]; then
  echo "translate.sh: pypyctl ${args[*]} ${extra[*]} failed (exit $rc):" >&2
  grep '^pypyctl:' -A20 "$work/stderr" >&2 || tail -20 "$work/stderr" >&2
  exit 1
fi
rep=$work/report.json
if [ "$(jq .hit "$rep")" = true ]; then
  echo "translate.sh: store hit in $store: nothing ran; give a fresh --store" >&2
  exit 1
fi
cpu="n/a (no writable cgroup: run as root)"
if [ -n "$cg" ]; then
  read -r total user sys < <(cpu_seconds)
  cpu="$total s (user $user s, sys $sys s; cgroup v$cgv)"
fi

jq -r --arg wall "$wall" --arg cpu "$cpu" --arg ls "$load_start" --arg le "$load_end" \
  --arg cpus "$(nproc)" --arg date "$(date -u +%Y-%m-%d)" --arg rev "$(git describe --always --dirty 2>/dev/null || echo unknown)" '
def min: . / 60 | . * 10 | round / 10;
.plan as $p |
"translate \($p.release) for \($p.target), builder \($p.builder), host \($p.host.implementation) \($p.host.version)" +
  (if $p.host.pypy_version then " (PyPy \($p.host.pypy_version))" else "" end),
"  run: \(if ($p.wrapper | length) > 0 then $p.wrapper[0] + " … -- " else "" end)\($p.command | join(" "))",
"  \($date), pypyctl \($rev), \($cpus) CPUs, load \($ls) at start, \($le) at end",
"",
"| phase | wall s | RPython s | CPU s | peak RSS MB |",
"|---|---|---|---|---|",
(.phases[] | "| \(.name) | \(.seconds * 10 | round / 10) | \(.rpython_seconds // "–") | \(.cpu_seconds // 0 | if . > 0 then . * 10 | round / 10 else "–" end) | \(.peak_rss_mb // 0 | if . > 0 then round else "–" end) |"),
"| **total** | **\(.seconds * 10 | round / 10) (\(.seconds | min) min)** | | **\([.phases[].cpu_seconds // 0] | add | . * 10 | round / 10)** | **\([.phases[].peak_rss_mb // 0] | max | round)** |",
"",
"wall (whole command, source fetch included): \($wall | tonumber | . * 10 | round / 10) s (\($wall | tonumber | min) min)",
"CPU: \($cpu)",
"outputs: \([.outputs[] | "\(.name) \(.size) bytes"] | join(", "))",
"store: \(.dir)",
"log: \(.log)"
' "$rep"
