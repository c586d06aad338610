#!/usr/bin/env bash
# Compares two translations of the same source: the C that RPython
# generated and the VM it compiled, from two work directories that
# `pypyctl translate --keep-work` kept. Prints what docs/translate.md
# quotes for "are two translations the same VM":
#   - generated files (usession/*/testing_1: .c, .h, Makefile) in both,
#     identical, differing, and differing once each work directory's path
#     is replaced by one placeholder (so only content, not paths, counts);
#   - for a few differing files, the first differing line pair;
#   - the sha256 of the VM library and executable in each.
#
# Usage: scripts/bench/translate-diff.sh WORK_A WORK_B
# WORK_* are the directories the kept runs print ("work directory kept: …",
# with -v), by default under ~/.cache/pypyctl/work/.
set -euo pipefail
[ $# -eq 2 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
a=$(cd "$1" && pwd) b=$(cd "$2" && pwd)
gen() { find "$1"/usession -path '*/testing_1/*' -type f \( -name '*.c' -o -name '*.h' -o -name Makefile \) -printf '%P\n' | sed 's#^[^/]*/testing_1/#testing_1/#' | LC_ALL=C sort; }
dir() { find "$1"/usession -maxdepth 2 -type d -name testing_1 | head -n 1; }
ga=$(dir "$a") gb=$(dir "$b")
[ -n "$ga" ] && [ -n "$gb" ] || { echo "no usession/*/testing_1 in both (was --keep-work given, and did the run reach source_c?)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
gen "$a" > "$tmp/a"; gen "$b" > "$tmp/b"
LC_ALL=C comm -12 "$tmp/a" "$tmp/b" > "$tmp/both"
same=0 differ=0 beyond=0
: > "$tmp/beyond"
while read -r f; do
  rel=${f#testing_1/}
  if cmp -s "$ga/$rel" "$gb/$rel"; then same=$((same + 1)); continue; fi
  differ=$((differ + 1))
  # The work directory appears in #line directives and file names: map
  # both to one placeholder, and the usession directories too.
  if ! cmp -s <(sed "s#$a#WORK#g; s#/build#WORK#g; s#usession-[A-Za-z0-9_-]*#USESSION#g" "$ga/$rel") \
              <(sed "s#$b#WORK#g; s#/build#WORK#g; s#usession-[A-Za-z0-9_-]*#USESSION#g" "$gb/$rel"); then
    beyond=$((beyond + 1)); echo "$rel" >> "$tmp/beyond"
  fi
done < "$tmp/both"
echo "generated files: $(wc -l < "$tmp/a") in A, $(wc -l < "$tmp/b") in B, $(wc -l < "$tmp/both") in both"
echo "  identical: $same; differing: $differ; differing beyond paths: $beyond"
echo "  only in A: $(LC_ALL=C comm -23 "$tmp/a" "$tmp/b" | wc -l); only in B: $(LC_ALL=C comm -13 "$tmp/a" "$tmp/b" | wc -l)"
head -n 3 "$tmp/beyond" | while read -r rel; do
  echo "  first difference in $rel:"
  diff <(sed "s#$a#WORK#g; s#/build#WORK#g" "$ga/$rel") <(sed "s#$b#WORK#g; s#/build#WORK#g" "$gb/$rel") | sed -n '1,5p' | cut -c1-160 | sed 's/^/    /'
done
for w in "$a" "$b"; do
  echo "VM in $w:"
  find "$w"/src/pypy/goal -maxdepth 1 -type f \( -name 'libpypy*-c.so' -o -name 'pypy*-c' \) -exec sha256sum {} + | sed "s#$w/##; s/^/  /"
done
