#!/usr/bin/env bash
# Starts hvd on its unix socket, boots the demo guest (the test guest, built from test/guests/) as a transient
# EMULATED domain, and shows its serial console until the guest powers itself off; then stops hvd.
# HV_SOCKET / HV_RUN_DIR choose where hvd listens and keeps engine run directories (default /run/hv/...).
set -euo pipefail
cd "$(dirname "$0")/.."

socket=${HV_SOCKET:-/run/hv/hvd.sock}
run_dir=${HV_RUN_DIR:-/run/hv/domains}
log=$(mktemp /tmp/hvd-demo.XXXXXX.log)
make -s -C test/guests

node dist/server/src/main.js --socket "$socket" --run-dir "$run_dir" >"$log" 2>&1 &
hvd=$!
trap 'kill $hvd 2>/dev/null; wait $hvd 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || { echo "hvd did not start; its log:" >&2; cat "$log" >&2; exit 1; }
echo "hvd is listening on $socket (log: $log)"

hvctl() { node dist/clients/hvctl/main.js --socket "$socket" "$@"; }
echo "--- host: $(hvctl capabilities | node -e 'const c=JSON.parse(require("fs").readFileSync(0));const h=c.host;console.log(`${h.cpu.modelName}, ${h.topology.onlineCpus} CPUs, ${Math.round(h.memoryBytes/2**30)} GiB; KVM: ${h.kvm.available ? "available" : h.kvm.unavailableReason}`)')"
echo "--- booting the demo guest; its serial console follows"
hvctl create --name "demo-$$" --kernel test/guests/build/guest.elf --memory 64M \
  --cmdline "action=poweroff greeting=hello-from-hv" --console </dev/null
