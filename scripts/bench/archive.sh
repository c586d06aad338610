#!/usr/bin/env bash
# Packs one assembled PyPy tree with pypyctl's writer and with the
# reference pipelines (tar | bzip2 -9, gzip -9 -n, xz -T0 -6, zstd -T0 -19)
# in the same run, and prints size and wall-time ratios per format.
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
printf '%-8s %12s %12s %8s %8s %8s %8s\n' format ours_bytes ref_bytes size× ours_s ref_s time×
ref() {
  local cmd=$1 s e
  s=$(date +%s.%N)
  tar cf - -C "$(dirname "$tree")" "$(basename "$tree")" | $cmd > "$bench/ref"
  e=$(date +%s.%N)
  echo "$(stat -c %s "$bench/ref") $(echo "$e - $s" | bc)"
}
for f in tar.bz2:"bzip2 -9" tar.gz:"gzip -9 -n" tar.xz:"xz -T0 -6" tar.zst:"zstd -q -T0 -19"; do
  fmt=${f%%:*}; cmd=${f#*:}
  read -r _ ob os < <("$bench/archivebench" "$fmt" "$tree")
  read -r rb rs < <(ref "$cmd")
  printf '%-8s %12d %12d %8.3f %8.2f %8.2f %8.2f\n' "$fmt" "$ob" "$rb" "$(echo "$ob / $rb" | bc -l)" "$os" "$rs" "$(echo "$os / $rs" | bc -l)"
done
