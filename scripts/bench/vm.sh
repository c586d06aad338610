#!/usr/bin/env bash
# Compares two builds of one PyPy on scripts/bench/vmbench.py's workloads
# (an integer loop, objects and floats, strings, json, regex) and startup
# (`-c pass`). The two VMs run alternately, ROUNDS times each, so a
# change in the machine's load falls on both; it prints each workload's
# median in ms for A and B and B/A.
#
# Usage: scripts/bench/vm.sh [-n ROUNDS] VM_A VM_B
#   VM_* are interpreters: an unpacked release's bin/pypy3, or a
#   translation's pypy/goal/pypy3.11-c run inside its source tree (a
#   --keep-work directory's src/pypy/goal/), which finds lib-python there.
# ROUNDS defaults to 7.
set -euo pipefail
rounds=7
if [ "${1:-}" = -n ]; then rounds=$2; shift 2; fi
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
now() { date +%s%N; }
for ((i = 0; i < rounds; i++)); do
  for side in A B; do
    vm=$1; [ $side = B ] && vm=$2
    "$vm" "$here/vmbench.py" >> "$tmp/$side"
    for _ in 1 2 3; do
      t0=$(now); "$vm" -c pass; t1=$(now)
      echo "startup $(( (t1 - t0) / 100000 ))" | sed 's/\([0-9]\)$/.\1/' >> "$tmp/$side"
    done
  done
done
median() { grep "^$1 " "$2" | awk '{print $2}' | sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
printf '%-8s %10s %10s %7s\n' workload "A ms" "B ms" B/A
for w in startup loop objects strings jsons regex; do
  a=$(median $w "$tmp/A") b=$(median $w "$tmp/B")
  printf '%-8s %10.1f %10.1f %7.3f\n' $w "$a" "$b" "$(echo "$b / $a" | bc -l)"
done
