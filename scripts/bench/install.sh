#!/usr/bin/env bash
# Benchmarks `pypyctl install` from a local index against the shell
# baseline `sha256sum -c && tar xf` of the same archive, and `install` of an
# already installed version. Uses dist/'s real PyPy archive when `make demo`
# built one (ARCHIVE=path overrides), else a synthetic tree of similar shape.
# Prints medians of RUNS runs (default 5); the Install section of docs/benchmarks.md records them.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# PYPYCTL=path benchmarks an existing binary instead of building one.
pypyctl=${PYPYCTL:-$work/pypyctl}
[ -n "${PYPYCTL:-}" ] || go build -o "$pypyctl" ./cmd/pypyctl

archive=${ARCHIVE:-}
if [ -z "$archive" ]; then
  archive=$(ls dist/pypy3.9-v7.3.11-linux64.tar.bz2 2>/dev/null || true)
fi
dist=$work/dist
mkdir -p "$dist"
if [ -n "$archive" ]; then
  name=$(basename "$archive")
  case "$name" in pypy3.9-v7.3.11-linux64.*) ;; *) echo "ARCHIVE must be a pypy3.9-v7.3.11-linux64 archive" >&2; exit 2;; esac
  cp "$archive" "$dist/"
else
  # Synthetic: 3000 files, ~70 MB of compressible text, bin/pypy3 script.
  name=pypy3.9-v7.3.11-linux64.tar.bz2
  top=${name%.tar.bz2}
  python3 - "$work/tree/$top" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(1)
words = [("".join(rnd.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rnd.randint(2, 12)))) for _ in range(5000)]
for i in range(3000):
    d = os.path.join(root, "lib", "pypy3.9", "pkg%02d" % (i % 60))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "mod%04d.py" % i), "w") as f:
        f.write(" ".join(rnd.choice(words) for _ in range(rnd.randint(500, 4500))))
os.makedirs(os.path.join(root, "bin"), exist_ok=True)
exe = os.path.join(root, "bin", "pypy3.9")
with open(exe, "w") as f:
    f.write("#!/bin/sh\necho fake-pypy \"$@\"\n")
os.chmod(exe, 0o755)
os.symlink("pypy3.9", os.path.join(root, "bin", "pypy3"))
PY
  tar -C "$work/tree" --owner=root --group=root --numeric-owner -cjf "$dist/$name" "$top"
fi
(cd "$dist" && sha256sum "$name" > SHA256SUMS)
format=${name#pypy3.9-v7.3.11-linux64.}
cat > "$dist/pypy3.9-v7.3.11.release.json" <<JSON
{"schema": 1, "name": "pypy3.9-v7.3.11", "pypy_version": "7.3.11", "python_version": "3.9.16",
 "date": "2022-12-29", "stable": true,
 "files": [{"target": "linux-amd64", "filename": "$name", "format": "$format", "arch": "x64", "platform": "linux"}]}
JSON
"$pypyctl" publish "$dist" --to "$work/public" -q

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# measure FILE CMD...: appends "wall cpu" (cpu = user+sys, children
# included) to FILE. CPU time is what to compare on a loaded machine.
measure() {
  local out=$1; shift
  sync
  /usr/bin/time -f '%e %U %S' -o "$work/t" "$@" >/dev/null
  awk '{printf "%.3f %.3f\n", $1, $2+$3}' "$work/t" >> "$out"
}

size=$(stat -c %s "$dist/$name")
files=$(tar -tf "$dist/$name" | wc -l)
echo "archive: $name, $size bytes, $files entries; load: $(cut -d' ' -f1-3 /proc/loadavg)"

for i in $(seq "$RUNS"); do
  d=$work/base$i; mkdir -p "$d"; cp "$dist/$name" "$dist/SHA256SUMS" "$d/"
  measure "$work/base" sh -c 'cd "$1" && sha256sum -c --quiet SHA256SUMS && tar xf "$2"' sh "$d" "$name"
  home=$work/home$i
  measure "$work/inst" env PYPYCTL_HOME="$home" "$pypyctl" install 3.9 --index "$work/public" -q
  measure "$work/again" env PYPYCTL_HOME="$home" "$pypyctl" install 3.9 --index "$work/public" -q
  rm -rf "$d" "$home"
done
col() { cut -d' ' -f"$2" "$work/$1" | median; }
report() { printf '%-34s wall %6ss  cpu %6ss   (runs: %s)\n' "$1" "$(col "$2" 1)" "$(col "$2" 2)" "$(cut -d' ' -f1 "$work/$2" | tr '\n' ' ')"; }
report "sha256sum -c && tar xf" base
report "pypyctl install (local index)" inst
report "pypyctl install, already installed" again
awk -v nw="$(col inst 1)" -v bw="$(col base 1)" -v nc="$(col inst 2)" -v bc="$(col base 2)" \
  'BEGIN {printf "ratio install / baseline: wall %.2fx, cpu %.2fx (target <= 1.2x)\n", nw/bw, nc/bc}'
echo "already installed: target < 0.100s wall"
