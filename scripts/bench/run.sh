#!/usr/bin/env bash
# Runs every benchmark script in this directory and the Go benchmarks.
# Numbers go to stdout; docs/benchmarks.md records measured runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
for s in scripts/bench/*.sh; do
  [ "$(basename "$s")" = run.sh ] && continue
  echo "== $s"
  "$s"
done
echo "== go test -bench"
go test -run '^$' -bench . -benchtime 3x ./... 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)' || true
