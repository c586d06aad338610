#!/usr/bin/env bash
# Runs every benchmark script in this directory and the Go benchmarks.
# Numbers go to stdout; docs/benchmarks.md records measured runs.
set -euo pipefail
cd "$(dirname "$0")/../.."
for s in scripts/bench/*.sh; do
  case $(basename "$s") in
    run.sh) continue ;;
    # A cold PyPy translation takes 28-75 minutes here: run it by hand.
    translate.sh) echo "== $s: not run (a full translation; see docs/benchmarks.md)"; continue ;;
  esac
  echo "== $s"
  "$s"
done
echo "== go test -bench"
go test -run '^$' -bench . -benchtime 3x ./... 2>&1 | grep -E '^(Benchmark|ok|PASS|FAIL)' || true
