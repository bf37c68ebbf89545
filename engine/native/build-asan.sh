#!/usr/bin/env bash
# Builds the AddressSanitizer + UBSan addon (engine/native/asan/build/Release/hv_native.node), apart from the
# production one. Run from anywhere; `--if-stale` skips the build when the addon is newer than every source.
# Incremental (make) unless a binding.gyp changed since the last configure.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/asan/build/Release/hv_native.node"
gyps=("$here/binding.gyp" "$here/asan/binding.gyp")
if [[ "${1:-}" == "--if-stale" && -f "$out" ]] &&
  [[ -z "$(find "$here/src" "${gyps[@]}" -newer "$out" -print -quit)" ]]; then
  exit 0
fi
cd "$here/../.."
makefile="$here/asan/build/Makefile"
if [[ -f "$makefile" && -z "$(find "${gyps[@]}" -newer "$makefile" -print -quit)" ]]; then
  npx --no-install node-gyp build --directory "$here/asan" -j 2 >&2
else
  npx --no-install node-gyp rebuild --directory "$here/asan" -j 2 >&2
fi
