#!/usr/bin/env bash
# Fails when gen/ is not exactly what `buf generate` makes from proto/ (generated code is never edited by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
npx buf generate --output "$tmp"
if ! diff -r gen "$tmp/gen" >/dev/null; then
  echo "gen/ is stale: run 'npm run generate' and commit the result" >&2
  diff -r gen "$tmp/gen" | head -40 >&2
  exit 1
fi
echo "gen/ is up to date"
