#!/usr/bin/env bash
# Benchmarks `pypyctl install` from a local index against the shell
# baseline `sha256sum -c && tar xf` of the same archive, and `install` of an
# already installed version. Uses dist/'s real PyPy archive when `make demo`
# built one (ARCHIVE=path overrides), else a synthetic tree of similar shape.
# Prints medians of RUNS runs (default 5); docs/benchmarks-install.md records them.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

go build -o "$work/pypyctl" ./cmd/pypyctl
pypyctl=$work/pypyctl

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
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f\n", b-a}'; }

size=$(stat -c %s "$dist/$name")
files=$(tar -tf "$dist/$name" | wc -l)
echo "archive: $name, $size bytes, $files entries"

base=() inst=() again=()
for i in $(seq "$RUNS"); do
  d=$work/base$i; mkdir -p "$d"; cp "$dist/$name" "$dist/SHA256SUMS" "$d/"
  sync; t0=$(now)
  (cd "$d" && sha256sum -c --quiet SHA256SUMS && tar xf "$name")
  t1=$(now); base+=("$(elapsed "$t0" "$t1")")

  home=$work/home$i
  sync; t0=$(now)
  PYPYCTL_HOME=$home "$pypyctl" install 3.9 --index "$work/public" -q
  t1=$(now); inst+=("$(elapsed "$t0" "$t1")")

  t0=$(now)
  PYPYCTL_HOME=$home "$pypyctl" install 3.9 --index "$work/public" -q
  t1=$(now); again+=("$(elapsed "$t0" "$t1")")
  rm -rf "$d" "$home"
done
b=$(printf '%s\n' "${base[@]}" | median)
n=$(printf '%s\n' "${inst[@]}" | median)
a=$(printf '%s\n' "${again[@]}" | median)
echo "sha256sum -c && tar xf:        ${b}s (median of $RUNS: ${base[*]})"
echo "pypyctl install (local index): ${n}s (median of $RUNS: ${inst[*]})"
awk -v n="$n" -v b="$b" 'BEGIN {printf "ratio install / baseline:      %.2fx (target <= 1.2x)\n", n/b}'
echo "pypyctl install, installed:    ${a}s (median of $RUNS: ${again[*]}; target < 0.100s)"
