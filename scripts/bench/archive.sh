#!/usr/bin/env bash
# Packs one assembled PyPy tree with pypyctl's writer and with the
# reference pipelines (tar | bzip2 -9, gzip -9 -n, xz -T0 -6, zstd -T0 -19)
# in the same run, and prints size, wall-time and CPU-time (user + sys) ratios
# per format. RUNS=N repeats each measurement and keeps the median;
# FORMATS="tar.bz2 tar.xz" limits the formats.
# Usage: scripts/bench/archive.sh [TREE]   (default: the linux-amd64 tree
# of the default release, built first if needed)
set -euo pipefail
cd "$(dirname "$0")/../.."
tree=${1:-}
if [ -z "$tree" ]; then
  go build -o bin/pypyctl ./cmd/pypyctl
  tree=$(bin/pypyctl build --target linux-amd64 --formats tar.gz --out "$(mktemp -d)" --json | sed -n 's/^  "tree": "\(.*\)",$/\1/p')
fi
bench=$(mktemp -d)
trap 'rm -rf "$bench"' EXIT
go build -o "$bench/archivebench" ./scripts/bench/archivebench
tarsize=$(tar cf - -C "$(dirname "$tree")" "$(basename "$tree")" | wc -c)
echo "tree: $tree ($((tarsize / 1048576)) MiB as tar), $(nproc) cores"
runs=${RUNS:-1}
printf '%-8s %11s %11s %7s %7s %7s %7s %7s %7s %7s\n' format ours_bytes ref_bytes size× ours_s ref_s wall× ours_cpu ref_cpu cpu×
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ref() {
  local cmd=$1 t
  TIMEFORMAT='%R %U %S'
  t=$( { time tar cf - -C "$(dirname "$tree")" "$(basename "$tree")" | $cmd > "$bench/ref"; } 2>&1 )
  read -r real user sys <<<"$t"
  echo "$(stat -c %s "$bench/ref") $real $(echo "$user + $sys" | bc)"
}
for f in tar.bz2:"bzip2 -9" tar.gz:"gzip -9 -n" tar.xz:"xz -T0 -6" tar.zst:"zstd -q -T0 -19"; do
  fmt=${f%%:*}; cmd=${f#*:}
  case " ${FORMATS:-tar.bz2 tar.gz tar.xz tar.zst} " in *" $fmt "*) ;; *) continue ;; esac
  ow=(); oc=(); rw=(); rc=()
  for _ in $(seq "$runs"); do
    read -r _ ob w c < <("$bench/archivebench" "$fmt" "$tree"); ow+=("$w"); oc+=("$c")
    read -r rb w c < <(ref "$cmd"); rw+=("$w"); rc+=("$c")
  done
  os=$(printf '%s\n' "${ow[@]}" | median); ocpu=$(printf '%s\n' "${oc[@]}" | median)
  rs=$(printf '%s\n' "${rw[@]}" | median); rcpu=$(printf '%s\n' "${rc[@]}" | median)
  printf '%-8s %11d %11d %7.3f %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f\n' "$fmt" "$ob" "$rb" "$(echo "$ob / $rb" | bc -l)" \
    "$os" "$rs" "$(echo "$os / $rs" | bc -l)" "$ocpu" "$rcpu" "$(echo "$ocpu / $rcpu" | bc -l)"
done
