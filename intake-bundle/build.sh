#!/usr/bin/env bash
# Rebuilds the intake form's JavaScript bundle from the pinned npm versions in
# package-lock.json (`make intake-bundle`). Writes OUT (default: the committed bundle), then
# the committed checksum is checked by tests/test_intake_bundle.py.
set -euo pipefail
cd "$(dirname "$0")"
out="${1:-../cocflow/intake_static/intake.js}"
npm ci --no-audit --no-fund --ignore-scripts >&2
./node_modules/.bin/esbuild src/main.js --bundle --format=iife --target=es2022 --minify \
  --legal-comments=eof --charset=utf8 --log-level=warning --outfile="$out"
