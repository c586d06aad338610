#!/usr/bin/env bash
# fresh-test: run the README's test command (`make test`) the way a fresh
# machine would. Clones this repository's committed HEAD (uncommitted
# changes are not included) into a new temp dir with a fresh HOME and
# fresh XDG cache/data/config dirs, so nothing left on this machine by
# earlier runs (caches, /tmp files, config) can make tests pass.
#
#   scripts/fresh-test.sh                 keep Go's module and build caches (fast)
#   scripts/fresh-test.sh --fresh-go-cache  fresh GOMODCACHE and GOCACHE too (slow)
#
# Go's caches are kept by default: they hold only content-addressed,
# verified module downloads and build results, and rebuilding them costs
# many minutes without testing anything of pypyctl. Pass --keep-go-cache
# to say so explicitly. The temp dir is removed unless --keep-dir.
set -euo pipefail
keep_go=1 keep_dir=0
for a in "$@"; do
	case $a in
	--keep-go-cache) keep_go=1 ;;
	--fresh-go-cache) keep_go=0 ;;
	--keep-dir) keep_dir=1 ;;
	-h | --help) sed -n '2,15p' "$0"; exit 0 ;;
	*) echo "fresh-test: unknown argument $a (see --help)" >&2; exit 2 ;;
	esac
done
src=$(cd "$(dirname "$0")/.." && pwd)
command -v git >/dev/null || { echo "fresh-test: git is not installed (scripts/setup.sh installs it)" >&2; exit 1; }
go_env=()
if [ $keep_go = 1 ]; then
	go_env=(GOMODCACHE="$(go env GOMODCACHE)" GOCACHE="$(go env GOCACHE)")
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pypyctl-fresh.XXXXXX")
[ $keep_dir = 1 ] || trap 'rm -rf "$tmp"' EXIT
git clone -q --no-local "$src" "$tmp/pypyctl"
# Tests read ../shared beside the clone when the source repo has one.
if [ -d "$src/../shared" ]; then
	ln -s "$(cd "$src/../shared" && pwd)" "$tmp/shared"
fi
mkdir -p "$tmp/home" "$tmp/cache" "$tmp/data" "$tmp/config"
echo "fresh-test: $(git -C "$src" rev-parse --short HEAD) in $tmp/pypyctl" >&2
cd "$tmp/pypyctl"
env HOME="$tmp/home" XDG_CACHE_HOME="$tmp/cache" XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" \
	"${go_env[@]}" CI=true PYPYCTL_CI=1 make test
