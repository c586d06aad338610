#!/usr/bin/env bash
# The README's main job on the embedded default release: build linux-amd64
# into ./dist, publish it to ./public (versions.json + SHA256SUMS), install
# it from there with the version manager and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYPYCTL=${PYPYCTL:-bin/pypyctl}
DIST=${DIST:-dist}
PUBLIC=${PUBLIC:-public}

"$PYPYCTL" matrix validate
"$PYPYCTL" build --target linux-amd64 --out "$DIST"
"$PYPYCTL" publish "$DIST" --to "$PUBLIC"
"$PYPYCTL" install 3.9 --index "$PUBLIC"
"$PYPYCTL" run 3.9 -- -c 'import ssl, sys; print(sys.implementation.name, sys.version.split()[0], ssl.OPENSSL_VERSION)'
echo
echo "archives: $DIST/   published index: $PUBLIC/versions.json"
echo "installed: $("$PYPYCTL" which 3.9)"
