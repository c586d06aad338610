#!/usr/bin/env bash
# The README's main job on the embedded default release: build
# linux-amd64 into ./dist and show how to run it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYPYCTL=${PYPYCTL:-bin/pypyctl}
DIST=${DIST:-dist}

"$PYPYCTL" matrix validate
"$PYPYCTL" build --target linux-amd64 --out "$DIST"
echo
echo "archives are in $DIST/:"
ls -l "$DIST"
