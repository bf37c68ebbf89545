#!/usr/bin/env bash
# Builds what the benches need and runs them all, then prints one table of headline figures.
# Figures only, never assertions. Usage: bash bench/run-all.sh   (or npm run bench)
set -euo pipefail
cd "$(dirname "$0")/.."

# Each bench bounds itself (watchdog, ~55 s) and kills what it started; this is a second bound.
BENCH_TIMEOUT_S=${BENCH_TIMEOUT_S:-70}

[ -f engine/native/build/Release/hv_native.node ] || npm run --silent build:native
npm run --silent build:ts
make -s -C test/guests

results=$(mktemp /tmp/hv-bench-XXXXXX.jsonl)
trap 'rm -f "$results"' EXIT
failed=0
# Other work on this machine skews every figure: say how busy it was.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for bench in boot-to-first-byte pio-exit-rate virtio-blk-guest-loop; do
  echo "== $bench"
  if ! BENCH_RESULTS="$results" timeout --signal=TERM --kill-after=10 "$BENCH_TIMEOUT_S" node "dist/bench/$bench.js"; then
    echo "!! $bench failed" >&2
    failed=1
  fi
  echo
done

echo "== summary"
node dist/bench/summary.js "$results"
exit "$failed"
