#!/usr/bin/env bash
# Fails when proto/ breaks the contract as it was declared complete (buf breaking, FILE rules, against
# proto/contract-baseline.binpb): clients built against it keep working with every later hvd, and a new hvd can
# still reattach to engines an older one started. Additions never need the baseline refreshed; refreshing it is
# a deliberate, reviewed act (a new major version):
#   npx buf build --exclude-source-info --path proto/hypervisor -o proto/contract-baseline.binpb
set -euo pipefail
cd "$(dirname "$0")/.."
npx buf breaking --against proto/contract-baseline.binpb --exclude-path third_party
echo "contract: no breaking change against proto/contract-baseline.binpb"
