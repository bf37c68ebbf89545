#!/usr/bin/env bash
# Builds the AddressSanitizer + UBSan addon (engine/native/asan/build/Release/hv_native.node), apart from the
# production one. Run from anywhere; `--if-stale` skips the build when the addon is newer than every source.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/asan/build/Release/hv_native.node"
if [[ "${1:-}" == "--if-stale" && -f "$out" ]] &&
  [[ -z "$(find "$here/src" "$here/binding.gyp" "$here/asan/binding.gyp" -newer "$out" -print -quit)" ]]; then
  exit 0
fi
cd "$here/../.."
npx --no-install node-gyp rebuild --directory "$here/asan" -j 2 >&2
